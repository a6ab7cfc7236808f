package org.plsc4j.serving.internal;

import java.util.Locale;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;

/**
 * A Prometheus histogram with fixed upper bounds: per-bucket counts, sum and count, written in the
 * text exposition format (cumulative {@code _bucket{le=...}} lines). Hand-written: the project has no
 * metrics library and the format is a few lines. Thread-safe, lock-free.
 */
public final class Histogram {

    private final String name;
    private final String help;
    private final double[] bounds;
    private final LongAdder[] counts;
    private final DoubleAdder sum = new DoubleAdder();
    private final LongAdder count = new LongAdder();

    /** A histogram {@code name} with the increasing upper bounds {@code bounds} (+Inf is implied). */
    public Histogram(String name, String help, double... bounds) {
        this.name = name;
        this.help = help;
        this.bounds = bounds.clone();
        this.counts = new LongAdder[bounds.length + 1];
        for (int i = 0; i < counts.length; i++) {
            counts[i] = new LongAdder();
        }
    }

    /** Records one observation. */
    public void observe(double v) {
        int i = 0;
        while (i < bounds.length && v > bounds[i]) {
            i++;
        }
        counts[i].increment();
        sum.add(v);
        count.increment();
    }

    /** Observations so far. */
    public long count() {
        return count.sum();
    }

    /** Sum of the observations. */
    public double sum() {
        return sum.sum();
    }

    /** Appends the exposition lines. */
    public void writeTo(StringBuilder sb) {
        sb.append("# HELP ").append(name).append(' ').append(help).append('\n');
        sb.append("# TYPE ").append(name).append(" histogram\n");
        long cumulative = 0;
        for (int i = 0; i < bounds.length; i++) {
            cumulative += counts[i].sum();
            sb.append(name).append("_bucket{le=\"").append(format(bounds[i])).append("\"} ").append(cumulative).append('\n');
        }
        cumulative += counts[bounds.length].sum();
        sb.append(name).append("_bucket{le=\"+Inf\"} ").append(cumulative).append('\n');
        sb.append(name).append("_sum ").append(format(sum.sum())).append('\n');
        sb.append(name).append("_count ").append(cumulative).append('\n');
    }

    static String format(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e15) {
            return Long.toString((long) v);
        }
        return String.format(Locale.ROOT, "%s", v);
    }
}
