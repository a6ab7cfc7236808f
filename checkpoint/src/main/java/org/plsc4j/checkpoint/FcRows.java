package org.plsc4j.checkpoint;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * FC rows of a class range read from a checkpoint: row j of both arrays is class {@code classStart + j}.
 *
 * @param classStart first class id
 * @param weights [classEnd − classStart, D] float32
 * @param momentum same shape
 */
public record FcRows(int classStart, INDArray weights, INDArray momentum) {
}
