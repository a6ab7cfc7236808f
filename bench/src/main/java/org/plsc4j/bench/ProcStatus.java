package org.plsc4j.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;

/**
 * Reads this process's memory figures from Linux's {@code /proc/self}; ND4J allocates off-heap, so the
 * JVM's own heap statistics say nothing about a benchmark's real footprint.
 */
final class ProcStatus {

    private static final Path STATUS = Path.of("/proc/self/status");
    private static final Path CLEAR_REFS = Path.of("/proc/self/clear_refs");

    private ProcStatus() {
    }

    /** Peak resident set size (VmHWM) in KiB; empty when not on Linux. */
    static OptionalLong peakRssKb() {
        return field("VmHWM:");
    }

    /** Current resident set size (VmRSS) in KiB; empty when not on Linux. */
    static OptionalLong rssKb() {
        return field("VmRSS:");
    }

    /**
     * Resets VmHWM to the current RSS (Linux 4.0+, "5" into clear_refs) so that the next phase's
     * peak can be measured on its own.
     *
     * @return whether the reset worked
     */
    static boolean resetPeakRss() {
        try {
            Files.writeString(CLEAR_REFS, "5", StandardCharsets.US_ASCII);
            return true;
        } catch (IOException | SecurityException | UnsupportedOperationException e) {
            return false;
        }
    }

    private static OptionalLong field(String name) {
        try {
            for (String line : Files.readAllLines(STATUS, StandardCharsets.US_ASCII)) {
                if (line.startsWith(name)) {
                    String[] parts = line.substring(name.length()).trim().split("\\s+");
                    return OptionalLong.of(Long.parseLong(parts[0]));
                }
            }
            return OptionalLong.empty();
        } catch (IOException | NumberFormatException e) {
            return OptionalLong.empty();
        }
    }
}
