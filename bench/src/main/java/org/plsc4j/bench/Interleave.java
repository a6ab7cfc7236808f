package org.plsc4j.bench;

import java.util.ArrayList;
import java.util.List;

/**
 * Runs two or more sides of a comparison (plsc4j and its baseline) alternately: every side gets the
 * same untimed warm-up and the same number of timed runs, and round {@code i} starts with side
 * {@code i mod sides}, so neither side always runs first (in a warm cache, after the other's garbage,
 * or just when the machine's other load went away).
 *
 * <p>Why not one side's runs then the other's: on a shared machine the load changes over minutes;
 * back-to-back blocks turn that drift into a difference between the sides.
 */
final class Interleave {

    /** One timed run of a side; returns what it measured (ms, MB/s, ...). */
    @FunctionalInterface
    interface Side {
        double run() throws Exception;
    }

    private Interleave() {
    }

    /**
     * {@code warmup} untimed rounds, then {@code count} timed rounds of every side, alternated.
     *
     * @return per side (in the order given), its {@code count} measurements in run order
     */
    static List<double[]> run(int warmup, int count, List<Side> sides) throws Exception {
        if (warmup < 0 || count < 1 || sides.isEmpty()) {
            throw new IllegalArgumentException("warmup, count, sides : " + warmup + ", " + count + ", " + sides.size()
                    + " (expected: >= 0, >= 1, at least one side)");
        }
        // the one rotation every bench uses (Alternation), over sides that return a measurement
        List<Alternation.Side> named = new ArrayList<>();
        for (int s = 0; s < sides.size(); s++) {
            Side side = sides.get(s);
            String name = "side " + s;
            named.add(new Alternation.Side() {
                @Override
                public String name() {
                    return name;
                }

                @Override
                public double iteration(int index) throws Exception {
                    return side.run();
                }
            });
        }
        Alternation.Timings t;
        try {
            t = Alternation.run(named, warmup, count, null);
        } catch (IllegalStateException e) {
            if (e.getCause() instanceof Exception cause) {
                throw cause;
            }
            throw e;
        }
        List<double[]> out = new ArrayList<>();
        for (int s = 0; s < sides.size(); s++) {
            out.add(t.timed(s));
        }
        return out;
    }

    /** {@link #run} with each side timed in milliseconds around its call (its return value ignored). */
    static List<double[]> timeMs(int warmup, int count, List<Side> sides) throws Exception {
        List<Side> timed = new ArrayList<>();
        for (Side s : sides) {
            timed.add(() -> {
                long t0 = System.nanoTime();
                s.run();
                return Stats.ms(t0, System.nanoTime());
            });
        }
        return run(warmup, count, timed);
    }
}
