package org.plsc4j.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.core.collective.Collective;
import org.plsc4j.core.collective.CollectiveConfig;
import org.plsc4j.core.collective.Collectives;
import org.plsc4j.core.internal.StoredRows;
import org.plsc4j.core.internal.TargetLogitOps;

/**
 * The ops-only FC step ({@link FcEngine#OPS}, the GPU path, here on the CPU backend) against the fused
 * step: the same inputs on two groups of N ranks give the same loss, feature gradients, accuracy, weight
 * rows and momentum rows, step after step, for every loss type, sampled and not, 1–4 ranks, every
 * storage type; for the plain softmax (sample ratio 1) also the bias and its momentum.
 */
@ExtendWith(TestSeed.class)
class OpsFcStepTest {

    private static final int C = 203;
    private static final int D = 16;
    private static final int B = 12;

    private static List<Collective> group(int n) {
        CollectiveConfig cfg = CollectiveConfig.builder().jobId("ops-" + UUID.randomUUID()).worldSize(n)
                .timeout(Duration.ofSeconds(60)).build();
        return Ranks.runIndexed(n, r -> () -> Collectives.join("inprocess", cfg.withRank(r)));
    }

    static List<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (int n = 1; n <= 4; n++) {
            for (double ratio : new double[] {1.0, 0.3}) {
                out.add(Arguments.of(n, ratio, FcDtype.FLOAT32));
            }
        }
        out.add(Arguments.of(2, 1.0, FcDtype.FLOAT16));
        out.add(Arguments.of(3, 0.3, FcDtype.FLOAT16));
        out.add(Arguments.of(1, 1.0, FcDtype.BFLOAT16));
        out.add(Arguments.of(2, 0.3, FcDtype.BFLOAT16));
        return out;
    }

    @ParameterizedTest(name = "N={0} sample_ratio={1} {2}")
    @MethodSource("cases")
    void opsStepEqualsFusedStepForEveryLossType(int n, double ratio, FcDtype dtype) {
        for (MarginConfig m0 : TargetLogitTest.MARGINS) {
            MarginConfig m = new MarginConfig(m0.m1(), m0.m2(), m0.m3(), 16);
            SplittableRandom rng = new SplittableRandom(TestSeed.of("ops-fc" + n + ratio + dtype + m));
            FcConfig cfg = FcConfig.builder().numClasses(C).embSize(D).margin(m).sampleRatio(ratio)
                    .momentum(0.9).weightDecay(1e-3).seed(TestSeed.of("ops-fc-w")).build();
            List<Collective> ga = group(n);
            List<Collective> gb = group(n);
            try {
                List<PartialFc> fused = Ranks.run(ga, c -> PartialFc.create(cfg, c, 64, dtype, dtype, FcEngine.FUSED));
                List<PartialFc> ops = Ranks.run(gb, c -> PartialFc.create(cfg, c, 64, dtype, dtype, FcEngine.OPS));
                assertEquals(FcEngine.OPS, ops.get(0).engine());
                assertEquals(FcEngine.FUSED, fused.get(0).engine());
                int local = B / n;
                for (int step = 0; step < 3; step++) {
                    double[][] x = Arrays2.roundToFloat(Arrays2.gaussian(rng, B, D, 1.0));
                    int[] labels = rng.ints(B, 0, C).toArray();
                    double lossScale = step == 1 ? 8.0 : 1.0; // the split step with loss scaling too
                    List<PartialFc.StepResult> rf = run(ga, fused, x, labels, local, step, lossScale);
                    List<PartialFc.StepResult> ro = run(gb, ops, x, labels, local, step, lossScale);
                    String at = m + " N=" + n + " ratio=" + ratio + " " + dtype + " step " + step;
                    for (int r = 0; r < n; r++) {
                        PartialFc.StepResult f = rf.get(r);
                        PartialFc.StepResult o = ro.get(r);
                        Arrays2.assertClose(at + " loss rank " + r, f.loss(), o.loss(), 1e-5);
                        Arrays2.assertClose(at + " dX rank " + r, Arrays2.toDouble(f.featureGrad()),
                                Arrays2.toDouble(o.featureGrad()), 2e-4);
                        assertEquals(f.sampledClasses(), o.sampledClasses(), at);
                        assertEquals(f.acc1(), o.acc1(), at + " acc1");
                        assertEquals(f.acc5(), o.acc5(), at + " acc5");
                        assertTrue(o.gradsFinite(), at);
                        // float32: float tolerance; half storage: a row may round to the next half value
                        double tol = dtype == FcDtype.FLOAT32 ? 1e-5 : (dtype == FcDtype.FLOAT16 ? 2e-3 : 1.6e-2);
                        Arrays2.assertClose(at + " weights rank " + r, values(fused.get(r).weights()),
                                values(ops.get(r).weights()), tol);
                        Arrays2.assertClose(at + " momentum rank " + r, values(fused.get(r).momentum()),
                                values(ops.get(r).momentum()), dtype == FcDtype.FLOAT32 ? 1e-4 : tol);
                    }
                    // continue both from the same state so that rounding differences do not compound
                    for (int r = 0; r < n; r++) {
                        ops.get(r).load(fused.get(r).weights(), fused.get(r).momentum());
                    }
                }
            } finally {
                ga.forEach(Collective::close);
                gb.forEach(Collective::close);
            }
        }
    }

    static List<Arguments> plainCases() {
        List<Arguments> out = new ArrayList<>();
        for (int n = 1; n <= 4; n++) {
            out.add(Arguments.of(n, FcDtype.FLOAT32));
        }
        out.add(Arguments.of(2, FcDtype.FLOAT16));
        out.add(Arguments.of(3, FcDtype.BFLOAT16));
        return out;
    }

    /** PLSC's plain softmax (x·Wᵀ + b, loss_type softmax / dist_softmax): the bias and its momentum too. */
    @ParameterizedTest(name = "plain softmax N={0} {1}")
    @MethodSource("plainCases")
    void opsStepEqualsFusedStepForThePlainSoftmax(int n, FcDtype dtype) {
        // C: several chunks of the fused step; 11 classes: accuracies well away from 0 (they are compared)
        for (int classes : new int[] {C, 11}) {
            plainSteps(n, dtype, classes);
        }
    }

    private static void plainSteps(int n, FcDtype dtype, int classes) {
        SplittableRandom rng = new SplittableRandom(TestSeed.of("ops-plain" + n + dtype + classes));
        FcConfig cfg = FcConfig.builder().numClasses(classes).embSize(D).head(FcHead.LINEAR_BIAS).initStd(0.2)
                .momentum(0.9).weightDecay(1e-3).seed(TestSeed.of("ops-plain-w")).build();
        List<Collective> ga = group(n);
        List<Collective> gb = group(n);
        try {
            List<PartialFc> fused = Ranks.run(ga, c -> PartialFc.create(cfg, c, 64, dtype, dtype, FcEngine.FUSED));
            List<PartialFc> ops = Ranks.run(gb, c -> PartialFc.create(cfg, c, 64, dtype, dtype, FcEngine.OPS));
            assertEquals(FcEngine.OPS, ops.get(0).engine());
            assertEquals(FcEngine.FUSED, fused.get(0).engine());
            int local = B / n;
            double tol = dtype == FcDtype.FLOAT32 ? 1e-5 : (dtype == FcDtype.FLOAT16 ? 2e-3 : 1.6e-2);
            boolean biasMoved = false;
            for (int step = 0; step < 4; step++) {
                double[][] x = Arrays2.roundToFloat(Arrays2.gaussian(rng, B, D, 1.0));
                int[] labels = rng.ints(B, 0, classes).toArray();
                double lossScale = step == 1 ? 8.0 : 1.0;
                List<PartialFc.StepResult> rf = run(ga, fused, x, labels, local, step, lossScale);
                List<PartialFc.StepResult> ro = run(gb, ops, x, labels, local, step, lossScale);
                String at = "plain C=" + classes + " N=" + n + " " + dtype + " step " + step;
                for (int r = 0; r < n; r++) {
                    PartialFc.StepResult f = rf.get(r);
                    PartialFc.StepResult o = ro.get(r);
                    Arrays2.assertClose(at + " loss rank " + r, f.loss(), o.loss(), 1e-5);
                    Arrays2.assertClose(at + " dX rank " + r, Arrays2.toDouble(f.featureGrad()),
                            Arrays2.toDouble(o.featureGrad()), 2e-4);
                    assertEquals(f.sampledClasses(), o.sampledClasses(), at);
                    assertEquals(f.acc1(), o.acc1(), at + " acc1");
                    assertEquals(f.acc5(), o.acc5(), at + " acc5");
                    assertTrue(o.gradsFinite(), at);
                    Arrays2.assertClose(at + " weights rank " + r, values(fused.get(r).weights()),
                            values(ops.get(r).weights()), tol);
                    Arrays2.assertClose(at + " momentum rank " + r, values(fused.get(r).momentum()),
                            values(ops.get(r).momentum()), dtype == FcDtype.FLOAT32 ? 1e-4 : tol);
                    Arrays2.assertClose(at + " bias rank " + r, new double[][] {fused.get(r).bias().toDoubleVector()},
                            new double[][] {ops.get(r).bias().toDoubleVector()}, 1e-5);
                    Arrays2.assertClose(at + " bias momentum rank " + r, new double[][] {fused.get(r).biasMomentum().toDoubleVector()},
                            new double[][] {ops.get(r).biasMomentum().toDoubleVector()}, 1e-4);
                    biasMoved |= ops.get(r).bias().amaxNumber().doubleValue() > 1e-3;
                }
                for (int r = 0; r < n; r++) {
                    ops.get(r).load(fused.get(r).weights(), fused.get(r).momentum());
                    ops.get(r).loadBias(fused.get(r).bias(), fused.get(r).biasMomentum());
                }
            }
            assertTrue(biasMoved, "the bias was updated");
        } finally {
            ga.forEach(Collective::close);
            gb.forEach(Collective::close);
        }
    }

    private static List<PartialFc.StepResult> run(List<Collective> g, List<PartialFc> shards, double[][] x,
                                                  int[] labels, int local, long step, double lossScale) {
        return Ranks.run(g, col -> {
            int r = col.rank();
            PartialFc fc = shards.get(r);
            INDArray mine = Arrays2.toFloat(Arrays2.rows(x, r * local, (r + 1) * local));
            int[] myLabels = java.util.Arrays.copyOfRange(labels, r * local, (r + 1) * local);
            PartialFc.StepResult res = fc.forwardBackward(mine, myLabels, step, true, lossScale);
            fc.applyUpdate(0.4);
            return res;
        });
    }

    private static double[][] values(INDArray store) {
        int rows = store.rows();
        int cols = store.columns();
        float[] flat = new float[rows * cols];
        StoredRows.read(store, 0, rows, flat, 0);
        double[][] out = new double[rows][cols];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                out[i][j] = flat[i * cols + j];
            }
        }
        return out;
    }

    @Test
    void discardedOpsStepChangesNothing() {
        try (Collective c = group(1).get(0)) {
            FcConfig cfg = FcConfig.builder().numClasses(50).embSize(D).sampleRatio(0.5).seed(3).build();
            PartialFc fc = PartialFc.create(cfg, c, 64, FcDtype.FLOAT32, FcDtype.FLOAT32, FcEngine.OPS);
            INDArray w0 = fc.weights().dup();
            SplittableRandom rng = new SplittableRandom(TestSeed.of("ops-discard"));
            INDArray x = Arrays2.toFloat(Arrays2.gaussian(rng, 4, D, 1.0));
            fc.forwardBackward(x, new int[] {1, 2, 3, 4}, 0, false, 1.0);
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> fc.forwardBackward(x, new int[] {1, 2, 3, 4}, 1, false, 1.0));
            assertTrue(e.getMessage().contains("neither applied nor discarded"), e.getMessage());
            fc.discardUpdate();
            assertEquals(w0, fc.weights());
            assertEquals(0.0, fc.momentum().sumNumber().doubleValue());
            // a non-finite input is reported, not applied
            INDArray bad = x.dup();
            bad.putScalar(0, 0, Float.NaN);
            assertFalse(fc.forwardBackward(bad, new int[] {1, 2, 3, 4}, 2, false, 1.0).gradsFinite());
            fc.discardUpdate();
            assertEquals(w0, fc.weights());
        }
    }

    @Test
    void discardedPlainSoftmaxOpsStepChangesNothing() {
        try (Collective c = group(1).get(0)) {
            FcConfig cfg = FcConfig.builder().numClasses(50).embSize(D).head(FcHead.LINEAR_BIAS).seed(3).build();
            PartialFc fc = PartialFc.create(cfg, c, 64, FcDtype.FLOAT32, FcDtype.FLOAT32, FcEngine.OPS);
            assertEquals(FcEngine.OPS, fc.engine());
            SplittableRandom rng = new SplittableRandom(TestSeed.of("ops-plain-discard"));
            INDArray x = Arrays2.toFloat(Arrays2.gaussian(rng, 4, D, 1.0));
            int[] labels = {1, 2, 3, 4};
            fc.step(x, labels, 0.5, 0); // a non-zero bias and momentum to keep
            INDArray w0 = fc.weights().dup();
            INDArray v0 = fc.momentum().dup();
            INDArray b0 = fc.bias().dup();
            INDArray vb0 = fc.biasMomentum().dup();
            assertTrue(b0.amaxNumber().doubleValue() > 0, "the applied step moved the bias");
            fc.forwardBackward(x, labels, 1, true, 1.0);
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> fc.forwardBackward(x, labels, 2, false, 1.0));
            assertTrue(e.getMessage().contains("neither applied nor discarded"), e.getMessage());
            fc.discardUpdate();
            assertEquals(w0, fc.weights());
            assertEquals(v0, fc.momentum());
            assertEquals(b0, fc.bias());
            assertEquals(vb0, fc.biasMomentum());
            INDArray bad = x.dup();
            bad.putScalar(0, 0, Float.NaN);
            assertFalse(fc.forwardBackward(bad, labels, 3, false, 1.0).gradsFinite());
            fc.discardUpdate();
            assertEquals(b0, fc.bias());
            assertEquals(w0, fc.weights());
        }
    }

    @Test
    void targetTransformEqualsTheFloat64DefinitionIncludingTheFallback() {
        double[] c = new double[401];
        for (int i = 0; i < c.length; i++) {
            c[i] = -1.0 + i * 0.005;
        }
        c[0] = -1.0000001; // rounding can leave |cos| slightly above 1
        INDArray in = Nd4j.createFromArray(c).castTo(DataType.FLOAT);
        float[] cf = in.toFloatVector();
        for (MarginConfig m : TargetLogitTest.MARGINS) {
            INDArray[] fd = TargetLogitOps.valueAndDerivative(in, m);
            float[] f = fd[0].toFloatVector();
            float[] d = fd[1].toFloatVector();
            for (int i = 0; i < c.length; i++) {
                assertEquals(TargetLogit.value(cf[i], m), f[i], 1e-6, m + " f(" + cf[i] + ")");
                double want = TargetLogit.derivative(cf[i], m);
                assertEquals(want, d[i], 1e-6 * Math.max(1, Math.abs(want)), m + " f'(" + cf[i] + ")");
            }
        }
    }

    @Test
    void engineIsParsedAndAutoFollowsTheBackendOrTheProperty() {
        assertEquals(FcEngine.OPS, FcEngine.parse(" Ops ", "fc_engine"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> FcEngine.parse("gpu", FcEngine.PROPERTY));
        assertEquals("plsc4j.fc_engine : gpu (expected: one of auto, fused, ops)", e.getMessage());
        String old = System.getProperty(FcEngine.PROPERTY);
        try {
            System.clearProperty(FcEngine.PROPERTY);
            assertFalse(FcEngine.isCudaBackend(), "the tests run on the CPU backend");
            assertEquals(FcEngine.FUSED, FcEngine.AUTO.resolve());
            System.setProperty(FcEngine.PROPERTY, "ops");
            assertEquals(FcEngine.OPS, FcEngine.AUTO.resolve());
            assertEquals(FcEngine.FUSED, FcEngine.FUSED.resolve());
        } finally {
            if (old == null) {
                System.clearProperty(FcEngine.PROPERTY);
            } else {
                System.setProperty(FcEngine.PROPERTY, old);
            }
        }
    }
}
