package org.plsc4j.core;

import java.util.Objects;

/**
 * Configuration of one sharded, optionally sampled (Partial FC) classification layer.
 *
 * @param numClasses total number of classes C over all ranks
 * @param embSize embedding size D
 * @param margin the margin-softmax settings
 * @param sampleRatio fraction of each rank's classes used per step, in (0, 1]; 1 means full FC
 * @param layout how classes are split over ranks
 * @param seed seeds the weight initialisation (per class id) and the sampling (per step)
 * @param momentum SGD momentum μ of the FC weights
 * @param weightDecay L2 weight decay of the FC weights
 */
public record FcConfig(int numClasses, int embSize, MarginConfig margin, double sampleRatio,
                       ClassLayout.Kind layout, long seed, double momentum, double weightDecay) {

    /** Validates every field; messages name the field, the value and what was expected. */
    public FcConfig {
        Objects.requireNonNull(margin, "margin");
        Objects.requireNonNull(layout, "layout");
        if (numClasses < 1) {
            throw new IllegalArgumentException("num_classes : " + numClasses + " (expected: >= 1)");
        }
        if (embSize < 1) {
            throw new IllegalArgumentException("emb_size : " + embSize + " (expected: >= 1)");
        }
        if (!(sampleRatio > 0 && sampleRatio <= 1)) {
            throw new IllegalArgumentException("sample_ratio : " + sampleRatio + " (expected: 0 < x <= 1)");
        }
        if (!(momentum >= 0 && momentum < 1)) {
            throw new IllegalArgumentException("momentum : " + momentum + " (expected: 0 <= x < 1)");
        }
        if (!(weightDecay >= 0) || !Double.isFinite(weightDecay)) {
            throw new IllegalArgumentException("weight_decay : " + weightDecay + " (expected: a finite value >= 0)");
        }
    }

    /** A builder with PLSC's defaults: ArcFace m2 = 0.5, s = 64, sample_ratio 1, balanced layout, μ = 0.9, wd = 5e-4. */
    public static Builder builder() {
        return new Builder();
    }

    /** Builder for {@link FcConfig}. */
    public static final class Builder {
        private int numClasses = 85742;
        private int embSize = 512;
        private MarginConfig margin = MarginConfig.arcface(0.5, 64);
        private double sampleRatio = 1.0;
        private ClassLayout.Kind layout = ClassLayout.Kind.BALANCED;
        private long seed;
        private double momentum = 0.9;
        private double weightDecay = 5e-4;

        private Builder() {
        }

        /** Sets num_classes. */
        public Builder numClasses(int v) {
            numClasses = v;
            return this;
        }

        /** Sets emb_size. */
        public Builder embSize(int v) {
            embSize = v;
            return this;
        }

        /** Sets the margin. */
        public Builder margin(MarginConfig v) {
            margin = v;
            return this;
        }

        /** Sets sample_ratio. */
        public Builder sampleRatio(double v) {
            sampleRatio = v;
            return this;
        }

        /** Sets the class layout. */
        public Builder layout(ClassLayout.Kind v) {
            layout = v;
            return this;
        }

        /** Sets the seed. */
        public Builder seed(long v) {
            seed = v;
            return this;
        }

        /** Sets the momentum. */
        public Builder momentum(double v) {
            momentum = v;
            return this;
        }

        /** Sets the weight decay. */
        public Builder weightDecay(double v) {
            weightDecay = v;
            return this;
        }

        /** Builds and validates. */
        public FcConfig build() {
            return new FcConfig(numClasses, embSize, margin, sampleRatio, layout, seed, momentum, weightDecay);
        }
    }
}
