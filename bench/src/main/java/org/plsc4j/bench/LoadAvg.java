package org.plsc4j.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The one-minute load average from Linux's {@code /proc/loadavg}, printed by every bench before and
 * after its measurements: on a shared machine a ratio measured under load 8 is not the same claim as
 * one measured at load 0.5, and the reader must be able to tell.
 */
final class LoadAvg {

    private static final Path LOADAVG = Path.of("/proc/loadavg");

    private LoadAvg() {
    }

    /** The one-minute load average, or -1 when unknown (not Linux). */
    static double oneMinute() {
        try {
            return Double.parseDouble(Files.readString(LOADAVG).trim().split("\\s+")[0]);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }
}
