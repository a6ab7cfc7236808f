package org.plsc4j.worker;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.core.TestSeed;

/** Seeded test tensors and comparisons against float64 references. */
final class Tensors {

    private Tensors() {
    }

    /** N(0, std²) entries of the given shape and type, from {@code rng}. */
    static INDArray gaussian(SplittableRandom rng, DataType type, double std, long... shape) {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        double[] v = new double[(int) n];
        for (int i = 0; i < v.length; i++) {
            v[i] = std * rng.nextGaussian();
        }
        return Nd4j.create(v, shape, 'c').castTo(type);
    }

    /** The entries in row-major order as doubles. */
    static double[] flat(INDArray a) {
        return a.castTo(DataType.DOUBLE).dup('c').reshape(a.length()).toDoubleVector();
    }

    /** Asserts max|actual − expected| ≤ rel · max|expected| + abs, naming the worst entry and the seed. */
    static void assertClose(String what, double[] expected, double[] actual, double rel, double abs) {
        assertTrue(expected.length == actual.length, () -> what + ": length " + actual.length + " (expected "
                + expected.length + ")");
        double scale = 0;
        for (double v : expected) {
            scale = Math.max(scale, Math.abs(v));
        }
        double worst = -1;
        int at = -1;
        for (int i = 0; i < expected.length; i++) {
            double d = Math.abs(actual[i] - expected[i]);
            if (Double.isNaN(d)) {
                d = Double.POSITIVE_INFINITY;
            }
            if (d > worst) {
                worst = d;
                at = i;
            }
        }
        double tol = rel * scale + abs;
        double fw = worst;
        int fa = at;
        assertTrue(worst <= tol, () -> what + ": max abs diff " + fw + " at " + fa + " exceeds " + tol + " (expected "
                + expected[fa] + ", got " + actual[fa] + ", seed " + TestSeed.BASE + ")");
    }

    static void assertClose(String what, INDArray expected, INDArray actual, double rel, double abs) {
        assertTrue(java.util.Arrays.equals(expected.shape(), actual.shape()), () -> what + ": shape "
                + java.util.Arrays.toString(actual.shape()) + " (expected " + java.util.Arrays.toString(expected.shape())
                + ")");
        assertClose(what, flat(expected), flat(actual), rel, abs);
    }
}
