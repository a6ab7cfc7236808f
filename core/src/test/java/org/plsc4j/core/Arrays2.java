package org.plsc4j.core;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Conversions and comparisons between INDArrays and double matrices for tests. */
final class Arrays2 {

    private Arrays2() {
    }

    static double[][] gaussian(SplittableRandom rng, int rows, int cols, double std) {
        double[][] a = new double[rows][cols];
        for (double[] row : a) {
            for (int k = 0; k < cols; k++) {
                row[k] = std * rng.nextGaussian();
            }
        }
        return a;
    }

    static INDArray toFloat(double[][] a) {
        return Nd4j.createFromArray(a).castTo(DataType.FLOAT);
    }

    /** Rounds through float32 so the reference sees exactly the inputs the float code sees. */
    static double[][] roundToFloat(double[][] a) {
        double[][] out = new double[a.length][];
        for (int i = 0; i < a.length; i++) {
            out[i] = new double[a[i].length];
            for (int k = 0; k < a[i].length; k++) {
                out[i][k] = (float) a[i][k];
            }
        }
        return out;
    }

    static double[][] toDouble(INDArray a) {
        return a.castTo(DataType.DOUBLE).toDoubleMatrix();
    }

    static double maxAbs(double[][] a) {
        double m = 0;
        for (double[] row : a) {
            for (double v : row) {
                m = Math.max(m, Math.abs(v));
            }
        }
        return m;
    }

    /** Asserts max|actual − expected| ≤ rel · max|expected| (+ a tiny absolute floor), naming the worst entry. */
    static void assertClose(String what, double[][] expected, double[][] actual, double rel) {
        double scale = Math.max(maxAbs(expected), 1e-30);
        double worst = 0;
        int wi = -1;
        int wj = -1;
        for (int i = 0; i < expected.length; i++) {
            for (int j = 0; j < expected[i].length; j++) {
                double diff = Math.abs(actual[i][j] - expected[i][j]);
                if (!(diff <= worst) || Double.isNaN(actual[i][j])) {
                    worst = Double.isNaN(actual[i][j]) ? Double.POSITIVE_INFINITY : diff;
                    wi = i;
                    wj = j;
                }
            }
        }
        double fw = worst;
        int fi = wi;
        int fj = wj;
        assertTrue(worst <= rel * scale, () -> what + ": max abs diff " + fw + " at [" + fi + "][" + fj + "] exceeds "
                + rel + " x max|expected| = " + rel * scale + " (expected " + expected[fi][fj] + ", got "
                + actual[fi][fj] + ", seed " + TestSeed.BASE + ")");
    }

    static void assertClose(String what, double expected, double actual, double rel) {
        assertTrue(Math.abs(expected - actual) <= rel * Math.max(Math.abs(expected), 1e-30),
                () -> what + ": expected " + expected + ", got " + actual + " (seed " + TestSeed.BASE + ")");
    }

    static double[][] rows(double[][] a, int from, int to) {
        double[][] out = new double[to - from][];
        System.arraycopy(a, from, out, 0, to - from);
        return out;
    }

    static double[][] columns(double[][] a, int from, int to) {
        double[][] out = new double[a.length][];
        for (int i = 0; i < a.length; i++) {
            out[i] = java.util.Arrays.copyOfRange(a[i], from, to);
        }
        return out;
    }
}
