package org.plsc4j.worker.internal;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_WEIGHTS;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_FROM;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_TO;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_WEIGHTS;
import static org.bytedeco.dnnl.global.dnnl.dnnl_backward_data;
import static org.bytedeco.dnnl.global.dnnl.dnnl_backward_weights;
import static org.bytedeco.dnnl.global.dnnl.dnnl_convolution_backward_data_desc_init;
import static org.bytedeco.dnnl.global.dnnl.dnnl_convolution_backward_weights_desc_init;
import static org.bytedeco.dnnl.global.dnnl.dnnl_convolution_direct;
import static org.bytedeco.dnnl.global.dnnl.dnnl_convolution_forward_desc_init;
import static org.bytedeco.dnnl.global.dnnl.dnnl_format_tag_any;
import static org.bytedeco.dnnl.global.dnnl.dnnl_forward_training;
import static org.bytedeco.dnnl.global.dnnl.dnnl_hwio;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_desc_equal;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_desc_get_size;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_set_data_handle;
import static org.bytedeco.dnnl.global.dnnl.dnnl_nchw;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_desc_query_md;
import static org.bytedeco.dnnl.global.dnnl.dnnl_query_diff_dst_md;
import static org.bytedeco.dnnl.global.dnnl.dnnl_query_diff_src_md;
import static org.bytedeco.dnnl.global.dnnl.dnnl_query_diff_weights_md;
import static org.bytedeco.dnnl.global.dnnl.dnnl_query_dst_md;
import static org.bytedeco.dnnl.global.dnnl.dnnl_query_src_md;
import static org.bytedeco.dnnl.global.dnnl.dnnl_query_weights_md;

import java.util.Arrays;
import org.bytedeco.dnnl.dnnl_convolution_desc_t;
import org.bytedeco.dnnl.dnnl_exec_arg_t;
import org.bytedeco.dnnl.dnnl_memory;
import org.bytedeco.dnnl.dnnl_memory_desc_t;
import org.bytedeco.dnnl.dnnl_primitive;
import org.bytedeco.dnnl.dnnl_primitive_desc;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One bias-free float32 convolution layer on oneDNN primitives that are created once per input
 * shape: forward, backward-data and backward-weights, each in the blocked layouts oneDNN chooses
 * for this CPU ({@code format_tag_any}; AVX-512 JIT kernels here). The operands stay the ND4J
 * arrays the backbone owns (activations NCHW, weights YXIO = oneDNN's {@code hwio}); they are
 * reordered into and out of a {@link Scratch} shared by all layers (two activation-sized slots),
 * by reorder primitives created with the layer.
 *
 * <p>Same arithmetic as libnd4j's {@code conv2d}/{@code conv2d_bp} ({@link NativeOps}), which the
 * tests compare it with; float32 only (float64 stays on libnd4j).
 */
final class DnnlConv implements AutoCloseable {

    private static final int SLOT_X = 0;
    private static final int SLOT_W = 1;
    private static final int SLOT_Y = 2;
    private static final int SLOT_GW = 3;
    private static final int SLOT_Y2 = 4;

    private final Dnnl dnnl;
    private final Scratch scratch;
    private final int stride;
    private final int pad;
    private Plan[] plans = new Plan[2];
    private int next;

    DnnlConv(Scratch scratch, int stride, int pad) {
        this.dnnl = scratch.dnnl;
        this.scratch = scratch;
        this.stride = stride;
        this.pad = pad;
    }

    /** {@code out = conv2d(x, w)}. */
    void forward(INDArray x, INDArray w, INDArray out) {
        synchronized (scratch) {
            forwardLocked(x, w, out);
        }
    }

    private void forwardLocked(INDArray x, INDArray w, INDArray out) {
        Plan p = plan(x, w, out);
        p.src.in(ptr(x), SLOT_X);
        p.wei.in(ptr(w), SLOT_W);
        p.dst.bind(ptr(out), SLOT_Y);
        dnnl.execute(p.fwd, p.fwdArgs, 3);
        p.dst.out();
    }

    /** dL/dx into {@code gradX}, dL/dw into {@code gradW} for the upstream gradient {@code gradOut}. */
    void backward(INDArray x, INDArray w, INDArray gradOut, INDArray gradX, INDArray gradW) {
        synchronized (scratch) {
            backwardLocked(x, w, gradOut, gradX, gradW);
        }
    }

    private void backwardLocked(INDArray x, INDArray w, INDArray gradOut, INDArray gradX, INDArray gradW) {
        Plan p = plan(x, w, gradOut);
        p.backward();
        p.bGy.in(ptr(gradOut), SLOT_Y);
        p.bW.in(ptr(w), SLOT_W);
        p.bGx.bind(ptr(gradX), SLOT_X);
        dnnl.execute(p.bwdData, p.bwdDataArgs, 3);
        p.bGx.out();
        p.wX.in(ptr(x), SLOT_X);
        if (p.wGySameAsData) {
            p.wGy.alias(p.bGy);
        } else {
            p.wGy.in(ptr(gradOut), SLOT_Y2);
        }
        p.wGw.bind(ptr(gradW), SLOT_GW);
        dnnl.execute(p.bwdWeights, p.bwdWeightsArgs, 3);
        p.wGw.out();
    }

    private Plan plan(INDArray x, INDArray w, INDArray y) {
        for (Plan p : plans) {
            if (p != null && Arrays.equals(p.xShape, x.shape()) && Arrays.equals(p.yShape, y.shape())
                    && Arrays.equals(p.wShape, w.shape())) {
                return p;
            }
        }
        Plan old = plans[next];
        if (old != null) {
            old.close();
        }
        Plan p = new Plan(x.shape(), w.shape(), y.shape());
        plans[next] = p;
        next = (next + 1) % plans.length;
        return p;
    }

    private static Pointer ptr(INDArray a) {
        if (!Dnnl.dense(a)) {
            throw new IllegalArgumentException("oneDNN operand : " + a.shapeInfoToString()
                    + " (expected: a dense float32 c-order array at its buffer's start)");
        }
        return a.data().addressPointer();
    }

    @Override
    public void close() {
        for (int i = 0; i < plans.length; i++) {
            if (plans[i] != null) {
                plans[i].close();
                plans[i] = null;
            }
        }
    }

    /** The primitives and memory objects of one (x, w, y) shape; the backward ones on first use. */
    private final class Plan {
        final long[] xShape;
        final long[] wShape;
        final long[] yShape;
        final dnnl_memory_desc_t xUser;
        final dnnl_memory_desc_t wUser;
        final dnnl_memory_desc_t yUser;
        final long[] strides;
        final long[] padL;
        final long[] padR;
        final dnnl_primitive_desc fwdPd;
        final dnnl_primitive fwd;
        final Operand src;
        final Operand wei;
        final Operand dst;
        final dnnl_exec_arg_t fwdArgs;
        dnnl_primitive bwdData;
        dnnl_primitive bwdWeights;
        Operand bGy;
        Operand bW;
        Operand bGx;
        Operand wX;
        Operand wGy;
        Operand wGw;
        boolean wGySameAsData;
        dnnl_exec_arg_t bwdDataArgs;
        dnnl_exec_arg_t bwdWeightsArgs;

        Plan(long[] xs, long[] ws, long[] ys) {
            xShape = xs.clone();
            wShape = ws.clone();
            yShape = ys.clone();
            long[] wDims = {ws[3], ws[2], ws[0], ws[1]}; // YXIO array = logical OIHW in hwio order
            xUser = Dnnl.desc(xs, dnnl_nchw);
            wUser = Dnnl.desc(wDims, dnnl_hwio);
            yUser = Dnnl.desc(ys, dnnl_nchw);
            strides = new long[] {stride, stride};
            padL = new long[] {pad, pad};
            padR = new long[] {rightPad(xs[2], ys[2], ws[0]), rightPad(xs[3], ys[3], ws[1])};
            dnnl_memory_desc_t xAny = Dnnl.desc(xs, dnnl_format_tag_any);
            dnnl_memory_desc_t wAny = Dnnl.desc(wDims, dnnl_format_tag_any);
            dnnl_memory_desc_t yAny = Dnnl.desc(ys, dnnl_format_tag_any);
            dnnl_convolution_desc_t d = new dnnl_convolution_desc_t();
            Dnnl.check(dnnl_convolution_forward_desc_init(d, dnnl_forward_training, dnnl_convolution_direct, xAny,
                    wAny, null, yAny, strides, padL, padR), "convolution_forward_desc_init " + Arrays.toString(xs));
            fwdPd = dnnl.primitiveDesc(d, null, "convolution forward");
            fwd = dnnl.primitive(fwdPd, "convolution forward");
            src = new Operand(xUser, dnnl_primitive_desc_query_md(fwdPd, dnnl_query_src_md, 0));
            wei = new Operand(wUser, dnnl_primitive_desc_query_md(fwdPd, dnnl_query_weights_md, 0));
            dst = new Operand(yUser, dnnl_primitive_desc_query_md(fwdPd, dnnl_query_dst_md, 0));
            fwdArgs = Dnnl.args(new int[] {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST},
                    new dnnl_memory[] {src.inner, wei.inner, dst.inner});
        }

        private long rightPad(long in, long out, long k) {
            return Math.max(0, (out - 1) * stride + k - in - pad);
        }

        void backward() {
            if (bwdData != null) {
                return;
            }
            dnnl_memory_desc_t xAny = Dnnl.desc(xShape, dnnl_format_tag_any);
            long[] wDims = {wShape[3], wShape[2], wShape[0], wShape[1]};
            dnnl_memory_desc_t wAny = Dnnl.desc(wDims, dnnl_format_tag_any);
            dnnl_memory_desc_t yAny = Dnnl.desc(yShape, dnnl_format_tag_any);
            dnnl_convolution_desc_t bd = new dnnl_convolution_desc_t();
            Dnnl.check(dnnl_convolution_backward_data_desc_init(bd, dnnl_convolution_direct, xAny, wAny, yAny,
                    strides, padL, padR), "convolution_backward_data_desc_init");
            dnnl_primitive_desc bpd = dnnl.primitiveDesc(bd, fwdPd, "convolution backward data");
            bwdData = dnnl.primitive(bpd, "convolution backward data");
            bGy = new Operand(yUser, dnnl_primitive_desc_query_md(bpd, dnnl_query_diff_dst_md, 0));
            bW = new Operand(wUser, dnnl_primitive_desc_query_md(bpd, dnnl_query_weights_md, 0));
            bGx = new Operand(xUser, dnnl_primitive_desc_query_md(bpd, dnnl_query_diff_src_md, 0));
            bwdDataArgs = Dnnl.args(new int[] {DNNL_ARG_DIFF_DST, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_SRC},
                    new dnnl_memory[] {bGy.inner, bW.inner, bGx.inner});
            dnnl_convolution_desc_t wd = new dnnl_convolution_desc_t();
            Dnnl.check(dnnl_convolution_backward_weights_desc_init(wd, dnnl_convolution_direct, xAny, wAny, null,
                    yAny, strides, padL, padR), "convolution_backward_weights_desc_init");
            dnnl_primitive_desc wpd = dnnl.primitiveDesc(wd, fwdPd, "convolution backward weights");
            bwdWeights = dnnl.primitive(wpd, "convolution backward weights");
            wX = new Operand(xUser, dnnl_primitive_desc_query_md(wpd, dnnl_query_src_md, 0));
            wGy = new Operand(yUser, dnnl_primitive_desc_query_md(wpd, dnnl_query_diff_dst_md, 0));
            wGw = new Operand(wUser, dnnl_primitive_desc_query_md(wpd, dnnl_query_diff_weights_md, 0));
            wGySameAsData = dnnl_memory_desc_equal(wGy.innerDesc, bGy.innerDesc) != 0;
            bwdWeightsArgs = Dnnl.args(new int[] {DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_WEIGHTS},
                    new dnnl_memory[] {wX.inner, wGy.inner, wGw.inner});
        }

        void close() {
            for (Operand o : new Operand[] {src, wei, dst, bGy, bW, bGx, wX, wGy, wGw}) {
                if (o != null) {
                    o.close();
                }
            }
            for (dnnl_primitive p : new dnnl_primitive[] {fwd, bwdData, bwdWeights}) {
                if (p != null) {
                    org.bytedeco.dnnl.global.dnnl.dnnl_primitive_destroy(p);
                }
            }
        }
    }

    /**
     * One operand of a primitive: the ND4J array's memory in its plain layout, and the primitive's
     * memory in the layout it chose (the same object when the layouts agree), with the reorders
     * between them.
     */
    private final class Operand {
        final dnnl_memory_desc_t innerDesc = new dnnl_memory_desc_t();
        final dnnl_memory user;
        final dnnl_memory inner;
        final long innerBytes;
        final dnnl_primitive toInner;
        final dnnl_primitive toUser;
        final dnnl_exec_arg_t toInnerArgs;
        final dnnl_exec_arg_t toUserArgs;

        Operand(dnnl_memory_desc_t userDesc, dnnl_memory_desc_t chosen) {
            Pointer.memcpy(innerDesc, chosen, innerDesc.sizeof());
            user = dnnl.memory(userDesc);
            if (dnnl_memory_desc_equal(userDesc, innerDesc) != 0) {
                inner = user;
                innerBytes = 0;
                toInner = null;
                toUser = null;
                toInnerArgs = null;
                toUserArgs = null;
            } else {
                inner = dnnl.memory(innerDesc);
                innerBytes = dnnl_memory_desc_get_size(innerDesc);
                toInner = dnnl.reorder(userDesc, innerDesc);
                toUser = dnnl.reorder(innerDesc, userDesc);
                toInnerArgs = Dnnl.args(new int[] {DNNL_ARG_FROM, DNNL_ARG_TO}, new dnnl_memory[] {user, inner});
                toUserArgs = Dnnl.args(new int[] {DNNL_ARG_FROM, DNNL_ARG_TO}, new dnnl_memory[] {inner, user});
            }
        }

        /** Points the user memory at {@code p} and the primitive's at scratch {@code slot} (if separate). */
        void bind(Pointer p, int slot) {
            Dnnl.check(dnnl_memory_set_data_handle(user, p), "memory_set_data_handle");
            if (inner != user) {
                Dnnl.check(dnnl_memory_set_data_handle(inner, scratch.slot(slot, innerBytes)),
                        "memory_set_data_handle");
            }
        }

        /** An input: {@link #bind}, then reorder the array into the primitive's layout. */
        void in(Pointer p, int slot) {
            bind(p, slot);
            if (toInner != null) {
                dnnl.execute(toInner, toInnerArgs, 2);
            }
        }

        /** Shares {@code other}'s already reordered buffer (same layout). */
        void alias(Operand other) {
            if (inner != user) {
                Dnnl.check(dnnl_memory_set_data_handle(inner, Dnnl.handle(other.inner)), "memory_set_data_handle");
            } else {
                Dnnl.check(dnnl_memory_set_data_handle(user, Dnnl.handle(other.user)), "memory_set_data_handle");
            }
        }

        /** An output: reorder the primitive's result into the array. */
        void out() {
            if (toUser != null) {
                dnnl.execute(toUser, toUserArgs, 2);
            }
        }

        void close() {
            if (inner != user) {
                Dnnl.destroy(inner);
                org.bytedeco.dnnl.global.dnnl.dnnl_primitive_destroy(toInner);
                org.bytedeco.dnnl.global.dnnl.dnnl_primitive_destroy(toUser);
            }
            Dnnl.destroy(user);
        }
    }

    /**
     * The blocked-layout copies of the layer being computed, shared by all layers of a backbone
     * (they run one at a time): a few growing oneDNN-allocated buffers, freed by {@link #close()}.
     */
    static final class Scratch implements AutoCloseable {
        final Dnnl dnnl;
        private final dnnl_memory[] buffers = new dnnl_memory[5];
        private final Pointer[] handles = new Pointer[5];
        private final long[] sizes = new long[5];

        Scratch(Dnnl dnnl) {
            this.dnnl = dnnl;
        }

        Pointer slot(int i, long bytes) {
            if (sizes[i] < bytes) {
                Dnnl.destroy(buffers[i]);
                buffers[i] = dnnl.allocate(bytes);
                handles[i] = Dnnl.handle(buffers[i]);
                sizes[i] = bytes;
            }
            return handles[i];
        }

        /** Bytes held now. */
        synchronized long bytes() {
            return Arrays.stream(sizes).sum();
        }

        @Override
        public void close() {
            for (int i = 0; i < buffers.length; i++) {
                Dnnl.destroy(buffers[i]);
                buffers[i] = null;
                handles[i] = null;
                sizes[i] = 0;
            }
        }
    }
}
