package org.plsc4j.worker;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * What a {@link BaseModel} gets while it builds: the sizes it must respect and the only sanctioned
 * way to create parameters, batch norm and dropout, so that the backbone runtime can find, seed,
 * share, save and update them. The layer helpers follow PLSC's ResNet conventions (Paddle
 * initialisers, ε = 2e-5, BN momentum 0.9, dropout "upscale_in_train").
 *
 * <p>Batch norm is written out as {@code (x − mean)/sqrt(var + ε)·γ + β} (SameDiff 1.0.0-M2.1's
 * built-in batch norm fails in backprop): batch statistics in the training graph, running
 * statistics in the inference graph. The running statistics are updated in Java after every
 * training forward, {@code running ← momentum·running + (1 − momentum)·batch}, with the biased
 * batch variance as Paddle does.
 */
public interface ModelContext {

    /** PLSC's batch-norm epsilon. */
    double BN_EPSILON = 2e-5;

    /** Paddle's default batch-norm momentum. */
    double BN_MOMENTUM = 0.9;

    /** The backbone configuration (sizes, seed, data type). */
    BackboneConfig config();

    /** The graph being built. */
    SameDiff sd();

    /** True while building the training graph. */
    boolean isTrain();

    /** Embedding size D. */
    default int embSize() {
        return config().embSize();
    }

    /** The parameters' data type. */
    default DataType dataType() {
        return config().dataType();
    }

    /**
     * A trainable parameter. On the training graph it is created with values from {@code init}
     * (seeded by the config seed and {@code name}); on the inference graph the same array is reused.
     *
     * @throws IllegalArgumentException if {@code name} is already used or the shape is not positive
     */
    SDVariable param(String name, Init init, long... shape);

    /** Batch norm over (batch, height, width) per channel of an NCHW tensor, PLSC's ε and momentum. */
    default SDVariable batchNorm2d(String name, SDVariable x, int channels) {
        return batchNorm(name, x, 4, channels, BN_EPSILON, BN_MOMENTUM);
    }

    /** Batch norm over the batch per feature of a [b, features] tensor, PLSC's ε and momentum. */
    default SDVariable batchNorm1d(String name, SDVariable x, int features) {
        return batchNorm(name, x, 2, features, BN_EPSILON, BN_MOMENTUM);
    }

    /**
     * Batch norm with parameters {@code name.gamma}, {@code name.beta} and state
     * {@code name.running_mean}, {@code name.running_var}.
     *
     * @param rank 4 for NCHW tensors (statistics per channel), 2 for [b, features]
     */
    SDVariable batchNorm(String name, SDVariable x, int rank, int channels, double epsilon, double momentum);

    /**
     * Inverted dropout (Paddle's "upscale_in_train"): in training {@code x·mask} with mask entries
     * 0 or 1/(1 − p), drawn in Java from a seeded generator and fed as a placeholder (so the backward
     * pass sees exactly the forward's mask); identity in the inference graph.
     */
    SDVariable dropout(String name, SDVariable x, double p);

    /**
     * A bias-free NCHW convolution with square kernel, weights {@code name.w} [k, k, in, out] drawn from
     * PLSC's {@code XavierNormal(fan_in=0)}, i.e. N(0, 2/(out·k·k)).
     */
    SDVariable conv2d(String name, SDVariable x, int inChannels, int outChannels, int kernel, int stride,
                      int padding);

    /** {@code x·W (+ b)}: W {@code name.w} [in, out] from N(0, 2/out) as PLSC's FC, b {@code name.b} zeros. */
    SDVariable dense(String name, SDVariable x, int in, int out, boolean bias);

    /** Paddle's PReLU with mode "all": one slope {@code name.alpha} (initially 0.25) for every element. */
    SDVariable prelu(String name, SDVariable x);
}
