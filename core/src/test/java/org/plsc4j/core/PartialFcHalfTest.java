package org.plsc4j.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.core.collective.Collective;
import org.plsc4j.core.collective.CollectiveConfig;
import org.plsc4j.core.collective.Collectives;
import org.plsc4j.core.internal.StoredRows;

/**
 * Half-precision FC storage: the master-copy semantics (a written row is the round-to-nearest-even of
 * the float32 result; an update below half an ulp is lost), the split step (nothing changes until the
 * update is applied), and N ranks against one rank.
 */
@ExtendWith(TestSeed.class)
class PartialFcHalfTest {

    private static final int C = 300;
    private static final int D = 32;

    private static FcConfig config(double ratio) {
        return FcConfig.builder().numClasses(C).embSize(D).margin(MarginConfig.arcface(0.5, 16)).sampleRatio(ratio)
                .momentum(0.9).weightDecay(5e-4).seed(TestSeed.of("fc-half")).build();
    }

    private static Collective single() {
        return Collectives.join("inprocess", CollectiveConfig.builder().jobId("half-" + UUID.randomUUID())
                .timeout(Duration.ofSeconds(30)).build());
    }

    private static List<Collective> group(int n) {
        CollectiveConfig cfg = CollectiveConfig.builder().jobId("half-g-" + UUID.randomUUID()).worldSize(n)
                .timeout(Duration.ofSeconds(60)).build();
        return Ranks.runIndexed(n, r -> () -> Collectives.join("inprocess", cfg.withRank(r)));
    }

    private static float[] values(INDArray store) {
        float[] out = new float[(int) store.length()];
        StoredRows.read(store, 0, store.rows(), out, 0);
        return out;
    }

    private static INDArray features(SplittableRandom rng, int b) {
        float[] x = new float[b * D];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rng.nextGaussian();
        }
        return Nd4j.create(x, new long[] {b, D}, 'c');
    }

    @Test
    void storageHasTheDtypeAndInitialWeightsAreTheRoundedFloat32Ones() {
        try (Collective c = single()) {
            PartialFc f32 = PartialFc.create(config(1.0), c);
            for (FcDtype t : List.of(FcDtype.FLOAT16, FcDtype.BFLOAT16)) {
                PartialFc h = PartialFc.create(config(1.0), c, 64, t, t);
                assertEquals(t.dataType(), h.weights().dataType());
                assertEquals(t.dataType(), h.momentum().dataType());
                float[] w32 = values(f32.weights());
                float[] wh = values(h.weights());
                for (int i = 0; i < w32.length; i++) {
                    assertEquals(t.round(w32[i]), wh[i], t + " value " + i);
                }
            }
        }
    }

    /** One step on half storage equals the float32 step from the same values, rounded to nearest even. */
    @Test
    void aWrittenRowIsTheRoundToNearestEvenOfTheFloat32Result() {
        SplittableRandom rng = new SplittableRandom(TestSeed.of("half-rne"));
        for (FcDtype t : List.of(FcDtype.FLOAT16, FcDtype.BFLOAT16)) {
            try (Collective c = single()) {
                PartialFc h = PartialFc.create(config(0.5), c, 64, t, t);
                PartialFc f = PartialFc.create(config(0.5), c, 64, FcDtype.FLOAT32, FcDtype.FLOAT32);
                // start both from the same (representable) values, with a non-zero momentum
                INDArray m0 = Nd4j.create(values(h.weights()), new long[] {C, D}, 'c').mul(0.1);
                h.load(h.weights(), m0);
                f.load(h.weights().castTo(DataType.FLOAT), Nd4j.create(values(h.momentum()), new long[] {C, D}, 'c'));
                assertArrayEquals(values(h.weights()), values(f.weights()));
                INDArray x = features(rng, 8);
                int[] labels = rng.ints(8, 0, C).toArray();
                PartialFc.StepResult rh = h.step(x, labels, 0.3, 1);
                PartialFc.StepResult rf = f.step(x, labels, 0.3, 1);
                assertEquals(rf.loss(), rh.loss(), t + " loss");
                assertTrue(rh.gradsFinite());
                float[] wf = values(f.weights());
                float[] vf = values(f.momentum());
                float[] wh = values(h.weights());
                float[] vh = values(h.momentum());
                int changed = 0;
                for (int i = 0; i < wf.length; i++) {
                    assertEquals(t.round(wf[i]), wh[i], t + " weight " + i);
                    assertEquals(t.round(vf[i]), vh[i], t + " momentum " + i);
                    if (wf[i] != t.round(wf[i])) {
                        changed++;
                    }
                }
                assertTrue(changed > 0, t + ": some float32 results are not representable (the test would be void)");
            }
        }
    }

    @Test
    void anUpdateBelowHalfAnUlpIsLost() {
        SplittableRandom rng = new SplittableRandom(TestSeed.of("half-lost"));
        try (Collective c = single()) {
            PartialFc h = PartialFc.create(config(1.0), c, 64, FcDtype.BFLOAT16, FcDtype.FLOAT32);
            PartialFc f = PartialFc.create(config(1.0), c, 64, FcDtype.FLOAT32, FcDtype.FLOAT32);
            f.load(h.weights().castTo(DataType.FLOAT), f.momentum());
            float[] before = values(h.weights());
            INDArray x = features(rng, 8);
            int[] labels = rng.ints(8, 0, C).toArray();
            double lr = 1e-12; // |lr·v| ~ 1e-13, far below half a bf16 ulp of any weight here (|w| >> 1e-9)
            h.step(x, labels, lr, 0);
            f.step(x, labels, lr, 0);
            assertArrayEquals(before, values(h.weights()), "bf16 weights must not move");
            float[] v = values(h.momentum());
            assertArrayEquals(values(f.momentum()), v, "the float32 momentum holds the update");
            double vmax = 0;
            for (float e : v) {
                vmax = Math.max(vmax, Math.abs(e));
            }
            assertNotEquals(0.0, vmax, "the step computed an update");
        }
    }

    @Test
    void nothingChangesUntilTheUpdateIsAppliedAndDiscardingSkipsIt() {
        SplittableRandom rng = new SplittableRandom(TestSeed.of("half-split"));
        try (Collective c = single()) {
            PartialFc h = PartialFc.create(config(1.0), c, 64, FcDtype.FLOAT16, FcDtype.FLOAT16);
            float[] w0 = values(h.weights());
            INDArray x = features(rng, 8);
            int[] labels = rng.ints(8, 0, C).toArray();
            PartialFc.StepResult scaled = h.forwardBackward(x, labels, 0, false, 1024);
            assertArrayEquals(w0, values(h.weights()));
            assertThrows(IllegalStateException.class, () -> h.forwardBackward(x, labels, 0, false, 1));
            h.discardUpdate();
            assertArrayEquals(w0, values(h.weights()), "a skipped step changes nothing");
            assertThrows(IllegalStateException.class, () -> h.applyUpdate(0.1));
            PartialFc.StepResult plain = h.forwardBackward(x, labels, 0, false, 1);
            assertEquals(plain.loss(), scaled.loss(), "the reported loss is unscaled");
            // the feature gradient carries the loss scale
            float[] gs = scaled.featureGrad().dup('c').data().asFloat();
            float[] gp = plain.featureGrad().dup('c').data().asFloat();
            for (int i = 0; i < gp.length; i++) {
                assertEquals(gp[i] * 1024f, gs[i], Math.abs(gp[i]) * 1024f * 1e-4f + 1e-9f, "dX " + i);
            }
            h.applyUpdate(0.1);
            assertFalse(java.util.Arrays.equals(w0, values(h.weights())));
        }
    }

    @Test
    void lossScaleIsUndoneInTheUpdate() {
        SplittableRandom rng = new SplittableRandom(TestSeed.of("half-unscale"));
        try (Collective c = single()) {
            PartialFc a = PartialFc.create(config(1.0), c, 64, FcDtype.FLOAT32, FcDtype.FLOAT32);
            PartialFc b = PartialFc.create(config(1.0), c, 64, FcDtype.FLOAT32, FcDtype.FLOAT32);
            INDArray x = features(rng, 8);
            int[] labels = rng.ints(8, 0, C).toArray();
            a.forwardBackward(x, labels, 0, false, 1);
            a.applyUpdate(0.2);
            b.forwardBackward(x, labels, 0, false, 4096); // a power of two: unscaling is exact
            b.applyUpdate(0.2);
            float[] wa = values(a.weights());
            float[] wb = values(b.weights());
            for (int i = 0; i < wa.length; i++) {
                assertEquals(wa[i], wb[i], 1e-6f * Math.max(1f, Math.abs(wa[i])), "weight " + i);
            }
        }
    }

    @Test
    void nonFiniteFeaturesAreReportedNotApplied() {
        try (Collective c = single()) {
            PartialFc h = PartialFc.create(config(1.0), c, 64, FcDtype.FLOAT16, FcDtype.FLOAT16);
            INDArray x = features(new SplittableRandom(TestSeed.of("half-nan")), 4);
            x.putScalar(1, 3, Float.NaN);
            PartialFc.StepResult r = h.forwardBackward(x, new int[] {1, 2, 3, 4}, 0, false, 1);
            assertFalse(r.gradsFinite());
            h.discardUpdate();
            assertTrue(StoredRows.allFinite(h.weights(), 0, C));
        }
    }

    /**
     * Two ranks with half storage against one rank over 3 steps: 99% of the stored values equal after
     * the first step (95% after later ones), the rest
     * within k ulps of their row's largest value after step k (the float32 sums differ in order, so a
     * value near a rounding boundary may round the other way: one ulp after the first step; a value that
     * differs by one ulp can round two apart at the next write-back, so the bound grows by one a step).
     */
    @Test
    void twoRanksMatchOneRankWithHalfStorage() {
        for (FcDtype t : List.of(FcDtype.FLOAT16, FcDtype.BFLOAT16)) {
            SplittableRandom rng = new SplittableRandom(TestSeed.of("half-dist" + t));
            List<Collective> g = group(2);
            try (Collective one = single()) {
                PartialFc whole = PartialFc.create(config(1.0), one, 64, t, t);
                List<PartialFc> shards = Ranks.run(g, col -> PartialFc.create(config(1.0), col, 64, t, t));
                for (int step = 0; step < 3; step++) {
                    INDArray x = features(rng, 8);
                    int[] labels = rng.ints(8, 0, C).toArray();
                    final long st = step;
                    PartialFc.StepResult r1 = whole.step(x, labels, 0.5, st);
                    List<PartialFc.StepResult> r2 = Ranks.run(g, col -> {
                        int r = col.rank();
                        return shards.get(r).step(x.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(r * 4, r * 4 + 4),
                                org.nd4j.linalg.indexing.NDArrayIndex.all()).dup('c'),
                                java.util.Arrays.copyOfRange(labels, r * 4, r * 4 + 4), 0.5, st);
                    });
                    Arrays2.assertClose(t + " loss step " + step, r1.loss(), r2.get(0).loss(), 1e-5);
                    int exact = compareStored(t, whole, shards, step + 1);
                    // after the first write-back only values at a rounding boundary differ; later steps
                    // spread those differences through the softmax, so fewer stay bit-equal
                    double want = step == 0 ? 0.99 : 0.95;
                    assertTrue(exact > want * C * D, t + " step " + step + ": only " + exact + " of " + C * D
                            + " equal (expected: > " + want + ")");
                }
            } finally {
                g.forEach(Collective::close);
            }
        }
    }

    /** Asserts every stored weight of the shards within {@code ulps} of the whole's; returns how many are equal. */
    private static int compareStored(FcDtype t, PartialFc whole, List<PartialFc> shards, int ulps) {
        float[] w1 = values(whole.weights());
        int exact = 0;
        for (int r = 0; r < shards.size(); r++) {
            PartialFc s = shards.get(r);
            float[] wr = values(s.weights());
            int start = s.layout().start(r);
            for (int i = 0; i < wr.length; i++) {
                float a = w1[start * D + i];
                float big = 0; // differences come from rounding at the row's scale (its norm, its largest value)
                for (int k = i - i % D; k < i - i % D + D; k++) {
                    big = Math.max(big, Math.abs(wr[k]));
                }
                float ulp = t == FcDtype.BFLOAT16 ? Math.ulp(big) * 0x1p16f
                        : Math.max(0x1p-24f, Math.ulp(big) * 0x1p13f); // one ulp of the stored type
                assertEquals(a, wr[i], 1.01f * ulps * ulp, t + " weight " + (start * D + i) + " (bound " + ulps
                        + " ulp)");
                if (a == wr[i]) {
                    exact++;
                }
            }
        }
        return exact;
    }
}
