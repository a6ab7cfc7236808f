package org.plsc4j.core.internal;

import java.nio.FloatBuffer;
import java.util.stream.IntStream;

/**
 * The elementwise passes of {@link MarginSoftmaxKernel} over one chunk of logits, row by row: each
 * row is copied from native memory into a heap array with one bulk copy, worked on by simple loops
 * that C2 vectorises, and copied back.
 *
 * <p>Why hand-written: on a 128×2048 chunk ND4J M2.1 took ~0.7 ms per broadcast multiply and
 * ~0.35 ms per row maximum, and the forward and backward passes needed ten such ops per chunk
 * (several milliseconds per chunk, seconds per step at 1M classes). Rows are independent, so the
 * two halves of a chunk run on two threads of the common pool (the OpenMP threads are idle then).
 */
final class ChunkRows {

    /** Below this many elements per chunk one thread does it all (forking costs more than it saves). */
    private static final int PARALLEL_MIN = 1 << 15;

    private ChunkRows() {
    }

    private static int parts(int rows, int width) {
        return (long) rows * width >= PARALLEL_MIN && rows >= 2 ? 2 : 1;
    }

    /**
     * z ← z·colScale (when not null), the target margin, m_i = max_j z_ij,
     * e ← exp(max(z − m, −FLUSH_BELOW)) − floor and sum_i = Σ_j e_ij.
     */
    static void forward(FloatBuffer z, FloatBuffer e, int rows, int width, float[] colScale, int colStart,
                        MarginSoftmaxKernel k, float[] max, double[] sum) {
        int parts = parts(rows, width);
        IntStream.range(0, parts).parallel().forEach(p -> forwardRows(z, e, p * rows / parts, (p + 1) * rows / parts,
                width, colScale, colStart, k, max, sum));
    }

    private static void forwardRows(FloatBuffer z, FloatBuffer e, int from, int to, int width, float[] colScale,
                                    int colStart, MarginSoftmaxKernel k, float[] max, double[] sum) {
        float[] row = new float[width];
        float[] out = new float[width];
        float[] tmp = new float[width];
        for (int i = from; i < to; i++) {
            int off = i * width;
            z.get(off, row, 0, width);
            if (colScale != null) {
                for (int j = 0; j < width; j++) {
                    row[j] *= colScale[j];
                }
            }
            k.applyMargin(i, row, width, colStart);
            float m = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < width; j++) {
                m = Math.max(m, row[j]);
            }
            sum[i] = FastExp.rowFlushed(row, m, out, tmp, width);
            max[i] = m;
            z.put(off, row, 0, width);
            e.put(off, out, 0, width);
        }
    }

    /**
     * e ← e·gradFactor_i, minus dzScale and times f' at the target; softmax (when not null)
     * ← e·factor_i; colDot_j (when not null) ← Σ_i e_ij·cos_ij; then e ← e·gradColScale.
     */
    static void backward(FloatBuffer z, FloatBuffer e, FloatBuffer softmax, int rows, int width, float[] factor,
                         float[] gradFactor, int colStart, double dzScale, MarginSoftmaxKernel k, float[] colDot,
                         float[] gradColScale) {
        int parts = parts(rows, width);
        float[][] dots = new float[parts][];
        float[] targetGrad = new float[rows];
        IntStream.range(0, parts).parallel().forEach(p -> dots[p] = backwardRows(z, e, softmax,
                p * rows / parts, (p + 1) * rows / parts, width, factor, gradFactor, colStart, dzScale, k,
                colDot != null, gradColScale, targetGrad));
        if (colDot != null) {
            float invScale = 1f / k.scale();
            float[] d0 = dots[0];
            for (int j = 0; j < width; j++) {
                float sum = d0[j];
                for (int p = 1; p < parts; p++) {
                    sum += dots[p][j];
                }
                colDot[j] = sum * invScale;
            }
            // z held s·f(cos) at the target; the dot needs the true cos
            for (int i = 0; i < rows; i++) {
                int t = k.targetIn(i, width, colStart);
                if (t >= 0) {
                    colDot[t] += (float) (targetGrad[i] * k.targetCosFix(i));
                }
            }
        }
    }

    /**
     * Rows [from, to); returns the partial column dots (null when not wanted) and leaves each target's
     * dL/dcos (before gradColScale) in {@code targetGrad}.
     */
    private static float[] backwardRows(FloatBuffer z, FloatBuffer e, FloatBuffer softmax, int from, int to,
                                        int width, float[] factor, float[] gradFactor, int colStart, double dzScale,
                                        MarginSoftmaxKernel k, boolean wantDots, float[] gradColScale,
                                        float[] targetGrad) {
        float[] row = new float[width];
        float[] cos = wantDots ? new float[width] : null;
        float[] dots = wantDots ? new float[width] : null;
        float[] sm = softmax == null ? null : new float[width];
        for (int i = from; i < to; i++) {
            int off = i * width;
            e.get(off, row, 0, width);
            if (sm != null) {
                float f = factor[i];
                for (int j = 0; j < width; j++) {
                    sm[j] = row[j] * f;
                }
                softmax.put(off, sm, 0, width);
            }
            float g = gradFactor[i];
            for (int j = 0; j < width; j++) {
                row[j] *= g;
            }
            int t = k.targetIn(i, width, colStart);
            if (t >= 0) {
                row[t] = (float) ((row[t] - dzScale) * k.targetDeriv(i));
                targetGrad[i] = row[t];
            }
            if (wantDots) {
                z.get(off, cos, 0, width);
                for (int j = 0; j < width; j++) {
                    dots[j] += row[j] * cos[j];
                }
            }
            if (gradColScale != null) {
                for (int j = 0; j < width; j++) {
                    row[j] *= gradColScale[j];
                }
            }
            e.put(off, row, 0, width);
        }
        return dots;
    }
}
