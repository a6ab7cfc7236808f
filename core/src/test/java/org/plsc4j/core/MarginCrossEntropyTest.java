package org.plsc4j.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.api.ndarray.INDArray;

@ExtendWith(TestSeed.class)
class MarginCrossEntropyTest {

    private static double[][] randomCos(SplittableRandom rng, int b, int c) {
        double[][] cos = new double[b][c];
        for (double[] row : cos) {
            for (int j = 0; j < c; j++) {
                row[j] = (float) (rng.nextDouble() * 1.8 - 0.9);
            }
        }
        return cos;
    }

    @Test
    void everyLossTypeMatchesTheFloat64Reference() {
        SplittableRandom rng = new SplittableRandom(TestSeed.of("mce"));
        for (MarginConfig m : TargetLogitTest.MARGINS) {
            int b = 9;
            int c = 37;
            double[][] cos = randomCos(rng, b, c);
            int[] labels = rng.ints(b, 0, c).toArray();
            MarginCrossEntropy.Result r = MarginCrossEntropy.compute(Arrays2.toFloat(cos), labels, m, true,
                    MarginCrossEntropy.Reduction.MEAN);
            Float64Reference.Out ref = Float64Reference.onCos(cos, labels, m);
            Arrays2.assertClose(m + " loss", ref.loss(), r.loss(), 1e-5);
            Arrays2.assertClose(m + " softmax", ref.softmax(), Arrays2.toDouble(r.softmax()), 1e-5);
            Arrays2.assertClose(m + " dlogits", ref.dCos(), Arrays2.toDouble(r.gradLogits()), 1e-5);
            for (int i = 0; i < b; i++) {
                // a confident row's loss is log(1 + tiny): float32 exp sums give it an absolute, not a
                // relative, accuracy of ~1e-7, so small per-sample losses are compared absolutely
                double tol = 1e-5 * Math.max(1.0, Math.abs(ref.perSample()[i]));
                assertEquals(ref.perSample()[i], r.perSampleLoss()[i], tol, m + " per-sample loss " + i
                        + " seed " + TestSeed.BASE);
            }
        }
    }

    @Test
    void referenceGradientMatchesFiniteDifferences() {
        SplittableRandom rng = new SplittableRandom(TestSeed.of("mce-fd"));
        for (MarginConfig m0 : TargetLogitTest.MARGINS) {
            MarginConfig m = new MarginConfig(m0.m1(), m0.m2(), m0.m3(), 4.0); // smaller scale: better-conditioned FD
            int b = 4;
            int c = 6;
            double[][] cos = randomCos(rng, b, c);
            int[] labels = rng.ints(b, 0, c).toArray();
            double[][] grad = Float64Reference.onCos(cos, labels, m).dCos();
            double h = 1e-6;
            for (int i = 0; i < b; i++) {
                for (int j = 0; j < c; j++) {
                    double[][] plus = deepCopy(cos);
                    double[][] minus = deepCopy(cos);
                    plus[i][j] += h;
                    minus[i][j] -= h;
                    double fd = (Float64Reference.onCos(plus, labels, m).loss()
                            - Float64Reference.onCos(minus, labels, m).loss()) / (2 * h);
                    assertEquals(fd, grad[i][j], 1e-6, m + " [" + i + "][" + j + "] seed " + TestSeed.BASE);
                }
            }
            // and the float32 implementation against the same finite differences
            MarginCrossEntropy.Result r = MarginCrossEntropy.compute(Arrays2.toFloat(cos), labels, m, false,
                    MarginCrossEntropy.Reduction.MEAN);
            double[][] impl = Arrays2.toDouble(r.gradLogits());
            for (int i = 0; i < b; i++) {
                for (int j = 0; j < c; j++) {
                    double[][] plus = deepCopy(cos);
                    double[][] minus = deepCopy(cos);
                    plus[i][j] += h;
                    minus[i][j] -= h;
                    double fd = (Float64Reference.onCos(plus, labels, m).loss()
                            - Float64Reference.onCos(minus, labels, m).loss()) / (2 * h);
                    assertEquals(fd, impl[i][j], 1e-5, m + " impl [" + i + "][" + j + "] seed " + TestSeed.BASE);
                }
            }
        }
    }

    @Test
    void sumReductionScalesByBatch() {
        SplittableRandom rng = new SplittableRandom(TestSeed.of("mce-sum"));
        double[][] cos = randomCos(rng, 5, 11);
        int[] labels = rng.ints(5, 0, 11).toArray();
        MarginConfig m = MarginConfig.arcface(0.5, 16);
        MarginCrossEntropy.Result mean = MarginCrossEntropy.compute(Arrays2.toFloat(cos), labels, m, false,
                MarginCrossEntropy.Reduction.MEAN);
        MarginCrossEntropy.Result sum = MarginCrossEntropy.compute(Arrays2.toFloat(cos), labels, m, false,
                MarginCrossEntropy.Reduction.SUM);
        Arrays2.assertClose("sum", mean.loss() * 5, sum.loss(), 1e-6);
        INDArray scaled = mean.gradLogits().mul(5);
        Arrays2.assertClose("grad", Arrays2.toDouble(scaled), Arrays2.toDouble(sum.gradLogits()), 1e-6);
    }

    @Test
    void adversarialInputsNeverGiveNanOrInf() {
        int c = 8;
        double[][] cos = new double[6][c];
        for (int j = 0; j < c; j++) {
            cos[0][j] = 1.0;          // every cosine +1 (theta = 0 for the target)
            cos[1][j] = -1.0;         // every cosine -1 (theta = pi)
            cos[2][j] = j == 2 ? Math.cos(Math.PI - 0.1) : 0.3; // theta + m2 > pi for the target
            cos[3][j] = j == 3 ? 1.0000001 : -1.0000001;        // rounding past the range
            cos[4][j] = j % 2 == 0 ? 1 : -1;
            cos[5][j] = 0;
        }
        int[] labels = {0, 1, 2, 3, 4, 5};
        for (MarginConfig m0 : TargetLogitTest.MARGINS) {
            for (double s : new double[] {1, 64, 1e4, 1e6, MarginConfig.MAX_SCALE}) {
                MarginConfig m = new MarginConfig(m0.m1(), m0.m2(), m0.m3(), s);
                MarginCrossEntropy.Result r = MarginCrossEntropy.compute(Arrays2.toFloat(cos), labels, m, true,
                        MarginCrossEntropy.Reduction.MEAN);
                assertTrue(Double.isFinite(r.loss()), m + " loss " + r.loss());
                for (double l : r.perSampleLoss()) {
                    assertTrue(Double.isFinite(l) && l >= -1e-6 * s, m + " per-sample " + l);
                }
                assertTrue(allFinite(Arrays2.toDouble(r.gradLogits())), m + " grad");
                assertTrue(allFinite(Arrays2.toDouble(r.softmax())), m + " softmax");
            }
        }
    }

    @Test
    void badInputsAreRejectedNamingTheValue() {
        INDArray logits = Arrays2.toFloat(new double[3][5]);
        MarginConfig m = MarginConfig.arcface(0.5, 64);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MarginCrossEntropy.compute(
                logits, new int[] {0, 5, 1}, m, false, MarginCrossEntropy.Reduction.MEAN));
        assertEquals("label : 5 at row 1 (expected: 0 <= label < num_classes = 5)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> MarginCrossEntropy.compute(
                logits, new int[] {0, -1, 1}, m, false, MarginCrossEntropy.Reduction.MEAN));
        assertTrue(e.getMessage().startsWith("label : -1 at row 1"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> MarginCrossEntropy.compute(
                logits, new int[] {0, 1}, m, false, MarginCrossEntropy.Reduction.MEAN));
        assertTrue(e.getMessage().startsWith("labels : 2"), e.getMessage());
    }

    static boolean allFinite(double[][] a) {
        for (double[] row : a) {
            for (double v : row) {
                if (!Double.isFinite(v)) {
                    return false;
                }
            }
        }
        return true;
    }

    static double[][] deepCopy(double[][] a) {
        double[][] out = new double[a.length][];
        for (int i = 0; i < a.length; i++) {
            out[i] = a[i].clone();
        }
        return out;
    }
}
