package org.plsc4j.core.internal;

import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastSubOp;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Exp;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.core.MarginConfig;
import org.plsc4j.core.TargetLogit;
import org.plsc4j.core.collective.Collective;
import org.plsc4j.core.collective.ReduceOp;

/**
 * Streams one rank's logits through a numerically stable, distributed margin softmax cross entropy,
 * chunk by chunk of columns, so that a shard of a million classes never needs more than one pass of
 * extra memory traffic.
 *
 * <p>Protocol for one batch: {@link #reset} with each row's target column on this rank (or −1), then
 * {@link #forwardChunk} over every chunk of scaled cosines {@code s·cos} (in column order, chunks may
 * be of any width), {@link #finish} once (two all-reduces: MAX of row maxima, SUM of rescaled exp
 * sums and target logits), then {@link #backwardChunk} over the same chunks to get dL/dcos.
 * The local row maximum and exp sum are kept online (rescaled when the maximum grows), the global
 * ones combine them as {@code S = Σ_r s_r·exp(m_r − M)}, so no exp ever sees a positive argument.
 */
public final class MarginSoftmaxKernel {

    private final MarginConfig margin;
    private final int rows;
    private final float scale;

    private int[] targetCol;
    private final double[] targetRawCos;
    private final double[] targetDeriv;
    private final double[] targetZ;
    private final float[] rowMax;
    private final double[] rowSum;
    private final float[] globalMax;
    private final double[] globalSum;
    private final double[] loss;
    private boolean finished;

    /** A kernel for batches of {@code rows} rows. */
    public MarginSoftmaxKernel(MarginConfig margin, int rows) {
        this.margin = margin;
        this.rows = rows;
        this.scale = (float) margin.scale();
        this.targetCol = new int[rows];
        this.targetRawCos = new double[rows];
        this.targetDeriv = new double[rows];
        this.targetZ = new double[rows];
        this.rowMax = new float[rows];
        this.rowSum = new double[rows];
        this.globalMax = new float[rows];
        this.globalSum = new double[rows];
        this.loss = new double[rows];
    }

    /** Number of rows per batch. */
    public int rows() {
        return rows;
    }

    /**
     * Starts a batch. {@code targetColumns[i]} is the local column of row i's label on this rank,
     * or −1 when another rank owns it.
     */
    public void reset(int[] targetColumns) {
        if (targetColumns.length != rows) {
            throw new IllegalArgumentException("labels : " + targetColumns.length + " rows (expected: " + rows + ")");
        }
        this.targetCol = targetColumns.clone();
        Arrays.fill(rowMax, Float.NEGATIVE_INFINITY);
        Arrays.fill(rowSum, 0.0);
        Arrays.fill(targetZ, 0.0);
        finished = false;
    }

    /**
     * Takes the chunk of columns {@code [colStart, colStart + chunk.columns())} holding {@code s·cos};
     * replaces the target entries by {@code s·f(cos)} in place and updates the row statistics.
     *
     * @param tmp scratch of the chunk's shape, overwritten
     */
    public void forwardChunk(INDArray chunk, int colStart, INDArray tmp) {
        int width = chunk.columns();
        for (int i = 0; i < rows; i++) {
            int t = targetCol[i] - colStart;
            if (t >= 0 && t < width) {
                double cos = chunk.getDouble(i, t) / scale;
                double z = scale * TargetLogit.value(cos, margin);
                targetRawCos[i] = cos;
                targetDeriv[i] = TargetLogit.derivative(cos, margin);
                targetZ[i] = (float) z;
                chunk.putScalar(i, t, (float) z);
            }
        }
        float[] chunkMax = chunk.max(1).toFloatVector();
        INDArray newMax = Nd4j.createFromArray(chunkMax);
        for (int i = 0; i < rows; i++) {
            float m = Math.max(chunkMax[i], rowMax[i]);
            chunkMax[i] = m;
            newMax.putScalar(i, m);
        }
        Nd4j.getExecutioner().exec(new BroadcastSubOp(chunk, newMax, tmp, 0));
        Nd4j.getExecutioner().exec(new Exp(tmp, tmp));
        double[] chunkSum = tmp.sum(1).toDoubleVector();
        for (int i = 0; i < rows; i++) {
            float old = rowMax[i];
            double rescale = old == Float.NEGATIVE_INFINITY ? 0.0 : Math.exp((double) old - chunkMax[i]);
            rowSum[i] = rowSum[i] * rescale + chunkSum[i];
            rowMax[i] = chunkMax[i];
        }
    }

    /**
     * Combines the row statistics over all ranks (two all-reduces) and computes each row's loss.
     *
     * @param collective the group; {@code null} means a single rank
     * @return the per-row losses (also kept for {@link #losses()})
     */
    public double[] finish(Collective collective) {
        System.arraycopy(rowMax, 0, globalMax, 0, rows);
        if (collective != null && collective.worldSize() > 1) {
            collective.allReduce(globalMax, ReduceOp.MAX);
        }
        float[] sums = new float[2 * rows];
        for (int i = 0; i < rows; i++) {
            double local = rowMax[i] == Float.NEGATIVE_INFINITY ? 0.0
                    : rowSum[i] * Math.exp((double) rowMax[i] - globalMax[i]);
            sums[i] = (float) local;
            sums[rows + i] = targetCol[i] >= 0 ? (float) targetZ[i] : 0f;
        }
        if (collective != null && collective.worldSize() > 1) {
            collective.allReduce(sums, ReduceOp.SUM);
        }
        for (int i = 0; i < rows; i++) {
            globalSum[i] = sums[i];
            loss[i] = Math.log(globalSum[i]) + globalMax[i] - sums[rows + i];
        }
        finished = true;
        return loss.clone();
    }

    /** Per-row losses of the last {@link #finish}. */
    public double[] losses() {
        return loss.clone();
    }

    /**
     * Writes dL/dcos of the chunk into {@code grad}, for the loss {@code gradScale · Σ_i loss_i}
     * (gradScale = 1/B gives the mean).
     *
     * @param chunk the chunk as left by {@link #forwardChunk} ({@code s·cos}, targets {@code s·f(cos)});
     *     destroyed when {@code colDot} is requested
     * @param softmax when not null, receives the softmax probabilities of the chunk
     * @param colDot when not null, receives {@code Σ_i dL/dcos_ij · cos_ij} per column (what the
     *     weight-normalisation backward needs)
     */
    public void backwardChunk(INDArray chunk, int colStart, INDArray grad, double gradScale,
                              INDArray softmax, float[] colDot) {
        if (!finished) {
            throw new IllegalStateException("finish() must run before backwardChunk()");
        }
        int width = chunk.columns();
        INDArray maxVec = Nd4j.createFromArray(globalMax);
        Nd4j.getExecutioner().exec(new BroadcastSubOp(chunk, maxVec, grad, 0));
        Nd4j.getExecutioner().exec(new Exp(grad, grad));
        float[] rowFactor = new float[rows];
        for (int i = 0; i < rows; i++) {
            rowFactor[i] = (float) (1.0 / globalSum[i]);
        }
        grad.muliColumnVector(Nd4j.createFromArray(rowFactor));
        if (softmax != null) {
            softmax.assign(grad);
        }
        // dL/dz = (p - onehot) * gradScale ; dL/dcos = s * dL/dz, times f'(cos) at the target
        float dzScale = (float) (gradScale * scale);
        grad.muli(dzScale);
        for (int i = 0; i < rows; i++) {
            int t = targetCol[i] - colStart;
            if (t >= 0 && t < width) {
                double g = (grad.getDouble(i, t) - dzScale) * targetDeriv[i];
                grad.putScalar(i, t, g);
            }
        }
        if (colDot != null) {
            chunk.muli(grad);
            INDArray dots = chunk.sum(0);
            float invScale = 1f / scale;
            for (int j = 0; j < width; j++) {
                colDot[j] = dots.getFloat(j) * invScale;
            }
            for (int i = 0; i < rows; i++) {
                int t = targetCol[i] - colStart;
                if (t >= 0 && t < width) {
                    // the chunk held s·f(cos) at the target; the dot needs the true cos
                    double g = grad.getDouble(i, t);
                    colDot[t] += (float) (g * (targetRawCos[i] - targetZ[i] / scale));
                }
            }
        }
    }
}
