package org.plsc4j.worker.internal;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Inverted-dropout masks drawn in Java from a seed, for every engine ({@link SameDiffBackbone}, {@link NativeResNetBackbone})
 * (the i-th dropout of a forward with dropout seed s uses {@code mix(mix(configSeed, s), i)}), so
 * that every engine produces the same masks and a run is reproducible and world-size invariant.
 */
final class DropoutMasks {

    private DropoutMasks() {
    }

    /** The seed of dropout number {@code index} of a training forward with {@code dropoutSeed}. */
    static long seed(long configSeed, long dropoutSeed, int index) {
        return Seeds.mix(Seeds.mix(configSeed, dropoutSeed), index);
    }

    /** Mask [b, perSample...]: 0 with probability p, else 1/(1 − p). */
    static INDArray mask(long b, long[] perSample, double p, long seed, DataType type) {
        long[] shape = new long[perSample.length + 1];
        shape[0] = b;
        System.arraycopy(perSample, 0, shape, 1, perSample.length);
        long n = Arrays.stream(shape).reduce(1, (u, v) -> u * v);
        if (n > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("dropout mask size : " + n + " (expected: <= " + Integer.MAX_VALUE + ")");
        }
        SplittableRandom rng = new SplittableRandom(seed);
        double keep = 1.0 / (1.0 - p);
        double[] m = new double[(int) n];
        for (int i = 0; i < m.length; i++) {
            m[i] = rng.nextDouble() < p ? 0.0 : keep;
        }
        return Nd4j.create(m, shape, 'c').castTo(type);
    }
}
