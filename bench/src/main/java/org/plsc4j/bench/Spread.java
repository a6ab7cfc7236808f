package org.plsc4j.bench;

import java.util.Arrays;

/**
 * Median and spread of a benchmark's timed iterations: min, max and the quartiles (IQR). A benchmark
 * reports the median with its spread so that a reader can tell a ratio from the noise around it.
 *
 * <p>Quartiles are the medians of the lower and upper halves (Tukey's hinges; for an odd count the
 * median belongs to neither half), so that they are actual midpoints of the sample, not interpolations.
 *
 * @param median median of the values
 * @param min smallest value
 * @param max largest value
 * @param q1 lower quartile
 * @param q3 upper quartile
 */
record Spread(double median, double min, double max, double q1, double q3) {

    /** The spread of {@code values} (at least one). */
    static Spread of(double[] values) {
        if (values.length == 0) {
            throw new IllegalArgumentException("values : [] (expected: at least one value)");
        }
        double[] s = values.clone();
        Arrays.sort(s);
        int n = s.length;
        int half = n / 2;
        double q1 = n == 1 ? s[0] : Stats.median(Arrays.copyOfRange(s, 0, half));
        double q3 = n == 1 ? s[0] : Stats.median(Arrays.copyOfRange(s, n - half, n));
        return new Spread(Stats.median(s), s[0], s[n - 1], q1, q3);
    }

    /** The interquartile range q3 − q1. */
    double iqr() {
        return q3 - q1;
    }

    /** (max − min) / median, the relative spread ({@code bench backbone}'s {@code *_spread}). */
    double relative() {
        return (max - min) / median;
    }
}
