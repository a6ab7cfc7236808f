package org.plsc4j.worker.internal;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.core.TestSeed;

/**
 * oneDNN's fused batch norm (training forward, forward with given statistics, backward through the
 * batch statistics) against the textbook formulas evaluated in float64 loops, from the same operands
 * (float32 inputs), at two shapes in turn (its primitives are recreated per shape).
 */
@ExtendWith(TestSeed.class)
class DnnlBatchNormTest {

    private static final double EPS = 2e-5;

    private static void assertClose(String what, double[] expected, INDArray actual, double rel) {
        double[] a = actual.castTo(DataType.DOUBLE).dup('c').reshape(actual.length()).toDoubleVector();
        double scale = 0;
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            scale = Math.max(scale, Math.abs(expected[i]));
            worst = Math.max(worst, Math.abs(expected[i] - a[i]));
        }
        assertTrue(worst <= rel * scale, what + ": max abs diff " + worst + " vs max " + scale + " (seed "
                + TestSeed.BASE + ")");
    }

    private static INDArray gaussian(SplittableRandom rng, double mean, double std, long... shape) {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        float[] v = new float[(int) n];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (mean + std * rng.nextGaussian());
        }
        return Nd4j.create(v, shape, 'c');
    }

    @Test
    void fusedBatchNormMatchesFloat64Formulas() {
        Dnnl dnnl = Dnnl.get();
        assertNotNull(dnnl, "oneDNN natives (org.bytedeco:dnnl linux-x86_64) should load on this platform");
        SplittableRandom rng = new SplittableRandom(TestSeed.of("dnnl-bn"));
        try (DnnlBatchNorm bn = new DnnlBatchNorm(dnnl, EPS)) {
            for (int[] s : new int[][] {{3, 5, 4, 3}, {2, 7, 3, 3}}) {
                int b = s[0];
                int c = s[1];
                int hw = s[2] * s[3];
                String at = java.util.Arrays.toString(s) + " ";
                INDArray x = gaussian(rng, 0.7, 2.0, b, c, s[2], s[3]);
                INDArray dy = gaussian(rng, 0, 1, b, c, s[2], s[3]);
                INDArray gamma = gaussian(rng, 1, 0.3, c);
                INDArray beta = gaussian(rng, 0, 0.3, c);
                INDArray mean = Nd4j.create(DataType.FLOAT, c);
                INDArray var = Nd4j.create(DataType.FLOAT, c);
                INDArray y = Nd4j.create(DataType.FLOAT, x.shape());
                bn.train(x, gamma, beta, mean, var, y);
                double[] xv = x.castTo(DataType.DOUBLE).reshape(x.length()).toDoubleVector();
                double[] dyv = dy.castTo(DataType.DOUBLE).reshape(x.length()).toDoubleVector();
                double[] m = new double[c];
                double[] v = new double[c];
                double count = (double) b * hw;
                for (int n = 0; n < b; n++) {
                    for (int ch = 0; ch < c; ch++) {
                        for (int i = 0; i < hw; i++) {
                            m[ch] += xv[(n * c + ch) * hw + i] / count;
                        }
                    }
                }
                for (int n = 0; n < b; n++) {
                    for (int ch = 0; ch < c; ch++) {
                        for (int i = 0; i < hw; i++) {
                            double d = xv[(n * c + ch) * hw + i] - m[ch];
                            v[ch] += d * d / count;
                        }
                    }
                }
                double[] yv = new double[xv.length];
                double[] xhat = new double[xv.length];
                double[] dGamma = new double[c];
                double[] dBeta = new double[c];
                for (int n = 0; n < b; n++) {
                    for (int ch = 0; ch < c; ch++) {
                        for (int i = 0; i < hw; i++) {
                            int k = (n * c + ch) * hw + i;
                            xhat[k] = (xv[k] - m[ch]) / Math.sqrt(v[ch] + EPS);
                            yv[k] = gamma.getDouble(ch) * xhat[k] + beta.getDouble(ch);
                            dGamma[ch] += dyv[k] * xhat[k];
                            dBeta[ch] += dyv[k];
                        }
                    }
                }
                double[] dx = new double[xv.length];
                for (int n = 0; n < b; n++) {
                    for (int ch = 0; ch < c; ch++) {
                        for (int i = 0; i < hw; i++) {
                            int k = (n * c + ch) * hw + i;
                            dx[k] = gamma.getDouble(ch) / Math.sqrt(v[ch] + EPS)
                                    * (dyv[k] - dBeta[ch] / count - xhat[k] * dGamma[ch] / count);
                        }
                    }
                }
                assertClose(at + "mean", m, mean, 1e-6);
                assertClose(at + "biased variance", v, var, 1e-5);
                assertClose(at + "training output", yv, y, 1e-5);
                INDArray again = Nd4j.create(DataType.FLOAT, x.shape());
                bn.apply(x, gamma, beta, mean, var, again);
                assertClose(at + "output with given statistics", yv, again, 1e-5);
                INDArray gx = Nd4j.create(DataType.FLOAT, x.shape());
                INDArray gGamma = Nd4j.create(DataType.FLOAT, c);
                INDArray gBeta = Nd4j.create(DataType.FLOAT, c);
                bn.backward(x, gamma, beta, mean, var, dy, gx, gGamma, gBeta);
                assertClose(at + "dL/dx", dx, gx, 1e-4);
                assertClose(at + "dL/dgamma", dGamma, gGamma, 1e-5);
                assertClose(at + "dL/dbeta", dBeta, gBeta, 1e-5);
            }
        }
    }
}
