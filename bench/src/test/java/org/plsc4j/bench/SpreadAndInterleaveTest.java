package org.plsc4j.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The shared statistics and the alternation order of issue 13's benches. */
class SpreadAndInterleaveTest {

    @Test
    void quartilesInterpolateBetweenOrderStatistics() {
        double[] v = {7, 1, 3, 5}; // sorted 1 3 5 7
        Spread s = Spread.of(v, 3);
        assertEquals(4, s.median());
        assertEquals(1, s.min());
        assertEquals(7, s.max());
        assertEquals(2.5, s.q1()); // position 0.75 between 1 and 3
        assertEquals(5.5, s.q3()); // position 2.25 between 5 and 7
        assertEquals(4, s.n());
        assertEquals(1.5, s.relative(), 1e-12);
        assertEquals(3, Stats.quantile(new double[] {3}, 0.9));
        assertThrows(IllegalArgumentException.class, () -> Stats.quantile(v, 1.5));
        assertThrows(IllegalArgumentException.class, () -> Stats.min(new double[0]));
    }

    @Test
    void everySideGetsTheSameWarmupAndCountAndNoSideAlwaysRunsFirst() throws Exception {
        List<String> order = new ArrayList<>();
        int[] calls = new int[3];
        List<Interleave.Side> sides = new ArrayList<>();
        for (int k = 0; k < 3; k++) {
            int side = k;
            sides.add(() -> {
                order.add("abc".substring(side, side + 1));
                return 10 * side + calls[side]++;
            });
        }
        List<double[]> r = Interleave.run(1, 3, sides);
        assertEquals(List.of("a", "b", "c", "b", "c", "a", "c", "a", "b", "a", "b", "c"), order);
        // the warm-up round's values (0, 10, 20) are dropped; each side keeps its own 3, in run order
        assertArrayEquals(new double[] {1, 2, 3}, r.get(0));
        assertArrayEquals(new double[] {11, 12, 13}, r.get(1));
        assertArrayEquals(new double[] {21, 22, 23}, r.get(2));
        assertThrows(IllegalArgumentException.class, () -> Interleave.run(0, 0, sides));
    }
}
