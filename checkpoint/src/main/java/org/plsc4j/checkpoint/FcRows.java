package org.plsc4j.checkpoint;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * FC rows of a class range read from a checkpoint: row j of both arrays is class {@code classStart + j}.
 *
 * <p>Why one record: a rank warm-starting needs the weights and the momentum of the same classes
 * together (e.g. for {@code PartialFc.load}); when memory is tight, read them one at a time with
 * {@link Checkpoint#readFcWeights} and {@link Checkpoint#readFcMomentum}.
 *
 * @param classStart first class id
 * @param weights [classEnd − classStart, D] float32
 * @param momentum same shape
 */
public record FcRows(int classStart, INDArray weights, INDArray momentum) {
}
