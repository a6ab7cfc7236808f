package org.plsc4j.worker;

import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.plsc4j.core.collective.Collective;
import org.plsc4j.core.collective.ReduceOp;

/**
 * Sums the backbone gradients over the ranks: one all-reduce of one flat buffer instead of one per
 * parameter (a ResNet has hundreds of small tensors; per-call latency would dominate).
 *
 * <p>Why SUM and not the mean: each rank's gradient is already its rows' share of the gradient of
 * the mean loss over the global batch (the FC layer divides by the global batch), so the sum is the
 * global-batch gradient and the loss curve does not depend on the number of workers.
 */
public final class DataParallel {

    private INDArray flat;

    /** A reducer that keeps its flat buffer between calls. */
    public DataParallel() {
    }

    /** One-off: sums {@code grads} over the ranks of {@code c}, in place. */
    public static void allReduceGradients(Map<String, INDArray> grads, Collective c) {
        new DataParallel().allReduce(grads, c);
    }

    /**
     * Copies every gradient into one direct float buffer, all-reduces it with SUM and copies the sums
     * back. All ranks must pass the same names, in the same order, with the same shapes.
     *
     * @throws IllegalArgumentException for a gradient that is not float32
     */
    public void allReduce(Map<String, INDArray> grads, Collective c) {
        if (c.worldSize() == 1) {
            return;
        }
        long total = 0;
        for (Map.Entry<String, INDArray> e : grads.entrySet()) {
            if (e.getValue().dataType() != DataType.FLOAT) {
                throw new IllegalArgumentException("gradient data type of " + e.getKey() + " : "
                        + e.getValue().dataType() + " (expected: FLOAT)");
            }
            total += e.getValue().length();
        }
        if (total == 0) {
            return;
        }
        if (total > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("gradient elements : " + total + " (expected: <= " + Integer.MAX_VALUE
                    + ")");
        }
        if (flat == null || flat.length() != total) {
            flat = Nd4j.createUninitialized(DataType.FLOAT, total);
        }
        long off = 0;
        for (INDArray g : grads.values()) {
            long n = g.length();
            flat.get(NDArrayIndex.interval(off, off + n)).assign(g.reshape(n));
            off += n;
        }
        // the INDArray variant: host memory with the CPU collectives, device buffers with NCCL
        c.allReduce(flat, ReduceOp.SUM);
        off = 0;
        for (INDArray g : grads.values()) {
            long n = g.length();
            g.assign(flat.get(NDArrayIndex.interval(off, off + n)).reshape(g.shape()));
            off += n;
        }
    }
}
