package org.plsc4j.worker;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * A backbone architecture: the part of the network before the sharded FC layer, written once and
 * built twice, as a training graph (batch statistics, dropout) and as an inference graph (running
 * statistics, no dropout) sharing the same parameter arrays. The counterpart of PLSC's
 * {@code plsc.models.base_model.BaseModel.build_network}; users plug their own models with it.
 *
 * <p>Create parameters only through {@link ModelContext#param} (and the layer helpers built on it),
 * never with {@code sd.var} directly: the context gives them seeded initial values, registers them
 * for gradients, the optimizer and checkpoints, and hands the same arrays to the inference graph.
 * Batch norm and dropout must go through {@link ModelContext#batchNorm} and
 * {@link ModelContext#dropout} for the same reason (running statistics, reproducible masks).
 */
@FunctionalInterface
public interface BaseModel {

    /**
     * Builds the network on {@code sd}.
     *
     * @param sd the graph to build on
     * @param input the image placeholder [b, channels, height, width] (NCHW)
     * @param isTrain true for the training graph, false for the inference graph; most models need
     *     not look at it because the context's batch norm and dropout already do
     * @param ctx sizes, seed and the parameter/layer helpers
     * @return the embedding [b, ctx.embSize()]
     */
    SDVariable buildNetwork(SameDiff sd, SDVariable input, boolean isTrain, ModelContext ctx);
}
