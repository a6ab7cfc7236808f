package org.plsc4j.worker.internal;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One written-out batch norm of the training graph: where its batch statistics come out and the
 * running statistics they are folded into.
 *
 * @param name the layer name
 * @param batchMean the graph output holding the batch mean [C]
 * @param batchVar the graph output holding the biased batch variance [C]
 * @param runningMean running mean [C] (state, shared with the inference graph)
 * @param runningVar running variance [C] (state, shared with the inference graph)
 * @param momentum running ← momentum·running + (1 − momentum)·batch
 */
public record BatchNormSlot(String name, String batchMean, String batchVar, INDArray runningMean,
                            INDArray runningVar, double momentum) {

    /** Folds one batch's statistics into the running statistics, in place. */
    public void update(INDArray mean, INDArray var) {
        runningMean.muli(momentum).addi(mean.reshape(runningMean.shape()).mul(1 - momentum));
        runningVar.muli(momentum).addi(var.reshape(runningVar.shape()).mul(1 - momentum));
    }
}
