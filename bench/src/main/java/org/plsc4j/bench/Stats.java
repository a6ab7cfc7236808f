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

    /** The smallest value. */
    static double min(double[] values) {
        return java.util.Arrays.stream(nonEmpty(values)).min().getAsDouble();
    }

    /** The largest value. */
    static double max(double[] values) {
        return java.util.Arrays.stream(nonEmpty(values)).max().getAsDouble();
    }

    /** The {@code q} quantile (0..1) with linear interpolation between order statistics. */
    static double quantile(double[] values, double q) {
        if (!(q >= 0 && q <= 1)) {
            throw new IllegalArgumentException("q : " + q + " (expected: 0 <= q <= 1)");
        }
        double[] s = nonEmpty(values).clone();
        Arrays.sort(s);
        double pos = q * (s.length - 1);
        int lo = (int) Math.floor(pos);
        int hi = Math.min(s.length - 1, lo + 1);
        return s[lo] + (pos - lo) * (s[hi] - s[lo]);
    }

    private static double[] nonEmpty(double[] values) {
        if (values.length == 0) {
            throw new IllegalArgumentException("values : [] (expected: at least one value)");
        }
        return values;
    }
}
