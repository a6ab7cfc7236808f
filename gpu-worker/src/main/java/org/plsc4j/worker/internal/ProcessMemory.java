package org.plsc4j.worker.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.bytedeco.javacpp.Pointer;

/**
 * This process's memory as Linux reports it ({@code /proc/self/status}, {@code /proc/meminfo}) and
 * as JavaCPP limits it: what the micro-batch planner and the backbone's memory probe read.
 */
public final class ProcessMemory {

    private ProcessMemory() {
    }

    /** VmRSS in bytes, or -1 when unknown. */
    public static long residentBytes() {
        return status("VmRSS");
    }

    /** VmHWM (peak resident set) in bytes, or -1 when unknown. */
    public static long peakResidentBytes() {
        return status("VmHWM");
    }

    /**
     * Runs {@code work} and returns the peak resident set while it ran (bytes; -1 when the peak cannot
     * be reset, i.e. not Linux). Resets the process's VmHWM.
     */
    public static long peakDuring(Runnable work) {
        boolean reset;
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
            reset = true;
        } catch (IOException | RuntimeException e) {
            reset = false;
        }
        work.run();
        return reset ? peakResidentBytes() : -1;
    }

    /**
     * Bytes this process may still take: the smallest of MemAvailable / {@code sharers} (processes on
     * this machine planning from the same free memory) and JavaCPP's remaining physical-bytes budget.
     */
    public static long availableBytes(int sharers) {
        long avail = Long.MAX_VALUE;
        long mem = meminfo("MemAvailable");
        if (mem > 0) {
            avail = mem / Math.max(1, sharers);
        }
        long maxPhysical = Pointer.maxPhysicalBytes();
        if (maxPhysical > 0) {
            avail = Math.min(avail, Math.max(0, maxPhysical - Pointer.physicalBytes()));
        }
        return avail == Long.MAX_VALUE ? -1 : avail;
    }

    private static long status(String key) {
        return field(Path.of("/proc/self/status"), key);
    }

    private static long meminfo(String key) {
        return field(Path.of("/proc/meminfo"), key);
    }

    private static long field(Path file, String key) {
        try {
            List<String> lines = Files.readAllLines(file);
            for (String l : lines) {
                if (l.startsWith(key + ":")) {
                    String[] parts = l.substring(key.length() + 1).trim().split("\\s+");
                    return Long.parseLong(parts[0]) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }
}
