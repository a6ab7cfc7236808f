package org.plsc4j.core.internal;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.scalar.ScalarMax;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Exp;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.core.MarginConfig;
import org.plsc4j.core.TargetLogit;
import org.plsc4j.core.collective.Collective;
import org.plsc4j.core.collective.ReduceOp;

/**
 * Streams one rank's logits through a numerically stable, distributed margin softmax cross entropy,
 * chunk by chunk of columns, so that a shard of a million classes is processed in pieces that stay
 * in cache.
 *
 * <p>Protocol for one batch: {@link #reset} with each row's target column on this rank (or −1), then
 * {@link #forwardChunk} over every chunk of scaled cosines {@code s·cos} (chunk c covering columns
 * [colStart, colStart + width)), {@link #finish} once (two all-reduces: MAX of row maxima, SUM of
 * rescaled exp sums and target logits), then {@link #backwardChunk} over the same chunks to get
 * dL/dcos. Each chunk keeps its own row maximum m_c and exp sum; the rank combines them as
 * {@code S_r = Σ_c s_c·exp(m_c − M_r)} and the group as {@code S = Σ_r S_r·exp(M_r − M)}, so no exp
 * ever sees a positive argument. The exponentials of the forward pass are kept by the caller and
 * rescaled in the backward pass ({@code p = e_c·exp(m_c − M)/S}): one exp per logit, not two.
 *
 * <p>Denormals: once a model trains, most logits sit far below the row maximum and their
 * exponentials would be denormal floats, which are 10–100× slower in every later operation (the
 * step time of a converged toy run tripled). So {@code exp(z − m_c)} is taken as 0 below
 * {@code e^−}{@value #FLUSH_BELOW} (a probability under 1e-13 of the row maximum's; over a million
 * classes that changes the exp sum by at most 1e-7 relative, float32 rounding), and a chunk whose
 * maximum is more than {@code e^}{@value #FLUSH_CHUNK} below the global one contributes no gradient.
 */
public final class MarginSoftmaxKernel {

    /** exp(z − m) is flushed to 0 where z − m is below minus this. */
    public static final float FLUSH_BELOW = 30f;

    /** A chunk's probabilities are flushed to 0 where its maximum is this far (in log space) below the global one. */
    public static final double FLUSH_CHUNK = 27.6; // e^-27.6 ≈ 1e-12

    /** exp(−FLUSH_BELOW) as ND4J's exp computes it, so subtracting it gives exact zeros. */
    private static final float EXP_FLOOR = expFloor();

    private final MarginConfig margin;
    private final int rows;
    private final float scale;

    private int[] targetCol;
    private final double[] targetRawCos;
    private final double[] targetDeriv;
    private final double[] targetZ;
    private final List<float[]> chunkMax = new ArrayList<>();
    private final List<double[]> chunkSum = new ArrayList<>();
    private final float[] globalMax;
    private final double[] globalSum;
    private final double[] loss;
    private int chunks;
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
        this.globalMax = new float[rows];
        this.globalSum = new double[rows];
        this.loss = new double[rows];
    }

    private static float expFloor() {
        INDArray x = Nd4j.createFromArray(-FLUSH_BELOW, -FLUSH_BELOW);
        Nd4j.getExecutioner().exec(new Exp(x, x));
        return x.getFloat(0);
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
        Arrays.fill(targetZ, 0.0);
        chunks = 0;
        finished = false;
    }

    /**
     * Takes chunk number {@code chunkIndex} (0, 1, ... in order) covering the columns
     * {@code [colStart, colStart + z.columns())} and holding {@code s·cos}: replaces the target entries
     * by {@code s·f(cos)} in place and writes {@code exp(z − m_c)} (m_c the chunk's row maximum) into
     * {@code e}, which the caller keeps for {@link #backwardChunk}.
     */
    public void forwardChunk(int chunkIndex, INDArray z, int colStart, INDArray e) {
        if (chunkIndex != chunks) {
            throw new IllegalStateException("chunk " + chunkIndex + " out of order (expected " + chunks + ")");
        }
        int width = z.columns();
        for (int i = 0; i < rows; i++) {
            int t = targetCol[i] - colStart;
            if (t >= 0 && t < width) {
                double cos = z.getDouble(i, t) / scale;
                double zt = scale * TargetLogit.value(cos, margin);
                targetRawCos[i] = cos;
                targetDeriv[i] = TargetLogit.derivative(cos, margin);
                targetZ[i] = (float) zt;
                z.putScalar(i, t, (float) zt);
            }
        }
        INDArray max = z.max(1);
        // assign + in-place subtract is ~10x faster than an out-of-place BroadcastSubOp in ND4J M2.1
        e.assign(z);
        e.subiColumnVector(max);
        Nd4j.getExecutioner().exec(new ScalarMax(e, -FLUSH_BELOW));
        Nd4j.getExecutioner().exec(new Exp(e, e));
        e.subi(EXP_FLOOR);
        float[] sum = Dense.rowSums(e);
        if (chunkMax.size() <= chunkIndex) {
            chunkMax.add(new float[rows]);
            chunkSum.add(new double[rows]);
        }
        System.arraycopy(max.toFloatVector(), 0, chunkMax.get(chunkIndex), 0, rows);
        double[] dst = chunkSum.get(chunkIndex);
        for (int i = 0; i < rows; i++) {
            dst[i] = sum[i];
        }
        chunks++;
    }

    /**
     * Combines the row statistics over chunks and ranks (two all-reduces) and computes each row's loss.
     *
     * @param collective the group; {@code null} means a single rank
     * @return the per-row losses
     */
    public double[] finish(Collective collective) {
        float[] localMax = new float[rows];
        Arrays.fill(localMax, Float.NEGATIVE_INFINITY);
        for (int c = 0; c < chunks; c++) {
            float[] m = chunkMax.get(c);
            for (int i = 0; i < rows; i++) {
                localMax[i] = Math.max(localMax[i], m[i]);
            }
        }
        System.arraycopy(localMax, 0, globalMax, 0, rows);
        if (collective != null && collective.worldSize() > 1) {
            collective.allReduce(globalMax, ReduceOp.MAX);
        }
        // exp sums travel as float hi + lo pairs so the all-reduce keeps double precision: a confident
        // row has S = 1 + 1e-4 and its loss log(S) would otherwise keep only three digits
        float[] sums = new float[3 * rows];
        for (int i = 0; i < rows; i++) {
            double local = 0;
            for (int c = 0; c < chunks; c++) {
                local += chunkSum.get(c)[i] * Math.exp((double) chunkMax.get(c)[i] - globalMax[i]);
            }
            float hi = (float) local;
            sums[i] = hi;
            sums[rows + i] = (float) (local - hi);
            sums[2 * rows + i] = targetCol[i] >= 0 ? (float) targetZ[i] : 0f;
        }
        if (collective != null && collective.worldSize() > 1) {
            collective.allReduce(sums, ReduceOp.SUM);
        }
        for (int i = 0; i < rows; i++) {
            globalSum[i] = (double) sums[i] + sums[rows + i];
            loss[i] = Math.log(globalSum[i]) + globalMax[i] - sums[2 * rows + i];
        }
        finished = true;
        return loss.clone();
    }

    /**
     * Turns chunk {@code chunkIndex}'s exponentials {@code e} into dL/dcos, in place, for the loss
     * {@code gradScale · Σ_i loss_i} (gradScale = 1/B gives the mean).
     *
     * @param z the chunk as left by {@link #forwardChunk}; destroyed when {@code colDot} is requested
     * @param softmax when not null, receives the softmax probabilities of the chunk
     * @param colDot when not null, receives {@code Σ_i dL/dcos_ij · cos_ij} per column (what the
     *     weight-normalisation backward needs)
     */
    public void backwardChunk(int chunkIndex, INDArray z, INDArray e, int colStart, double gradScale,
                              INDArray softmax, float[] colDot) {
        if (!finished) {
            throw new IllegalStateException("finish() must run before backwardChunk()");
        }
        int width = e.columns();
        float[] m = chunkMax.get(chunkIndex);
        float[] factor = new float[rows];
        for (int i = 0; i < rows; i++) {
            double gap = (double) m[i] - globalMax[i];
            factor[i] = gap < -FLUSH_CHUNK ? 0f : (float) (Math.exp(gap) / globalSum[i]);
        }
        if (softmax != null) {
            softmax.assign(e).muliColumnVector(Nd4j.createFromArray(factor));
        }
        // dL/dz = (p - onehot)·gradScale ; dL/dcos = s·dL/dz, times f'(cos) at the target
        double dzScale = gradScale * scale;
        for (int i = 0; i < rows; i++) {
            factor[i] = (float) (factor[i] * dzScale);
        }
        e.muliColumnVector(Nd4j.createFromArray(factor));
        for (int i = 0; i < rows; i++) {
            int t = targetCol[i] - colStart;
            if (t >= 0 && t < width) {
                e.putScalar(i, t, (e.getDouble(i, t) - dzScale) * targetDeriv[i]);
            }
        }
        if (colDot != null) {
            z.muli(e);
            float[] dots = Dense.columnSums(z);
            float invScale = 1f / scale;
            for (int j = 0; j < width; j++) {
                colDot[j] = dots[j] * invScale;
            }
            for (int i = 0; i < rows; i++) {
                int t = targetCol[i] - colStart;
                if (t >= 0 && t < width) {
                    // z held s·f(cos) at the target; the dot needs the true cos
                    colDot[t] += (float) (e.getDouble(i, t) * (targetRawCos[i] - targetZ[i] / scale));
                }
            }
        }
    }
}
