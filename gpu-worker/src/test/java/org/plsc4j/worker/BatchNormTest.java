package org.plsc4j.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.plsc4j.core.TestSeed;

/** The written-out batch norm (rank 4 per channel, rank 2 per feature) against a plain float64 reference. */
@ExtendWith(TestSeed.class)
class BatchNormTest {

    private static final int C = 3;
    private static final int H = 2;
    private static final int W = 3;
    private static final int D = C * H * W;
    private static final double EPS = ModelContext.BN_EPSILON;
    private static final double MOM = ModelContext.BN_MOMENTUM;

    /** BN2d over the image, flatten, BN1d over the features. */
    private static final BaseModel BN_ONLY = (sd, input, isTrain, ctx) -> {
        var x = ctx.batchNorm2d("bn2d", input, C);
        return ctx.batchNorm1d("bn1d", x.reshape(-1, D), D);
    };

    /** Reference state: running stats and affine parameters of both layers, as doubles. */
    private static final class Ref {
        double[] g2 = new double[C];
        double[] b2 = new double[C];
        double[] rm2 = new double[C];
        double[] rv2 = new double[C];
        double[] g1 = new double[D];
        double[] b1 = new double[D];
        double[] rm1 = new double[D];
        double[] rv1 = new double[D];

        Ref() {
            java.util.Arrays.fill(rv2, 1);
            java.util.Arrays.fill(rv1, 1);
        }

        /** x: [n][C*H*W] row-major NCHW; returns the output [n][D]. */
        double[][] forward(double[][] x, boolean train) {
            int n = x.length;
            double[][] y = new double[n][D];
            for (int c = 0; c < C; c++) {
                double mean;
                double var;
                if (train) {
                    double s = 0;
                    for (double[] row : x) {
                        for (int k = 0; k < H * W; k++) {
                            s += row[c * H * W + k];
                        }
                    }
                    mean = s / (n * H * W);
                    double v = 0;
                    for (double[] row : x) {
                        for (int k = 0; k < H * W; k++) {
                            double d = row[c * H * W + k] - mean;
                            v += d * d;
                        }
                    }
                    var = v / (n * H * W);
                    rm2[c] = MOM * rm2[c] + (1 - MOM) * mean;
                    rv2[c] = MOM * rv2[c] + (1 - MOM) * var;
                } else {
                    mean = rm2[c];
                    var = rv2[c];
                }
                for (int i = 0; i < n; i++) {
                    for (int k = 0; k < H * W; k++) {
                        int j = c * H * W + k;
                        y[i][j] = (x[i][j] - mean) / Math.sqrt(var + EPS) * g2[c] + b2[c];
                    }
                }
            }
            double[][] z = new double[n][D];
            for (int j = 0; j < D; j++) {
                double mean;
                double var;
                if (train) {
                    double s = 0;
                    for (double[] row : y) {
                        s += row[j];
                    }
                    mean = s / n;
                    double v = 0;
                    for (double[] row : y) {
                        v += (row[j] - mean) * (row[j] - mean);
                    }
                    var = v / n;
                    rm1[j] = MOM * rm1[j] + (1 - MOM) * mean;
                    rv1[j] = MOM * rv1[j] + (1 - MOM) * var;
                } else {
                    mean = rm1[j];
                    var = rv1[j];
                }
                for (int i = 0; i < n; i++) {
                    z[i][j] = (y[i][j] - mean) / Math.sqrt(var + EPS) * g1[j] + b1[j];
                }
            }
            return z;
        }
    }

    private static double[][] rows(INDArray a, int n) {
        return a.castTo(DataType.DOUBLE).reshape(n, -1).toDoubleMatrix();
    }

    private static double[] cat(double[][] m) {
        return java.util.Arrays.stream(m).flatMapToDouble(java.util.Arrays::stream).toArray();
    }

    private void check(DataType type, double rel) {
        SplittableRandom rng = new SplittableRandom(TestSeed.of("bn-" + type));
        Backbone bb = Backbones.create(BN_ONLY, new BackboneConfig(D, C, H, W, 1, type));
        assertEquals(java.util.List.of("bn2d.gamma", "bn2d.beta", "bn1d.gamma", "bn1d.beta"),
                java.util.List.copyOf(bb.parameters().keySet()));
        assertEquals(java.util.List.of("bn2d.running_mean", "bn2d.running_var", "bn1d.running_mean",
                "bn1d.running_var"), java.util.List.copyOf(bb.state().keySet()));
        Ref ref = new Ref();
        // non-trivial affine parameters
        for (String p : bb.parameters().keySet()) {
            INDArray v = Tensors.gaussian(rng, type, 1.0, bb.parameters().get(p).shape()).addi(0.5);
            bb.parameters().get(p).assign(v);
        }
        ref.g2 = Tensors.flat(bb.parameters().get("bn2d.gamma"));
        ref.b2 = Tensors.flat(bb.parameters().get("bn2d.beta"));
        ref.g1 = Tensors.flat(bb.parameters().get("bn1d.gamma"));
        ref.b1 = Tensors.flat(bb.parameters().get("bn1d.beta"));
        for (int step = 0; step < 3; step++) {
            int n = 4 + step;
            INDArray x = Tensors.gaussian(rng, type, 2.0, n, C, H, W).addi(step - 1.0);
            double[][] expected = ref.forward(rows(x, n), true);
            INDArray y = bb.forward(x, true);
            Tensors.assertClose(type + " train output, step " + step, cat(expected), Tensors.flat(y), rel, 0);
            Tensors.assertClose(type + " running mean 2d, step " + step, ref.rm2,
                    Tensors.flat(bb.state().get("bn2d.running_mean")), rel, rel);
            Tensors.assertClose(type + " running var 2d, step " + step, ref.rv2,
                    Tensors.flat(bb.state().get("bn2d.running_var")), rel, 0);
            Tensors.assertClose(type + " running mean 1d, step " + step, ref.rm1,
                    Tensors.flat(bb.state().get("bn1d.running_mean")), rel, rel);
            Tensors.assertClose(type + " running var 1d, step " + step, ref.rv1,
                    Tensors.flat(bb.state().get("bn1d.running_var")), rel, 0);
        }
        INDArray x = Tensors.gaussian(rng, type, 2.0, 3, C, H, W);
        double[] before = Tensors.flat(bb.state().get("bn1d.running_var"));
        double[][] expected = ref.forward(rows(x, 3), false);
        Tensors.assertClose(type + " inference output", cat(expected), Tensors.flat(bb.forward(x, false)), rel, rel);
        Tensors.assertClose(type + " inference leaves the running stats alone", before,
                Tensors.flat(bb.state().get("bn1d.running_var")), 0, 0);
    }

    @Test
    void trainAndInferenceMatchTheFloat64ReferenceInDouble() {
        check(DataType.DOUBLE, 1e-12);
    }

    @Test
    void trainAndInferenceMatchTheFloat64ReferenceInFloat() {
        // inputs are float32-exact; the float graph rounds each of ~10 ops to 2^-24 relative
        check(DataType.FLOAT, 2e-5);
    }
}
