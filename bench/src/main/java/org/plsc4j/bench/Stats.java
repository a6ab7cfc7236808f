package org.plsc4j.bench;

import java.util.Arrays;

/** Small statistics helpers for timings. */
final class Stats {

    private Stats() {
    }

    /** The median (mean of the two middle values for an even count). */
    static double median(double[] values) {
        if (values.length == 0) {
            throw new IllegalArgumentException("values : [] (expected: at least one value)");
        }
        double[] s = values.clone();
        Arrays.sort(s);
        int m = s.length / 2;
        return s.length % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2;
    }

    /** The median of int values. */
    static long median(long[] values) {
        if (values.length == 0) {
            throw new IllegalArgumentException("values : [] (expected: at least one value)");
        }
        long[] s = values.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    /** Rounds to {@code digits} decimals (for readable JSON; the measurements are noisier than that). */
    static double round(double v, int digits) {
        if (!Double.isFinite(v)) {
            return v;
        }
        double f = Math.pow(10, digits);
        return Math.round(v * f) / f;
    }

    /** Milliseconds between two {@link System#nanoTime()} readings. */
    static double ms(long t0, long t1) {
        return (t1 - t0) / 1e6;
    }
}
