package org.plsc4j.core;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.plsc4j.core.collective.Collective;

/**
 * One rank's shard of a (Partial) FC layer with margin softmax, trained with SGD momentum.
 * API skeleton: the implementation follows.
 */
public final class PartialFc {

    /** What one training step produced on this rank. */
    public record StepResult(double loss, INDArray featureGrad, int sampledClasses) {
    }

    private PartialFc() {
    }

    /** Creates rank {@code collective.rank()}'s shard with weights initialised per class id from the seed. */
    public static PartialFc create(FcConfig config, Collective collective) {
        throw new UnsupportedOperationException("not yet implemented");
    }

    /**
     * One step: all-gathers the local features [b, D] and labels [b], samples class centers,
     * computes the margin-softmax loss (mean over the global batch), updates the sampled weight
     * rows and their momentum with learning rate {@code lr}, and returns dL/d(local features).
     */
    public StepResult step(INDArray localFeatures, int[] localLabels, double lr, long step) {
        throw new UnsupportedOperationException("not yet implemented");
    }
}
