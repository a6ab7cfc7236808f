package org.plsc4j.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The machine's 1-minute load average ({@code /proc/loadavg}), printed by a benchmark before and after
 * it measures: on a shared machine a ratio means little without the load it was measured under.
 */
final class LoadAverage {

    private static final Path PROC_LOADAVG = Path.of("/proc/loadavg");

    private LoadAverage() {
    }

    /** The 1-minute load average, or null where {@code /proc/loadavg} cannot be read (not Linux). */
    static Double oneMinute() {
        return parse(PROC_LOADAVG);
    }

    /** The first field of a {@code /proc/loadavg}-formatted file, or null when unreadable or malformed. */
    static Double parse(Path file) {
        try {
            String[] f = Files.readString(file).trim().split("\\s+");
            double v = Double.parseDouble(f[0]);
            return Double.isFinite(v) && v >= 0 ? v : null;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
