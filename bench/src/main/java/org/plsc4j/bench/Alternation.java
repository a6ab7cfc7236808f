package org.plsc4j.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.slf4j.Logger;

/**
 * Runs a benchmark's sides (plsc4j and its baselines) iteration by iteration, interleaved, each with the
 * same number of warm-up and timed iterations.
 *
 * <p>Why: on a shared machine the load drifts over minutes; timing all of plsc4j and then all of a
 * baseline puts the drift into the ratio. Interleaving puts each side's iterations under the same
 * conditions, and rotating the order (A B C, B C A, C A B, ...) keeps any side from always running
 * first (after an idle pause) or right after a particular other side (warm or trashed caches).
 */
final class Alternation {

    /** One side of the comparison; {@link #iteration} returns the milliseconds its iteration took. */
    interface Side {
        String name();

        double iteration(int index) throws Exception;
    }

    /** Every side's milliseconds, warm-up iterations first, in the order the sides were given. */
    record Timings(List<String> names, List<double[]> all, int warmup) {

        /** The timed (post warm-up) iterations of side {@code i}. */
        double[] timed(int i) {
            double[] a = all.get(i);
            return java.util.Arrays.copyOfRange(a, warmup, a.length);
        }
    }

    private Alternation() {
    }

    /** The order of the sides in iteration {@code index}: a rotation by {@code index}. */
    static int[] order(int sides, int index) {
        int[] o = new int[sides];
        for (int k = 0; k < sides; k++) {
            o[k] = (index + k) % sides;
        }
        return o;
    }

    /**
     * Runs {@code warmup + steps} iterations; in each, every side once, in {@link #order rotated order}.
     * A side's failure stops the run and is rethrown with the side's name and iteration.
     */
    static Timings run(List<? extends Side> sides, int warmup, int steps, Logger log) throws Exception {
        if (sides.isEmpty() || warmup < 0 || steps < 1) {
            throw new IllegalArgumentException("sides, warmup, steps : " + sides.size() + ", " + warmup + ", " + steps
                    + " (expected: >= 1, >= 0, >= 1)");
        }
        int total = warmup + steps;
        List<double[]> all = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (Side s : sides) {
            all.add(new double[total]);
            names.add(s.name());
        }
        for (int it = 0; it < total; it++) {
            for (int k : order(sides.size(), it)) {
                Side side = sides.get(k);
                double ms;
                try {
                    ms = side.iteration(it);
                } catch (Exception e) {
                    throw new IllegalStateException(side.name() + " failed at iteration " + it + ": "
                            + FcBench.describe(e), e);
                }
                all.get(k)[it] = ms;
                if (log != null) {
                    log.info("{}: iteration {}/{}{} {} ms", side.name(), it + 1, total, it < warmup ? " (warm-up)" : "",
                            String.format(Locale.ROOT, "%.1f", ms));
                }
            }
        }
        return new Timings(List.copyOf(names), all, warmup);
    }
}
