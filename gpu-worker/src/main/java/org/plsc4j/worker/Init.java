package org.plsc4j.worker;

import java.util.SplittableRandom;

/**
 * How a parameter's initial values are drawn. Initial values are a function of (seed, parameter
 * name) only, so every rank of a data-parallel job starts from the same model without a broadcast,
 * and adding a layer does not change the initial values of the others.
 */
@FunctionalInterface
public interface Init {

    /** The value of one element; called in row-major order with a generator seeded for this parameter. */
    double sample(SplittableRandom rng);

    /** Every element {@code value} (BN γ = 1, β = 0, PReLU α = 0.25, biases 0). */
    static Init constant(double value) {
        if (!Double.isFinite(value)) {
            throw new IllegalArgumentException("init value : " + value + " (expected: finite)");
        }
        return rng -> value;
    }

    /** N(0, std²). */
    static Init normal(double std) {
        if (!(std >= 0) || !Double.isFinite(std)) {
            throw new IllegalArgumentException("init std : " + std + " (expected: finite, >= 0)");
        }
        return rng -> std * rng.nextGaussian();
    }

    /**
     * Paddle's {@code XavierNormal(fan_in, fan_out)}: N(0, 2 / (fan_in + fan_out)). PLSC's ResNet passes
     * {@code fan_in=0.0}, which makes it N(0, 2 / fan_out) with fan_out = out_channels·k·k for a
     * convolution and the output width for an FC layer.
     */
    static Init xavierNormal(double fanIn, double fanOut) {
        if (!(fanIn >= 0) || !(fanOut >= 0) || !(fanIn + fanOut > 0)) {
            throw new IllegalArgumentException("xavier fans : fan_in " + fanIn + ", fan_out " + fanOut
                    + " (expected: both >= 0, sum > 0)");
        }
        return normal(Math.sqrt(2.0 / (fanIn + fanOut)));
    }
}
