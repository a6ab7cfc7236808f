package org.plsc4j.core.internal;

import java.nio.FloatBuffer;
import java.util.stream.IntStream;
import org.bytedeco.javacpp.FloatPointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The per-class tail of the FC update in one pass over a chunk of weight and momentum rows:
 * {@code v_j ← μ·v_j + g_j + coef_j·w_j; w_j −= lr·v_j; norm_j = ‖w_j‖}.
 *
 * <p>Why hand-written: ND4J M2.1 has no row-scaled axpy; composing it from assign, a broadcast, an
 * add, an axpy and a norm takes five passes and measured 3.9 ns per element on 2048×512 chunks,
 * a loop indexing the direct buffers element by element 1.4 ns (two threads, same chunk, same run).
 * C2 does not vectorise loops over direct buffers, so each row is now copied into two small heap
 * arrays (one bulk copy each way), updated by loops C2 vectorises, and copied back: on 2048×512
 * chunks in the same JVM (200k classes, loaded machine) the update took 2.2 ms per chunk instead
 * of 3.1. It reads each row once, while W is still in cache from the dX̂ product and the gradient
 * scratch from its gemm.
 */
public final class MomentumUpdate {

    private MomentumUpdate() {
    }

    /**
     * Applies the update to the row-major [k, D] matrices {@code w} and {@code v} (contiguous rows,
     * views allowed) and writes the new row norms into {@code norms[0..k)}.
     */
    public static void apply(INDArray w, INDArray v, float[] coef, float lr, float[] norms) {
        apply(w, v, null, 1f, coef, lr, norms);
    }

    /**
     * As {@link #apply(INDArray, INDArray, float[], float, float[])} with the momentum step folded in:
     * {@code v_j ← mu·v_j + grad_j + coef_j·w_j; w_j −= lr·v_j} ({@code grad} [k, D] row-major, or null
     * for none, then mu must be 1).
     *
     * <p>Why: with {@code v ← mu·v + G} inside the gemm (its beta), OpenBLAS first scales the whole
     * momentum chunk by beta in a separate pass and then reads and writes it again, and this update reads
     * and writes it a third time; a [k, D] gradient scratch written with beta = 0 stays in cache.
     */
    public static void apply(INDArray w, INDArray v, INDArray grad, float mu, float[] coef, float lr, float[] norms) {
        if (w.dataType() != DataType.FLOAT || v.dataType() != DataType.FLOAT
                || w.rows() != v.rows() || w.columns() != v.columns()
                || w.stride(0) != w.columns() || v.stride(0) != v.columns() || w.stride(1) != 1 || v.stride(1) != 1
                || (grad != null && (grad.rows() != w.rows() || grad.columns() != w.columns() || !DirectRows.fits(grad)))) {
            throw new IllegalArgumentException("MomentumUpdate needs row-major FLOAT matrices of one shape, got "
                    + w.shapeInfoToString() + " and " + v.shapeInfoToString()
                    + (grad == null ? "" : " and " + grad.shapeInfoToString()));
        }
        int k = w.rows();
        int d = w.columns();
        FloatBuffer wb = buffer(w);
        FloatBuffer vb = buffer(v);
        FloatBuffer gb = grad == null ? null : DirectRows.of(grad);
        int parts = k >= 256 ? 2 : 1;
        IntStream.range(0, parts).parallel().forEach(p ->
                rows(wb, vb, gb, mu, p * k / parts, (p + 1) * k / parts, d, coef, lr, norms));
    }

    private static void rows(FloatBuffer w, FloatBuffer v, FloatBuffer grad, float mu, int from, int to, int d,
                             float[] coef, float lr, float[] norms) {
        float[] wr = new float[d];
        float[] vr = new float[d];
        float[] gr = new float[d];
        for (int j = from; j < to; j++) {
            int o = j * d;
            w.get(o, wr, 0, d);
            v.get(o, vr, 0, d);
            float c = coef[j];
            if (grad != null) {
                grad.get(o, gr, 0, d);
                for (int k = 0; k < d; k++) {
                    vr[k] = mu * vr[k] + gr[k];
                }
            }
            for (int k = 0; k < d; k++) {
                float v0 = vr[k] + c * wr[k];
                vr[k] = v0;
                wr[k] = wr[k] - lr * v0;
            }
            w.put(o, wr, 0, d);
            v.put(o, vr, 0, d);
            norms[j] = norm(wr, d);
        }
    }

    /**
     * The L2 norm of {@code w[0..d)}, four partial sums in float then one in double. The one definition
     * of a row's norm: the update and the half-precision storage ({@link StoredRows}) both use it, so
     * a norm cached after an update equals the norm recomputed from stored rows bit for bit.
     */
    static float norm(float[] w, int d) {
        float n0 = 0;
        float n1 = 0;
        float n2 = 0;
        float n3 = 0;
        int k = 0;
        for (; k + 3 < d; k += 4) {
            n0 += w[k] * w[k];
            n1 += w[k + 1] * w[k + 1];
            n2 += w[k + 2] * w[k + 2];
            n3 += w[k + 3] * w[k + 3];
        }
        for (; k < d; k++) {
            n0 += w[k] * w[k];
        }
        return (float) Math.sqrt((double) n0 + n1 + n2 + n3);
    }

    /** A direct buffer over the matrix's elements (a view's data() already starts at its offset). */
    private static FloatBuffer buffer(INDArray a) {
        FloatPointer p = new FloatPointer(a.data().addressPointer());
        return p.position(0).limit(a.length()).asBuffer();
    }
}
