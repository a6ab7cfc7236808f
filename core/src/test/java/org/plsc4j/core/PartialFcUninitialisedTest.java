package org.plsc4j.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.core.collective.Collective;
import org.plsc4j.core.collective.CollectiveConfig;
import org.plsc4j.core.collective.Collectives;
import org.plsc4j.core.internal.StoredRows;

/**
 * A shard created without its seeded draw (the elastic restore's shard) gets, row by row, exactly the
 * values a shard created the usual way has, and refuses to step before every row holds one.
 */
@ExtendWith(TestSeed.class)
class PartialFcUninitialisedTest {

    private static final int C = 300;
    private static final int D = 24;

    private static FcConfig config(boolean bias) {
        FcConfig.Builder b = FcConfig.builder().numClasses(C).embSize(D).momentum(0.9).weightDecay(5e-4)
                .seed(TestSeed.of("fc-uninit"));
        return bias ? b.head(FcHead.LINEAR_BIAS).initStd(FcConfig.plscInitStd(D, C)).build()
                : b.margin(MarginConfig.arcface(0.5, 16)).build();
    }

    private static List<Collective> group(int n) {
        CollectiveConfig cfg = CollectiveConfig.builder().jobId("uninit-" + UUID.randomUUID()).worldSize(n)
                .timeout(Duration.ofSeconds(60)).build();
        return Ranks.runIndexed(n, r -> () -> Collectives.join("inprocess", cfg.withRank(r)));
    }

    private static float[] values(INDArray store, int r0, int n) {
        float[] out = new float[n * store.columns()];
        StoredRows.read(store, r0, n, out, 0);
        return out;
    }

    @Test
    void initialiseAllGivesTheBitsOfTheSeededDrawForEveryStorageTypeAndRank() {
        for (FcDtype dtype : FcDtype.values()) {
            for (boolean bias : new boolean[] {false, true}) {
                List<Collective> g = group(2);
                try {
                    for (Collective c : g) {
                        PartialFc eager = PartialFc.create(config(bias), c, 16, dtype, dtype);
                        PartialFc lazy = PartialFc.createUninitialised(config(bias), c, 16, dtype, dtype);
                        assertFalse(lazy.initialised(), "a shard created uninitialised says so");
                        assertTrue(eager.initialised());
                        lazy.initialiseAll();
                        assertTrue(lazy.initialised());
                        int n = eager.weights().rows();
                        String what = dtype + (bias ? " with bias" : "") + ", rank " + c.rank();
                        assertArrayEquals(values(eager.weights(), 0, n), values(lazy.weights(), 0, n), what);
                        assertArrayEquals(values(eager.momentum(), 0, n), values(lazy.momentum(), 0, n), what);
                        eager.close();
                        lazy.close();
                    }
                } finally {
                    g.forEach(Collective::close);
                }
            }
        }
    }

    @Test
    void initialiseRowsResetsThoseClassesAfterTrainingAndLeavesTheOthers() {
        SplittableRandom rng = new SplittableRandom(TestSeed.of("fc-uninit-rows"));
        List<Collective> g = group(2);
        try {
            Collective c = g.get(1); // rank 1: classes [150, 300), so a class id is not a row index
            PartialFc fresh = PartialFc.create(config(true), c, 16, FcDtype.BFLOAT16, FcDtype.FLOAT32);
            PartialFc fc = PartialFc.createUninitialised(config(true), c, 16, FcDtype.BFLOAT16, FcDtype.FLOAT32);
            int start = fc.layout().start(1);
            assertEquals(150, start);
            float[] w = new float[150 * D];
            float[] m = new float[150 * D];
            for (int i = 0; i < w.length; i++) {
                w[i] = (float) rng.nextGaussian();
                m[i] = (float) rng.nextGaussian();
            }
            INDArray trained = Nd4j.create(w, new long[] {150, D}, 'c');
            INDArray trainedMomentum = Nd4j.create(m, new long[] {150, D}, 'c');
            fc.load(trained, trainedMomentum);
            fc.loadBias(Nd4j.ones(150), Nd4j.ones(150));
            assertTrue(fc.initialised(), "load writes every row");
            float[] before = values(fc.weights(), 0, 150);
            int from = 170;
            int to = 203;
            fc.initialiseRows(from, to);
            int r0 = from - start;
            int n = to - from;
            assertArrayEquals(values(fresh.weights(), r0, n), values(fc.weights(), r0, n), "initialised rows");
            assertArrayEquals(new float[n * D], values(fc.momentum(), r0, n), "their momentum is zero");
            assertEquals(0.0, fc.bias().get(org.nd4j.linalg.indexing.NDArrayIndex.interval(r0, r0 + n))
                    .sumNumber().doubleValue(), "their bias is zero");
            assertEquals(150.0 - n, fc.bias().sumNumber().doubleValue(), 0.0, "the other biases are kept");
            float[] after = values(fc.weights(), 0, 150);
            for (int j = 0; j < 150; j++) {
                if (j < r0 || j >= r0 + n) {
                    for (int k = 0; k < D; k++) {
                        assertEquals(before[j * D + k], after[j * D + k], "row " + j + " outside the range is kept");
                    }
                }
            }
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> fc.initialiseRows(140, 160));
            assertEquals("classes : [140, 160) (expected: within rank 1's classes [150, 300))", e.getMessage());
            fresh.close();
            fc.close();
        } finally {
            g.forEach(Collective::close);
        }
    }

    @Test
    void aStepBeforeEveryRowHoldsAValueIsRefused() {
        List<Collective> g = group(1);
        try {
            PartialFc fc = PartialFc.createUninitialised(config(false), g.get(0), 16, FcDtype.FLOAT32,
                    FcDtype.FLOAT32);
            fc.initialiseRows(0, C / 2); // half the rows are not enough
            assertFalse(fc.initialised());
            INDArray x = Nd4j.rand(org.nd4j.linalg.api.buffer.DataType.FLOAT, 4, D);
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> fc.step(x, new int[] {1, 2, 3, 4}, 0.1, 0));
            assertTrue(e.getMessage().startsWith("PartialFc of rank 0 : rows not initialised"), e.getMessage());
            fc.initialiseRows(C / 2, C);
            assertFalse(fc.initialised(), "rows initialised piecewise: only the caller knows they cover the shard");
            fc.weightsChanged(); // the caller says every row holds a value (a restore does, then calls this)
            assertTrue(fc.initialised());
            assertTrue(Double.isFinite(fc.step(x, new int[] {1, 2, 3, 4}, 0.1, 0).loss()));
            fc.close();
        } finally {
            g.forEach(Collective::close);
        }
    }
}
