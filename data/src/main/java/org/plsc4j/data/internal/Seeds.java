package org.plsc4j.data.internal;

/** Seed derivation: independent streams for (seed, epoch, index) tuples, whatever the worker count. */
public final class Seeds {

    private Seeds() {
    }

    /** MurmurHash3's 64-bit finaliser: a bijection that spreads every input bit over the output. */
    public static long fmix64(long k) {
        k ^= k >>> 33;
        k *= 0xff51afd7ed558ccdL;
        k ^= k >>> 33;
        k *= 0xc4ceb9fe1a85ec53L;
        k ^= k >>> 33;
        return k;
    }

    /** A seed derived from {@code parts} in order: mix(a, b) != mix(b, a). */
    public static long mix(long... parts) {
        long h = 0x9E3779B97F4A7C15L;
        for (long p : parts) {
            h = fmix64(h ^ fmix64(p + 0x632BE59BD9B4E019L)) * 31 + 0x2545F4914F6CDD1DL;
        }
        return fmix64(h);
    }
}
