package org.plsc4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.plsc4j.core.TestSeed;

@ExtendWith(TestSeed.class)
class GlobalBatchPlanTest {

    @Test
    void epochOrderIsAPermutationThatChangesWithEpochAndSeed() {
        long seed = TestSeed.of("perm");
        SplittableRandom rng = new SplittableRandom(seed);
        int size = 100 + rng.nextInt(1000);
        GlobalBatchPlan plan = new GlobalBatchPlan(size, 8, 2, seed);
        int[] e0 = plan.epochOrder(0);
        int[] sorted = e0.clone();
        Arrays.sort(sorted);
        for (int i = 0; i < size; i++) {
            assertEquals(i, sorted[i]);
        }
        assertArrayEquals(e0, plan.epochOrder(0));
        assertFalse(Arrays.equals(e0, plan.epochOrder(1)));
        assertFalse(Arrays.equals(e0, new GlobalBatchPlan(size, 8, 2, seed + 1).epochOrder(0)));
        assertEquals(size / 8, plan.stepsPerEpoch());
    }

    @Test
    void globalBatchIsTheSameForOneTwoAndFourRanks() {
        long seed = TestSeed.of("ranks");
        int size = 1003; // 1003 / 16 = 62 steps, 11 samples dropped per epoch
        int b = 16;
        for (int epoch = 0; epoch < 3; epoch++) {
            int[][] perN = new int[3][];
            int k = 0;
            for (int n : new int[] {1, 2, 4}) {
                GlobalBatchPlan plan = new GlobalBatchPlan(size, b, n, seed);
                int[] order = plan.epochOrder(epoch);
                int[] all = new int[plan.stepsPerEpoch() * b];
                for (int step = 0; step < plan.stepsPerEpoch(); step++) {
                    int[] global = plan.globalBatch(order, step);
                    int[] concat = new int[b];
                    for (int r = 0; r < n; r++) {
                        int[] mine = plan.rankBatch(order, step, r);
                        assertEquals(b / n, mine.length);
                        System.arraycopy(mine, 0, concat, r * (b / n), b / n);
                    }
                    assertArrayEquals(global, concat, "N=" + n + " step " + step);
                    System.arraycopy(global, 0, all, step * b, b);
                }
                perN[k++] = all;
                long distinct = Arrays.stream(all).distinct().count();
                assertEquals(all.length, distinct, "a sample twice in one epoch");
            }
            assertArrayEquals(perN[0], perN[1], "N=1 vs N=2, epoch " + epoch);
            assertArrayEquals(perN[0], perN[2], "N=1 vs N=4, epoch " + epoch);
        }
    }

    @Test
    void positionsRoundTripForResume() {
        GlobalBatchPlan plan = new GlobalBatchPlan(100, 10, 2, 1);
        for (long g = 0; g < 35; g++) {
            GlobalBatchPlan.Position p = plan.position(g);
            assertEquals(g / 10, p.epoch());
            assertEquals(g % 10, p.step());
            assertEquals(g, plan.globalStep(p));
        }
        assertArrayEquals(plan.rankBatch(plan.epochOrder(2), 3, 1), plan.rankBatch(plan.position(23), 1));
    }

    @Test
    void badArgumentsNameTheValues() {
        assertEquals("global_batch : 10 (expected: divisible by world_size = 4)",
                assertThrows(IllegalArgumentException.class, () -> new GlobalBatchPlan(100, 10, 4, 0)).getMessage());
        assertEquals("dataset size : 5 (expected: >= global_batch = 8, else an epoch has no step)",
                assertThrows(IllegalArgumentException.class, () -> new GlobalBatchPlan(5, 8, 1, 0)).getMessage());
        GlobalBatchPlan plan = new GlobalBatchPlan(100, 10, 2, 0);
        assertEquals("step : 10 (expected: 0 <= step < steps_per_epoch = 10)",
                assertThrows(IllegalArgumentException.class, () -> plan.globalBatch(plan.epochOrder(0), 10)).getMessage());
        assertEquals("rank : 2 (expected: 0 <= rank < world_size = 2)",
                assertThrows(IllegalArgumentException.class, () -> plan.rankBatch(plan.epochOrder(0), 0, 2)).getMessage());
    }
}
