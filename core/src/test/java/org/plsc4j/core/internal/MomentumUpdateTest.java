package org.plsc4j.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

class MomentumUpdateTest {

    @Test
    void matchesTheDefinitionOnViewsLargeEnoughForTwoThreads() {
        int k = 700;
        int d = 33; // odd: exercises the tail of the unrolled loop
        SplittableRandom rng = new SplittableRandom(7);
        INDArray wAll = Nd4j.rand(DataType.FLOAT, k + 50, d).subi(0.5);
        INDArray vAll = Nd4j.rand(DataType.FLOAT, k + 50, d).subi(0.5);
        INDArray w = wAll.get(NDArrayIndex.interval(30, 30 + k), NDArrayIndex.all());
        INDArray v = vAll.get(NDArrayIndex.interval(30, 30 + k), NDArrayIndex.all());
        double[][] w0 = w.castTo(DataType.DOUBLE).toDoubleMatrix();
        double[][] v0 = v.castTo(DataType.DOUBLE).toDoubleMatrix();
        float[] before = wAll.getRow(29).toFloatVector();
        float[] coef = new float[k];
        for (int j = 0; j < k; j++) {
            coef[j] = (float) (rng.nextDouble() - 0.5);
        }
        float lr = 0.3f;
        float[] norms = new float[k];
        MomentumUpdate.apply(w, v, coef, lr, norms);
        for (int j = 0; j < k; j++) {
            double n2 = 0;
            for (int c = 0; c < d; c++) {
                double vv = v0[j][c] + coef[j] * w0[j][c];
                double ww = w0[j][c] - lr * vv;
                n2 += ww * ww;
                assertEquals(vv, v.getDouble(j, c), 1e-6, "v[" + j + "][" + c + "]");
                assertEquals(ww, w.getDouble(j, c), 1e-6, "w[" + j + "][" + c + "]");
            }
            assertEquals(Math.sqrt(n2), norms[j], 1e-5, "norm " + j);
        }
        org.junit.jupiter.api.Assertions.assertArrayEquals(before, wAll.getRow(29).toFloatVector(),
                "rows outside the view untouched");
    }

    @Test
    void foldsTheMomentumStepOnViewsWithAGradient() {
        int k = 301; // odd, two threads
        int d = 19;
        SplittableRandom rng = new SplittableRandom(9);
        INDArray wAll = Nd4j.rand(DataType.FLOAT, k + 9, d).subi(0.5);
        INDArray vAll = Nd4j.rand(DataType.FLOAT, k + 9, d).subi(0.5);
        INDArray gAll = Nd4j.rand(DataType.FLOAT, k + 4, d).subi(0.5);
        INDArray w = wAll.get(NDArrayIndex.interval(5, 5 + k), NDArrayIndex.all());
        INDArray v = vAll.get(NDArrayIndex.interval(5, 5 + k), NDArrayIndex.all());
        INDArray g = gAll.get(NDArrayIndex.interval(3, 3 + k), NDArrayIndex.all());
        double[][] w0 = w.castTo(DataType.DOUBLE).toDoubleMatrix();
        double[][] v0 = v.castTo(DataType.DOUBLE).toDoubleMatrix();
        double[][] g0 = g.castTo(DataType.DOUBLE).toDoubleMatrix();
        float[] after = vAll.getRow(5 + k).toFloatVector();
        float[] coef = new float[k + 7]; // longer than the chunk, as the FC step's scratch
        for (int j = 0; j < k; j++) {
            coef[j] = (float) (rng.nextDouble() - 0.5);
        }
        float mu = 0.9f;
        float lr = 0.2f;
        float[] norms = new float[k + 7];
        MomentumUpdate.apply(w, v, g, mu, coef, lr, norms);
        for (int j = 0; j < k; j++) {
            double n2 = 0;
            for (int c = 0; c < d; c++) {
                double vv = mu * v0[j][c] + g0[j][c] + coef[j] * w0[j][c];
                double ww = w0[j][c] - lr * vv;
                n2 += ww * ww;
                assertEquals(vv, v.getDouble(j, c), 1e-6, "v[" + j + "][" + c + "]");
                assertEquals(ww, w.getDouble(j, c), 1e-6, "w[" + j + "][" + c + "]");
            }
            assertEquals(Math.sqrt(n2), norms[j], 1e-5, "norm " + j);
        }
        org.junit.jupiter.api.Assertions.assertArrayEquals(after, vAll.getRow(5 + k).toFloatVector(),
                "rows outside the view untouched");
    }
}
