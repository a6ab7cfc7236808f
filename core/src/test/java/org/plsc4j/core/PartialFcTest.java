package org.plsc4j.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.SplittableRandom;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.plsc4j.core.collective.Collective;
import org.plsc4j.core.collective.CollectiveConfig;
import org.plsc4j.core.collective.Collectives;

/** The fused single-rank FC step against the float64 reference. */
@ExtendWith(TestSeed.class)
class PartialFcTest {

    private Collective single;

    @BeforeEach
    void join() {
        single = Collectives.join("inprocess", CollectiveConfig.builder().jobId("pfc-" + UUID.randomUUID())
                .timeout(Duration.ofSeconds(30)).build());
    }

    @AfterEach
    void close() {
        single.close();
    }

    private static FcConfig config(MarginConfig m, int classes, int emb, double ratio, double mu, double wd) {
        return FcConfig.builder().numClasses(classes).embSize(emb).margin(m).sampleRatio(ratio)
                .momentum(mu).weightDecay(wd).seed(TestSeed.of("fc")).build();
    }

    @Test
    void oneStepMatchesTheReferenceForEveryLossType() {
        SplittableRandom rng = new SplittableRandom(TestSeed.of("pfc-one"));
        for (MarginConfig m0 : TargetLogitTest.MARGINS) {
            MarginConfig m = new MarginConfig(m0.m1(), m0.m2(), m0.m3(), 16);
            int b = 6;
            int c = 50;
            int d = 16;
            PartialFc fc = PartialFc.create(config(m, c, d, 1.0, 0.0, 0.0), single, 7);
            double[][] w0 = Arrays2.toDouble(fc.weights());
            double[][] x = Arrays2.roundToFloat(Arrays2.gaussian(rng, b, d, 1.0));
            int[] labels = rng.ints(b, 0, c).toArray();
            double lr = 0.5;
            PartialFc.StepResult r = fc.step(Arrays2.toFloat(x), labels, lr, 0);
            Float64Reference.Out ref = Float64Reference.fc(x, w0, labels, m);
            Arrays2.assertClose(m + " loss", ref.loss(), r.loss(), 1e-5);
            Arrays2.assertClose(m + " dX", ref.dX(), Arrays2.toDouble(r.featureGrad()), 1e-5);
            Arrays2.assertClose(m + " dW (momentum after one step with mu=0)", ref.dW(),
                    Arrays2.toDouble(fc.momentum()), 1e-5);
            double[][] w1 = new double[c][d];
            for (int j = 0; j < c; j++) {
                for (int k = 0; k < d; k++) {
                    w1[j][k] = w0[j][k] - lr * ref.dW()[j][k];
                }
            }
            Arrays2.assertClose(m + " W after", w1, Arrays2.toDouble(fc.weights()), 1e-5);
            assertEquals(c, r.sampledClasses());
        }
    }

    @Test
    void closeFreesTheShardOnceAndRejectsFurtherSteps() {
        SplittableRandom rng = new SplittableRandom(TestSeed.of("pfc-close"));
        PartialFc fc = PartialFc.create(config(MarginConfig.arcface(0.5, 16), 40, 8, 1.0, 0.9, 0.0), single, 7);
        double[][] x = Arrays2.roundToFloat(Arrays2.gaussian(rng, 4, 8, 1.0));
        int[] labels = rng.ints(4, 0, 40).toArray();
        fc.step(Arrays2.toFloat(x), labels, 0.1, 0); // the step buffers exist now
        INDArray w = fc.weights();
        INDArray v = fc.momentum();
        fc.close();
        assertTrue(w.wasClosed(), "weights freed");
        assertTrue(v.wasClosed(), "momentum freed");
        fc.close(); // idempotent
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> fc.step(Arrays2.toFloat(x), labels, 0.1, 1));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
    }

    @Test
    void weightGradientMatchesFiniteDifferencesOfTheReference() {
        SplittableRandom rng = new SplittableRandom(TestSeed.of("pfc-fd"));
        MarginConfig m = MarginConfig.combined(1.0, 0.3, 0.2, 8);
        int b = 4;
        int c = 9;
        int d = 5;
        double[][] x = Arrays2.gaussian(rng, b, d, 1.0);
        double[][] w = Arrays2.gaussian(rng, c, d, 0.1);
        int[] labels = rng.ints(b, 0, c).toArray();
        Float64Reference.Out ref = Float64Reference.fc(x, w, labels, m);
        double h = 1e-6;
        for (int j = 0; j < c; j++) {
            for (int k = 0; k < d; k++) {
                double keep = w[j][k];
                w[j][k] = keep + h;
                double lp = Float64Reference.fc(x, w, labels, m).loss();
                w[j][k] = keep - h;
                double lm = Float64Reference.fc(x, w, labels, m).loss();
                w[j][k] = keep;
                assertEquals((lp - lm) / (2 * h), ref.dW()[j][k], 1e-5, "dW[" + j + "][" + k + "] seed " + TestSeed.BASE);
            }
        }
        for (int i = 0; i < b; i++) {
            for (int k = 0; k < d; k++) {
                double keep = x[i][k];
                x[i][k] = keep + h;
                double lp = Float64Reference.fc(x, w, labels, m).loss();
                x[i][k] = keep - h;
                double lm = Float64Reference.fc(x, w, labels, m).loss();
                x[i][k] = keep;
                assertEquals((lp - lm) / (2 * h), ref.dX()[i][k], 1e-5, "dX[" + i + "][" + k + "] seed " + TestSeed.BASE);
            }
        }
    }

    @Test
    void momentumAndWeightDecayFollowPaddleOverSeveralSteps() {
        SplittableRandom rng = new SplittableRandom(TestSeed.of("pfc-mom"));
        MarginConfig m = MarginConfig.arcface(0.5, 16);
        int b = 8;
        int c = 40;
        int d = 12;
        double mu = 0.9;
        double wd = 5e-3;
        double lr = 0.3;
        PartialFc fc = PartialFc.create(config(m, c, d, 1.0, mu, wd), single, 16);
        double[][] w = Arrays2.toDouble(fc.weights());
        double[][] v = new double[c][d];
        for (int step = 0; step < 3; step++) {
            double[][] x = Arrays2.roundToFloat(Arrays2.gaussian(rng, b, d, 1.0));
            int[] labels = rng.ints(b, 0, c).toArray();
            PartialFc.StepResult r = fc.step(Arrays2.toFloat(x), labels, lr, step);
            Float64Reference.Out ref = Float64Reference.fc(x, w, labels, m);
            Arrays2.assertClose("loss step " + step, ref.loss(), r.loss(), 1e-5);
            for (int j = 0; j < c; j++) {
                for (int k = 0; k < d; k++) {
                    v[j][k] = mu * v[j][k] + ref.dW()[j][k] + wd * w[j][k];
                    w[j][k] -= lr * v[j][k];
                }
            }
            Arrays2.assertClose("momentum step " + step, v, Arrays2.toDouble(fc.momentum()), 1e-4);
            Arrays2.assertClose("weights step " + step, w, Arrays2.toDouble(fc.weights()), 1e-5);
            w = Arrays2.toDouble(fc.weights()); // continue from the float32 state, so errors do not compound
            v = Arrays2.toDouble(fc.momentum());
        }
    }

    @Test
    void sampledStepTouchesOnlySampledRowsAndMatchesTheReferenceOnThem() {
        SplittableRandom rng = new SplittableRandom(TestSeed.of("pfc-sample"));
        MarginConfig m = MarginConfig.arcface(0.5, 16);
        int b = 10;
        int c = 120;
        int d = 8;
        double lr = 0.2;
        PartialFc fc = PartialFc.create(config(m, c, d, 0.25, 0.0, 0.0), single, 11);
        double[][] w0 = Arrays2.toDouble(fc.weights());
        double[][] x = Arrays2.roundToFloat(Arrays2.gaussian(rng, b, d, 1.0));
        int[] labels = rng.ints(b, 0, c).toArray();
        long step = 17;
        PartialFc.StepResult r = fc.step(Arrays2.toFloat(x), labels, lr, step);
        ClassCenterSampler.Sample s = ClassCenterSampler.sample(labels, fc.layout(), 0, 0.25, fc.config().seed(), step);
        assertEquals(s.size(), r.sampledClasses());
        double[][] wS = new double[s.size()][];
        for (int j = 0; j < s.size(); j++) {
            wS[j] = w0[s.localIndices()[j]];
        }
        Float64Reference.Out ref = Float64Reference.fc(x, wS, s.remappedLabels(), m);
        Arrays2.assertClose("loss", ref.loss(), r.loss(), 1e-5);
        Arrays2.assertClose("dX", ref.dX(), Arrays2.toDouble(r.featureGrad()), 1e-5);
        double[][] mom = Arrays2.toDouble(fc.momentum());
        double[][] w1 = Arrays2.toDouble(fc.weights());
        boolean[] sampled = new boolean[c];
        for (int j = 0; j < s.size(); j++) {
            int row = s.localIndices()[j];
            sampled[row] = true;
            Arrays2.assertClose("dW row " + row, new double[][] {ref.dW()[j]}, new double[][] {mom[row]}, 1e-5);
        }
        for (int row = 0; row < c; row++) {
            if (!sampled[row]) {
                assertArrayEquals(new double[d], mom[row], "momentum of unsampled row " + row);
                assertArrayEquals(w0[row], w1[row], "weights of unsampled row " + row);
            }
        }
    }

    @Test
    void initialWeightsDependOnTheClassIdNotOnTheRank() {
        FcConfig cfg = config(MarginConfig.arcface(0.5, 64), 30, 4, 1.0, 0.9, 0);
        PartialFc fc = PartialFc.create(cfg, single);
        INDArray w = fc.weights();
        SplittableRandom rng = new SplittableRandom(PartialFc.classSeed(cfg.seed(), 17));
        for (int k = 0; k < 4; k++) {
            assertEquals((float) (0.01 * rng.nextGaussian()), w.getFloat(17, k));
        }
    }

    @Test
    void badInputsAreRejectedNamingTheValue() {
        PartialFc fc = PartialFc.create(config(MarginConfig.arcface(0.5, 64), 30, 4, 1.0, 0.9, 0), single);
        SplittableRandom rng = new SplittableRandom(1);
        INDArray x = Arrays2.toFloat(Arrays2.gaussian(rng, 2, 4, 1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> fc.step(x, new int[] {3, 30}, 0.1, 0));
        assertEquals("label : 30 at row 1 of rank 0 (expected: 0 <= label < num_classes = 30)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> fc.step(x, new int[] {-2, 3}, 0.1, 0));
        assertTrue(e.getMessage().startsWith("label : -2 at row 0"), e.getMessage());
        INDArray wrongWidth = Arrays2.toFloat(Arrays2.gaussian(rng, 2, 5, 1));
        e = assertThrows(IllegalArgumentException.class, () -> fc.step(wrongWidth, new int[] {1, 2}, 0.1, 0));
        assertEquals("features shape : [2, 5] (expected: [batch, emb_size = 4])", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> FcConfig.builder().sampleRatio(1.5).build());
        assertEquals("sample_ratio : 1.5 (expected: 0 < x <= 1)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> FcConfig.builder().sampleRatio(0).build());
        assertEquals("sample_ratio : 0.0 (expected: 0 < x <= 1)", e.getMessage());
    }
}
