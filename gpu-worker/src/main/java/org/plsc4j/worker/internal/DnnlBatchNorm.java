package org.plsc4j.worker.internal;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_SCALE;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_SHIFT;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_MEAN;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SCALE;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SHIFT;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_VARIANCE;
import static org.bytedeco.dnnl.global.dnnl.dnnl_a;
import static org.bytedeco.dnnl.global.dnnl.dnnl_backward;
import static org.bytedeco.dnnl.global.dnnl.dnnl_batch_normalization_backward_desc_init;
import static org.bytedeco.dnnl.global.dnnl.dnnl_batch_normalization_forward_desc_init;
import static org.bytedeco.dnnl.global.dnnl.dnnl_forward_inference;
import static org.bytedeco.dnnl.global.dnnl.dnnl_forward_training;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_set_data_handle;
import static org.bytedeco.dnnl.global.dnnl.dnnl_nchw;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_destroy;
import static org.bytedeco.dnnl.global.dnnl.dnnl_use_global_stats;
import static org.bytedeco.dnnl.global.dnnl.dnnl_use_scale;
import static org.bytedeco.dnnl.global.dnnl.dnnl_use_shift;

import java.util.Arrays;
import org.bytedeco.dnnl.dnnl_batch_normalization_desc_t;
import org.bytedeco.dnnl.dnnl_exec_arg_t;
import org.bytedeco.dnnl.dnnl_memory;
import org.bytedeco.dnnl.dnnl_memory_desc_t;
import org.bytedeco.dnnl.dnnl_primitive;
import org.bytedeco.dnnl.dnnl_primitive_desc;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A float32 batch norm over NCHW arrays on oneDNN's fused primitives, created once per shape:
 * training forward (batch statistics and normalisation in one primitive), the forward with given
 * statistics (the backward's recomputation and inference), and the backward through the batch
 * statistics, which gives dL/dx, dL/dγ and dL/dβ in one primitive where libnd4j needs two
 * reductions and four elementwise passes (BENCHMARKS.md). Variance is the biased one (1/M), as in
 * {@link NativeResNetBackbone}'s contract; ε as given.
 */
final class DnnlBatchNorm implements AutoCloseable {

    private final Dnnl dnnl;
    private final float eps;
    private long[] shape;
    private dnnl_primitive fwdTrain;
    private dnnl_primitive fwdGlobal;
    private dnnl_primitive bwd;
    private dnnl_memory src;
    private dnnl_memory dst;
    private dnnl_memory diffDst;
    private dnnl_memory diffSrc;
    private dnnl_memory mean;
    private dnnl_memory var;
    private dnnl_memory scale;
    private dnnl_memory shift;
    private dnnl_memory diffScale;
    private dnnl_memory diffShift;
    private dnnl_exec_arg_t fwdTrainArgs;
    private dnnl_exec_arg_t fwdGlobalArgs;
    private dnnl_exec_arg_t bwdArgs;

    DnnlBatchNorm(Dnnl dnnl, double eps) {
        this.dnnl = dnnl;
        this.eps = (float) eps;
    }

    /** Whether {@code a} can be handed to oneDNN as it is ({@link Dnnl#dense}). */
    static boolean whole(INDArray a) {
        return Dnnl.dense(a);
    }

    /** Batch mean and biased variance of x into {@code m}, {@code v}; {@code out = γ·(x − m)/sqrt(v + ε) + β}. */
    synchronized void train(INDArray x, INDArray gamma, INDArray beta, INDArray m, INDArray v, INDArray out) {
        prepare(x.shape());
        set(src, x);
        set(dst, out);
        set(scale, gamma);
        set(shift, beta);
        set(mean, m);
        set(var, v);
        dnnl.execute(fwdTrain, fwdTrainArgs, 6);
    }

    /** {@code out = γ·(x − m)/sqrt(v + ε) + β} with the given statistics. */
    synchronized void apply(INDArray x, INDArray gamma, INDArray beta, INDArray m, INDArray v, INDArray out) {
        prepare(x.shape());
        set(src, x);
        set(dst, out);
        set(scale, gamma);
        set(shift, beta);
        set(mean, m);
        set(var, v);
        dnnl.execute(fwdGlobal, fwdGlobalArgs, 6);
    }

    /** dL/dx into {@code gradX}, dL/dγ and dL/dβ into {@code gGamma}, {@code gBeta}, through the batch statistics. */
    synchronized void backward(INDArray x, INDArray gamma, INDArray beta, INDArray m, INDArray v, INDArray gradOut,
                               INDArray gradX, INDArray gGamma, INDArray gBeta) {
        prepare(x.shape());
        set(src, x);
        set(diffDst, gradOut);
        set(diffSrc, gradX);
        set(scale, gamma);
        set(shift, beta); // unused, but oneDNN 2.5 requires it with use_shift
        set(mean, m);
        set(var, v);
        set(diffScale, gGamma);
        set(diffShift, gBeta);
        dnnl.execute(bwd, bwdArgs, 9);
    }

    private static void set(dnnl_memory mem, INDArray a) {
        if (!whole(a)) {
            throw new IllegalArgumentException("oneDNN operand : " + a.shapeInfoToString()
                    + " (expected: a dense float32 c-order array at its buffer's start)");
        }
        Pointer p = a.data().addressPointer();
        Dnnl.check(dnnl_memory_set_data_handle(mem, p), "memory_set_data_handle");
    }

    private void prepare(long[] s) {
        if (Arrays.equals(shape, s)) {
            return;
        }
        close();
        dnnl_memory_desc_t data = Dnnl.desc(s, dnnl_nchw);
        dnnl_memory_desc_t channels = Dnnl.desc(new long[] {s[1]}, dnnl_a);
        int flags = dnnl_use_scale | dnnl_use_shift;
        dnnl_batch_normalization_desc_t d = new dnnl_batch_normalization_desc_t();
        Dnnl.check(dnnl_batch_normalization_forward_desc_init(d, dnnl_forward_training, data, eps, flags),
                "batch_normalization_forward_desc_init");
        dnnl_primitive_desc trainPd = dnnl.primitiveDesc(d, null, "batch normalization forward");
        fwdTrain = dnnl.primitive(trainPd, "batch normalization forward");
        dnnl_batch_normalization_desc_t g = new dnnl_batch_normalization_desc_t();
        Dnnl.check(dnnl_batch_normalization_forward_desc_init(g, dnnl_forward_inference, data, eps,
                flags | dnnl_use_global_stats), "batch_normalization_forward_desc_init");
        fwdGlobal = dnnl.primitive(dnnl.primitiveDesc(g, null, "batch normalization inference"),
                "batch normalization inference");
        dnnl_batch_normalization_desc_t b = new dnnl_batch_normalization_desc_t();
        Dnnl.check(dnnl_batch_normalization_backward_desc_init(b, dnnl_backward, data, data, eps, flags),
                "batch_normalization_backward_desc_init");
        bwd = dnnl.primitive(dnnl.primitiveDesc(b, trainPd, "batch normalization backward"),
                "batch normalization backward");
        src = dnnl.memory(data);
        dst = dnnl.memory(data);
        diffDst = dnnl.memory(data);
        diffSrc = dnnl.memory(data);
        mean = dnnl.memory(channels);
        var = dnnl.memory(channels);
        scale = dnnl.memory(channels);
        shift = dnnl.memory(channels);
        diffScale = dnnl.memory(channels);
        diffShift = dnnl.memory(channels);
        int[] fwdKinds = {DNNL_ARG_SRC, DNNL_ARG_DST, DNNL_ARG_SCALE, DNNL_ARG_SHIFT, DNNL_ARG_MEAN,
            DNNL_ARG_VARIANCE};
        dnnl_memory[] fwdMems = {src, dst, scale, shift, mean, var};
        fwdTrainArgs = Dnnl.args(fwdKinds, fwdMems);
        fwdGlobalArgs = Dnnl.args(fwdKinds, fwdMems);
        bwdArgs = Dnnl.args(new int[] {DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_SRC, DNNL_ARG_SCALE,
            DNNL_ARG_SHIFT, DNNL_ARG_MEAN, DNNL_ARG_VARIANCE, DNNL_ARG_DIFF_SCALE, DNNL_ARG_DIFF_SHIFT},
                new dnnl_memory[] {src, diffDst, diffSrc, scale, shift, mean, var, diffScale, diffShift});
        shape = s.clone();
    }

    @Override
    public synchronized void close() {
        for (dnnl_primitive p : new dnnl_primitive[] {fwdTrain, fwdGlobal, bwd}) {
            if (p != null) {
                dnnl_primitive_destroy(p);
            }
        }
        for (dnnl_memory m : new dnnl_memory[] {src, dst, diffDst, diffSrc, mean, var, scale, shift, diffScale,
            diffShift}) {
            Dnnl.destroy(m);
        }
        fwdTrain = null;
        fwdGlobal = null;
        bwd = null;
        src = null;
        dst = null;
        diffDst = null;
        diffSrc = null;
        mean = null;
        var = null;
        scale = null;
        shift = null;
        diffScale = null;
        diffShift = null;
        shape = null;
    }
}
