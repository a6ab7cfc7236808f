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
 * @param weightDecay L2 weight decay of the FC weights (and of the bias, as Paddle's optimizer-wide
 *     {@code L2Decay} regularises every parameter)
 * @param head cosine logits with a margin, or PLSC's plain {@code x·W + b} ({@link FcHead})
 * @param initStd standard deviation of the normal initial weights (seeded per class id); the bias starts at 0
 */
public record FcConfig(int numClasses, int embSize, MarginConfig margin, double sampleRatio,
                       ClassLayout.Kind layout, long seed, double momentum, double weightDecay, FcHead head,
                       double initStd) {

    /** The initial weights' std before PLSC's rule became the default of jobs (core tests keep it). */
    public static final double LEGACY_INIT_STD = 0.01;

    /**
     * PLSC's default std of the FC weights' normal initialiser, {@code sqrt(2 / (emb_size + num_classes))}:
     * PLSC 1.x {@code DistributedClassifier.create_parameter} ({@code stdv = math.sqrt(2.0 / (in_dim +
     * self.nclasses))}); PLSC 2.x {@code LargeScaleClassifier} uses {@code num_local} for the class count,
     * which equals num_classes on one device and would make the initial model depend on the worker count.
     */
    public static double plscInitStd(int embSize, int numClasses) {
        return Math.sqrt(2.0 / ((double) embSize + numClasses));
    }

    /** A cosine-margin FC with the legacy initialiser (what this record was before {@code head}). */
    public FcConfig(int numClasses, int embSize, MarginConfig margin, double sampleRatio, ClassLayout.Kind layout,
                    long seed, double momentum, double weightDecay) {
        this(numClasses, embSize, margin, sampleRatio, layout, seed, momentum, weightDecay, FcHead.COSINE_MARGIN,
                LEGACY_INIT_STD);
    }

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
        Objects.requireNonNull(head, "head");
        if (!(initStd > 0) || !Double.isFinite(initStd)) {
            throw new IllegalArgumentException("fc_init_std : " + initStd + " (expected: a finite value > 0)");
        }
        if (head == FcHead.LINEAR_BIAS && sampleRatio != 1.0) {
            throw new IllegalArgumentException("sample_ratio : " + sampleRatio + " with loss_type softmax (expected:"
                    + " 1.0; PLSC's plain softmax FC is never sampled, Partial FC samples margin losses only)");
        }
    }

    /** Whether the FC has a bias (PLSC's plain softmax). */
    public boolean hasBias() {
        return head == FcHead.LINEAR_BIAS;
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
        private FcHead head = FcHead.COSINE_MARGIN;
        private double initStd = LEGACY_INIT_STD;

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

        /** Sets the head (cosine margin or PLSC's plain x·W + b). */
        public Builder head(FcHead v) {
            head = v;
            return this;
        }

        /** Sets the std of the initial weights. */
        public Builder initStd(double v) {
            initStd = v;
            return this;
        }

        /** Builds and validates. */
        public FcConfig build() {
            return new FcConfig(numClasses, embSize, margin, sampleRatio, layout, seed, momentum, weightDecay, head,
                    initStd);
        }
    }
}
