package org.plsc4j.core;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.core.collective.Collective;
import org.plsc4j.core.internal.MarginSoftmaxKernel;

/**
 * The equivalent of Paddle's {@code margin_cross_entropy(logits, label, margin1, margin2, margin3,
 * scale, group, return_softmax, reduction)}: the input logits are cosines, the target logit becomes
 * {@code s·(cos(m1·θ + m2) − m3)} and the others {@code s·cos θ}. With a {@link Collective} of N
 * ranks the logits are this rank's columns of the {@link ClassLayout} (the {@code dist_*} loss
 * types): the softmax is distributed (all-reduce MAX of row maxima, SUM of exp sums) and the target
 * term comes from the rank owning the label.
 *
 * <p>The fused training path ({@link PartialFc}) runs the same kernel chunk by chunk; this class is
 * the plain, whole-matrix entry point.
 */
public final class MarginCrossEntropy {

    /** How per-sample losses are combined (Paddle's {@code reduction}). */
    public enum Reduction {
        /** Mean over the (global) batch; the gradient is that of the mean. */
        MEAN,
        /** Sum over the batch; the gradient is that of the sum. */
        SUM,
        /** No reduction: {@link Result#loss()} is the mean for logging; the gradient is that of the sum, as with an upstream gradient of ones. */
        NONE
    }

    /**
     * The loss and its gradient.
     *
     * @param loss the reduced loss (the mean for {@link Reduction#NONE})
     * @param perSampleLoss the loss of every row of the batch
     * @param gradLogits dL/dlogits, the shape of the input logits
     * @param softmax the softmax of this rank's columns, or null unless requested
     */
    public record Result(double loss, double[] perSampleLoss, INDArray gradLogits, INDArray softmax) {
    }

    private MarginCrossEntropy() {
    }

    /** Single-device margin cross entropy over all {@code logits.columns()} classes. */
    public static Result compute(INDArray logits, int[] labels, MarginConfig margin, boolean returnSoftmax,
                                 Reduction reduction) {
        return compute(logits, labels, margin, ClassLayout.balanced(logits.columns(), 1), null, returnSoftmax,
                reduction);
    }

    /**
     * Distributed margin cross entropy: {@code logits} [B, C_r] are the cosines of this rank's classes
     * under {@code layout}, {@code labels} [B] the global class ids (the same on every rank).
     *
     * @param collective the group, {@code null} for a single rank
     * @throws IllegalArgumentException naming the offending value for a label out of range, a logits
     *     width that does not match the layout, or a batch size that does not match the labels
     */
    public static Result compute(INDArray logits, int[] labels, MarginConfig margin, ClassLayout layout,
                                 Collective collective, boolean returnSoftmax, Reduction reduction) {
        int rank = collective == null ? 0 : collective.rank();
        int world = collective == null ? 1 : collective.worldSize();
        if (layout.worldSize() != world) {
            throw new IllegalArgumentException("layout world_size : " + layout.worldSize()
                    + " (expected: the group's world size " + world + ")");
        }
        if (logits.rank() != 2 || logits.columns() != layout.size(rank)) {
            throw new IllegalArgumentException("logits shape : " + Arrays.toString(logits.shape())
                    + " (expected: [batch, " + layout.size(rank) + "] for rank " + rank + " of " + layout + ")");
        }
        if (logits.rows() != labels.length) {
            throw new IllegalArgumentException("labels : " + labels.length + " (expected: one per logits row = "
                    + logits.rows() + ")");
        }
        int start = layout.start(rank);
        int end = layout.end(rank);
        int[] targetCols = new int[labels.length];
        for (int i = 0; i < labels.length; i++) {
            int y = labels[i];
            if (y < 0 || y >= layout.numClasses()) {
                throw new IllegalArgumentException("label : " + y + " at row " + i
                        + " (expected: 0 <= label < num_classes = " + layout.numClasses() + ")");
            }
            targetCols[i] = y >= start && y < end ? y - start : -1;
        }
        int batch = labels.length;
        INDArray z = logits.castTo(DataType.FLOAT).mul(margin.scale());
        INDArray grad = Nd4j.createUninitialized(DataType.FLOAT, z.rows(), z.columns());
        INDArray softmax = returnSoftmax ? Nd4j.createUninitialized(DataType.FLOAT, z.rows(), z.columns()) : null;
        MarginSoftmaxKernel kernel = new MarginSoftmaxKernel(margin, batch);
        kernel.reset(targetCols);
        kernel.forwardChunk(0, z, 0, grad);
        double[] losses = kernel.finish(collective);
        double gradScale = reduction == Reduction.MEAN ? 1.0 / batch : 1.0;
        kernel.backwardChunk(0, z, grad, 0, gradScale, softmax, null);
        double sum = 0;
        for (double l : losses) {
            sum += l;
        }
        double reduced = reduction == Reduction.SUM ? sum : sum / batch;
        return new Result(reduced, losses, grad, softmax);
    }
}
