package org.plsc4j.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.core.Float64Reference;
import org.plsc4j.core.MarginConfig;

/**
 * The fused chunk passes (column scaling, margin, exp, sums; dL/dcos, column dots, gradient column
 * scaling) against a float64 computation, on chunk views at offsets into shared buffers as the FC
 * step uses them, with odd widths and targets on chunk boundaries.
 */
class MarginSoftmaxKernelChunkTest {

    @Test
    void chunkedViewsMatchFloat64() {
        int rows = 9;
        int[] widths = {5, 64, 1, 37, 300};
        int c = 0;
        for (int w : widths) {
            c += w;
        }
        MarginConfig m = MarginConfig.arcface(0.5, 64);
        double s = m.scale();
        SplittableRandom rng = new SplittableRandom(5);
        double[] norm = new double[c];
        for (int j = 0; j < c; j++) {
            norm[j] = 0.5 + rng.nextDouble();
        }
        double[][] cos = new double[rows][c];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < c; j++) {
                cos[i][j] = 0.6 * (2 * rng.nextDouble() - 1);
            }
        }
        // targets at chunk boundaries (first/last column of a chunk, the one-column chunk) and inside
        int[] labels = {0, 4, 5, 68, 69, 70, 106, 107, 406};
        for (int i = 0; i < rows; i++) {
            cos[i][labels[i]] = 0.7 + 0.2 * rng.nextDouble(); // confident rows: flushing is exercised
        }
        cos[2][17] = 0.999;
        long pad = 13;
        DataBuffer zBuf = Nd4j.createBuffer(DataType.FLOAT, pad + (long) rows * c, true);
        DataBuffer eBuf = Nd4j.createBuffer(DataType.FLOAT, pad + (long) rows * c, true);
        DataBuffer pBuf = Nd4j.createBuffer(DataType.FLOAT, pad + (long) rows * c, true);
        MarginSoftmaxKernel kernel = new MarginSoftmaxKernel(m, rows);
        kernel.reset(labels);
        int j0 = 0;
        for (int k = 0; k < widths.length; k++) {
            int w = widths[k];
            INDArray z = view(zBuf, rows, w, pad + (long) rows * j0);
            float[] colScale = new float[w + 3]; // longer than the chunk, as the FC step's scratch
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < w; j++) {
                    z.putScalar(i, j, (float) (cos[i][j0 + j] * norm[j0 + j])); // the raw dot product
                }
            }
            for (int j = 0; j < w; j++) {
                colScale[j] = (float) (s / norm[j0 + j]);
            }
            kernel.forwardChunk(k, z, j0, view(eBuf, rows, w, pad + (long) rows * j0), colScale);
            j0 += w;
        }
        double[] losses = kernel.finish(null);
        double[][] grad = new double[rows][c];
        double[][] prob = new double[rows][c];
        double[] colDot = new double[c];
        j0 = 0;
        for (int k = 0; k < widths.length; k++) {
            int w = widths[k];
            INDArray z = view(zBuf, rows, w, pad + (long) rows * j0);
            INDArray e = view(eBuf, rows, w, pad + (long) rows * j0);
            INDArray p = view(pBuf, rows, w, pad + (long) rows * j0);
            float[] dots = new float[w + 2];
            float[] inv = new float[w + 2];
            for (int j = 0; j < w; j++) {
                inv[j] = (float) (1 / norm[j0 + j]);
            }
            kernel.backwardChunk(k, z, e, j0, 1.0 / rows, p, dots, inv);
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < w; j++) {
                    grad[i][j0 + j] = e.getDouble(i, j);
                    prob[i][j0 + j] = p.getDouble(i, j);
                }
            }
            for (int j = 0; j < w; j++) {
                colDot[j0 + j] = dots[j];
            }
            j0 += w;
        }

        double maxG = 0;
        double maxD = 0;
        Float64Reference.Out ref = Float64Reference.onCos(cos, labels, m);
        double[][] wantP = ref.softmax();
        double[][] wantG = new double[rows][c];
        double[] wantD = new double[c];
        for (int i = 0; i < rows; i++) {
            assertEquals(ref.perSample()[i], losses[i], 1e-5 * Math.max(1, losses[i]), "loss " + i);
            for (int j = 0; j < c; j++) {
                double dcos = ref.dCos()[i][j]; // the reference's mean reduction = gradScale 1/rows
                wantD[j] += dcos * cos[i][j];
                wantG[i][j] = dcos / norm[j];
                maxG = Math.max(maxG, Math.abs(wantG[i][j]));
            }
        }
        for (int j = 0; j < c; j++) {
            maxD = Math.max(maxD, Math.abs(wantD[j]));
        }
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < c; j++) {
                assertEquals(wantP[i][j], prob[i][j], 1e-5, "softmax[" + i + "][" + j + "]");
                assertEquals(wantG[i][j], grad[i][j], 1e-5 * maxG, "grad[" + i + "][" + j + "]");
            }
        }
        for (int j = 0; j < c; j++) {
            assertEquals(wantD[j], colDot[j], 1e-5 * maxD, "colDot[" + j + "]");
        }
        for (int q = 0; q < pad; q++) {
            assertTrue(zBuf.getFloat(q) == 0 && eBuf.getFloat(q) == 0 && pBuf.getFloat(q) == 0,
                    "element " + q + " before the views untouched");
        }
    }

    private static INDArray view(DataBuffer buf, int rows, int cols, long offset) {
        return Nd4j.create(buf, new long[] {rows, cols}, new long[] {cols, 1}, offset, 'c', DataType.FLOAT);
    }
}
