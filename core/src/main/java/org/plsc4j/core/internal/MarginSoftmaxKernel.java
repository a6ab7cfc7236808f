package org.plsc4j.core.internal;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;
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
    public static final float FLUSH_BELOW = FastExp.MIN_ARG;

    /** A chunk's probabilities are flushed to 0 where its maximum is this far (in log space) below the global one. */
    public static final double FLUSH_CHUNK = 27.6; // e^-27.6 ≈ 1e-12


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
        forwardChunk(chunkIndex, z, colStart, e, null);
    }

    /**
     * As {@link #forwardChunk(int, INDArray, int, INDArray)}, with {@code z} first multiplied in place by
     * {@code colScale[j]} per column when that is not null (the FC step passes raw dot products and
     * {@code s/‖w_j‖}, which saves a pass over the chunk).
     *
     * <p>Why Java loops instead of ND4J ops: the scaling, the margin, the row maximum, the shift, the
     * clamp, the exponential, the flush and the row sums were eight ND4J ops (on a 128×2048 chunk a
     * broadcast multiply alone measured 0.7 ms, the row maximum 0.35 ms, the exp 1.6 ms); here they are
     * one pass over each row while it is in L1 ({@link ChunkRows}, {@link FastExp}).
     */
    public void forwardChunk(int chunkIndex, INDArray z, int colStart, INDArray e, float[] colScale) {
        if (chunkIndex != chunks) {
            throw new IllegalStateException("chunk " + chunkIndex + " out of order (expected " + chunks + ")");
        }
        if (!DirectRows.fits(z) || !DirectRows.fits(e)) {
            INDArray zc = z.dup('c');
            INDArray ec = e.dup('c');
            forwardChunk(chunkIndex, zc, colStart, ec, colScale);
            z.assign(zc);
            e.assign(ec);
            return;
        }
        int width = z.columns();
        if (chunkMax.size() <= chunkIndex) {
            chunkMax.add(new float[rows]);
            chunkSum.add(new double[rows]);
        }
        float[] max = chunkMax.get(chunkIndex);
        ChunkRows.forward(DirectRows.of(z), DirectRows.of(e), rows, width, colScale, colStart, this, max,
                chunkSum.get(chunkIndex));
        chunks++;
    }

    /**
     * The margin of row {@code i}'s target when it lies in the chunk starting at {@code colStart}:
     * replaces {@code row[t]} (s·cos) by s·f(cos) and records what the backward pass needs.
     */
    void applyMargin(int i, float[] row, int width, int colStart) {
        int t = targetCol[i] - colStart;
        if (t >= 0 && t < width) {
            double cos = row[t] / (double) scale;
            double zt = scale * TargetLogit.value(cos, margin);
            targetRawCos[i] = cos;
            targetDeriv[i] = TargetLogit.derivative(cos, margin);
            targetZ[i] = (float) zt;
            row[t] = (float) zt;
        }
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
     * @param z the chunk as left by {@link #forwardChunk}
     * @param softmax when not null, receives the softmax probabilities of the chunk
     * @param colDot when not null, receives {@code Σ_i dL/dcos_ij · cos_ij} per column (what the
     *     weight-normalisation backward needs)
     */
    public void backwardChunk(int chunkIndex, INDArray z, INDArray e, int colStart, double gradScale,
                              INDArray softmax, float[] colDot) {
        backwardChunk(chunkIndex, z, e, colStart, gradScale, softmax, colDot, null);
    }

    /**
     * As {@link #backwardChunk(int, INDArray, INDArray, int, double, INDArray, float[])}, and then, when
     * {@code gradColScale} is not null, multiplies column j of the gradient left in {@code e} by
     * {@code gradColScale[j]} (the FC step's {@code 1/‖w_j‖}), after {@code colDot} was taken.
     *
     * <p>Why Java loops: the ND4J version took a broadcast, an in-place product, a column-sum
     * product and a second broadcast per chunk (each ~0.5 ms on 128×2048); this is one pass per row.
     */
    public void backwardChunk(int chunkIndex, INDArray z, INDArray e, int colStart, double gradScale,
                              INDArray softmax, float[] colDot, float[] gradColScale) {
        if (!finished) {
            throw new IllegalStateException("finish() must run before backwardChunk()");
        }
        if (!DirectRows.fits(z) || !DirectRows.fits(e) || (softmax != null && !DirectRows.fits(softmax))) {
            INDArray zc = z.dup('c');
            INDArray ec = e.dup('c');
            INDArray sc = softmax == null ? null : softmax.dup('c');
            backwardChunk(chunkIndex, zc, ec, colStart, gradScale, sc, colDot, gradColScale);
            e.assign(ec);
            if (softmax != null) {
                softmax.assign(sc);
            }
            return;
        }
        int width = e.columns();
        float[] m = chunkMax.get(chunkIndex);
        float[] factor = new float[rows];
        float[] gradFactor = new float[rows];
        // dL/dz = (p - onehot)·gradScale ; dL/dcos = s·dL/dz, times f'(cos) at the target
        double dzScale = gradScale * scale;
        for (int i = 0; i < rows; i++) {
            double gap = (double) m[i] - globalMax[i];
            factor[i] = gap < -FLUSH_CHUNK ? 0f : (float) (Math.exp(gap) / globalSum[i]);
            gradFactor[i] = (float) (factor[i] * dzScale);
        }
        ChunkRows.backward(DirectRows.of(z), DirectRows.of(e), softmax == null ? null : DirectRows.of(softmax), rows,
                width, factor, gradFactor, colStart, dzScale, this, colDot, gradColScale);
    }

    /** Row i's target column within the chunk starting at {@code colStart}, or −1. */
    int targetIn(int i, int width, int colStart) {
        int t = targetCol[i] - colStart;
        return t >= 0 && t < width ? t : -1;
    }

    /** f'(cos) at row i's target. */
    double targetDeriv(int i) {
        return targetDeriv[i];
    }

    /** What {@code colDot} must add at row i's target: z held s·f(cos) there, the dot needs the true cos. */
    double targetCosFix(int i) {
        return targetRawCos[i] - targetZ[i] / scale;
    }

    /** The scale s. */
    float scale() {
        return scale;
    }

}
