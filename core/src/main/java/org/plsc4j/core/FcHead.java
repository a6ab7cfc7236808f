package org.plsc4j.core;

import java.util.Locale;

/**
 * What the sharded FC computes before the softmax. PLSC has two: its {@code softmax} /
 * {@code dist_softmax} loss types are a plain fully connected layer with a bias, {@code x·W + b}
 * (PLSC 1.x {@code DistributedClassifier.softmax_classify}), while {@code arcface} / {@code dist_arcface}
 * (and PLSC 2.x's {@code LargeScaleClassifier}) take the cosine of the L2-normalised feature and
 * weight column, scaled by {@code s} after the margin.
 */
public enum FcHead {

    /** {@code s·f(cos θ)} with the margin f at the target: arcface, cosface, combined and cosine_softmax. */
    COSINE_MARGIN,

    /**
     * {@code x·W + b}: no normalisation, no scale, no margin, a per-class bias sharded with the weight
     * rows and updated by the same momentum SGD (PLSC's softmax / dist_softmax).
     */
    LINEAR_BIAS;

    /** The YAML/JSON spelling. */
    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }
}
