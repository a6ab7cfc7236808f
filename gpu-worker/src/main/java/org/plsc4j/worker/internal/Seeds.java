package org.plsc4j.worker.internal;

import java.nio.charset.StandardCharsets;

/** SplitMix64-style seed derivation, so that every seeded stream is a function of (seed, what, index). */
public final class Seeds {

    private Seeds() {
    }

    /** Mixes two 64-bit values into a well-spread seed. */
    public static long mix(long a, long b) {
        long h = a ^ 0x5DEECE66DL;
        h = h * 0x9E3779B97F4A7C15L + b;
        h = (h ^ (h >>> 30)) * 0xBF58476D1CE4E5B9L;
        h = (h ^ (h >>> 27)) * 0x94D049BB133111EBL;
        return h ^ (h >>> 31);
    }

    /** FNV-1a 64 of a name's UTF-8 bytes: a stable (JVM-independent) 64-bit hash. */
    public static long hash(String name) {
        long h = 0xcbf29ce484222325L;
        for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        return h;
    }
}
