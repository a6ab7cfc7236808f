package org.plsc4j.worker.internal;

import static org.bytedeco.dnnl.global.dnnl.dnnl_cpu;
import static org.bytedeco.dnnl.global.dnnl.dnnl_engine_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_f32;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_desc_init_by_tag;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_destroy;
import static org.bytedeco.dnnl.global.dnnl.dnnl_memory_get_data_handle;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_desc_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_primitive_execute;
import static org.bytedeco.dnnl.global.dnnl.dnnl_reorder_primitive_desc_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_stream_create;
import static org.bytedeco.dnnl.global.dnnl.dnnl_stream_default_flags;
import static org.bytedeco.dnnl.global.dnnl.dnnl_stream_wait;

import java.util.concurrent.atomic.AtomicReference;
import org.bytedeco.dnnl.const_dnnl_op_desc_t;
import org.bytedeco.dnnl.dnnl_engine;
import org.bytedeco.dnnl.dnnl_exec_arg_t;
import org.bytedeco.dnnl.dnnl_memory;
import org.bytedeco.dnnl.dnnl_memory_desc_t;
import org.bytedeco.dnnl.dnnl_primitive;
import org.bytedeco.dnnl.dnnl_primitive_desc;
import org.bytedeco.dnnl.dnnl_stream;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * oneDNN called directly through JavaCPP's presets ({@code org.bytedeco:dnnl}): one CPU engine and
 * one stream per JVM, and the few C-API calls {@link DnnlConv} needs.
 *
 * <p>Why not libnd4j's {@code conv2d}/{@code conv2d_bp}, which also run on oneDNN in the onednn
 * builds: libnd4j creates the oneDNN primitive (JIT code generation included) and the reordered
 * copies of its operands on every call; called directly, a layer's primitives are created once per
 * batch shape, which is what made the ResNet backward 3–8× slower than its forward
 * (BENCHMARKS.md "Backbone engine"). The presets bring their own {@code libdnnl.so.2}; libnd4j links
 * its copy statically, so the two do not meet.
 *
 * <p>{@link #get()} is {@code null} where the natives cannot load (not x86_64 Linux, or the
 * {@code linux-x86_64} jars absent); callers then use libnd4j's ops, logged once here.
 */
final class Dnnl {

    /** {@code DNNL_MEMORY_ALLOCATE}: oneDNN allocates (64-byte aligned) and owns the buffer. */
    private static final Pointer ALLOCATE = new Pointer() {
        {
            address = -1;
        }
    };
    private static final Logger LOG = LoggerFactory.getLogger(Dnnl.class);
    private static final AtomicReference<Object> INSTANCE = new AtomicReference<>();

    final dnnl_engine engine;
    final dnnl_stream stream;

    private Dnnl(dnnl_engine engine, dnnl_stream stream) {
        this.engine = engine;
        this.stream = stream;
    }

    /** The JVM's oneDNN engine, or {@code null} (logged once) when its natives cannot be loaded here. */
    static Dnnl get() {
        Object o = INSTANCE.get();
        if (o == null) {
            synchronized (INSTANCE) {
                o = INSTANCE.get();
                if (o == null) {
                    o = load();
                    INSTANCE.set(o);
                }
            }
        }
        return o instanceof Dnnl d ? d : null;
    }

    private static Object load() {
        try {
            Loader.load(org.bytedeco.dnnl.global.dnnl.class);
            dnnl_engine engine = new dnnl_engine();
            check(dnnl_engine_create(engine, dnnl_cpu, 0), "engine_create");
            dnnl_stream stream = new dnnl_stream();
            check(dnnl_stream_create(stream, engine, dnnl_stream_default_flags), "stream_create");
            return new Dnnl(engine, stream);
        } catch (Throwable e) {
            LOG.info("oneDNN (org.bytedeco:dnnl) unavailable on {} {} ({}): the ResNet convolutions run on "
                    + "libnd4j's ops", System.getProperty("os.name"), System.getProperty("os.arch"), e.toString());
            return Boolean.FALSE;
        }
    }

    /**
     * Whether oneDNN can take {@code a}'s memory as it is: float32, c-order with the default strides,
     * starting at its buffer's first element ({@code a.data().addressPointer()}). A whole array is,
     * and so is an array over the first elements of a larger buffer ({@link Buffers#scratch}).
     */
    static boolean dense(INDArray a) {
        if (a.dataType() != DataType.FLOAT || a.ordering() != 'c' || a.offset() != 0 || a.data().offset() != 0
                || a.length() > a.data().length()) {
            return false;
        }
        long[] shape = a.shape();
        long[] stride = a.stride();
        long expected = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] != 1 && stride[i] != expected) { // a unit dimension's stride is never used
                return false;
            }
            expected *= shape[i];
        }
        return true;
    }

    static void check(int status, String what) {
        if (status != 0) {
            throw new IllegalStateException("oneDNN " + what + " failed with status " + status);
        }
    }

    /** A float32 memory descriptor of {@code dims} in the layout {@code tag} ({@code dnnl_format_tag_any} too). */
    static dnnl_memory_desc_t desc(long[] dims, int tag) {
        dnnl_memory_desc_t md = new dnnl_memory_desc_t();
        check(dnnl_memory_desc_init_by_tag(md, dims.length, dims, dnnl_f32, tag), "memory_desc_init_by_tag");
        return md;
    }

    /** The primitive descriptor of an initialised operation descriptor ({@code hint}: its forward's, or null). */
    dnnl_primitive_desc primitiveDesc(Pointer opDesc, dnnl_primitive_desc hint, String what) {
        dnnl_primitive_desc pd = new dnnl_primitive_desc();
        check(dnnl_primitive_desc_create(pd, new const_dnnl_op_desc_t(opDesc), null, engine, hint), what);
        return pd;
    }

    dnnl_primitive primitive(dnnl_primitive_desc pd, String what) {
        dnnl_primitive p = new dnnl_primitive();
        check(dnnl_primitive_create(p, pd), what);
        return p;
    }

    /** A reorder from layout {@code from} to {@code to} (same dims). */
    dnnl_primitive reorder(dnnl_memory_desc_t from, dnnl_memory_desc_t to) {
        dnnl_primitive_desc pd = new dnnl_primitive_desc();
        check(dnnl_reorder_primitive_desc_create(pd, from, engine, to, engine, null), "reorder_primitive_desc_create");
        return primitive(pd, "reorder");
    }

    /** A memory object of {@code md} without a buffer: {@code dnnl_memory_set_data_handle} before use. */
    dnnl_memory memory(dnnl_memory_desc_t md) {
        dnnl_memory m = new dnnl_memory();
        check(dnnl_memory_create(m, md, engine, null), "memory_create");
        return m;
    }

    /** A oneDNN-owned, aligned buffer of {@code bytes} (as a memory object, so that oneDNN frees it). */
    dnnl_memory allocate(long bytes) {
        dnnl_memory m = new dnnl_memory();
        check(dnnl_memory_create(m, desc(new long[] {(bytes + 3) / 4}, org.bytedeco.dnnl.global.dnnl.dnnl_a),
                engine, ALLOCATE), "memory_create");
        return m;
    }

    static Pointer handle(dnnl_memory m) {
        PointerPointer<Pointer> p = new PointerPointer<>(1);
        check(dnnl_memory_get_data_handle(m, p), "memory_get_data_handle");
        return p.get(0);
    }

    static void destroy(dnnl_memory m) {
        if (m != null) {
            dnnl_memory_destroy(m);
        }
    }

    /** Runs {@code p} with (arg, memory) pairs and waits for it. */
    void execute(dnnl_primitive p, dnnl_exec_arg_t args, int n) {
        check(dnnl_primitive_execute(p, stream, n, args), "primitive_execute");
        check(dnnl_stream_wait(stream), "stream_wait");
    }

    /** An argument list of {@code n} entries for {@link #execute}. */
    static dnnl_exec_arg_t args(int[] kinds, dnnl_memory[] memories) {
        dnnl_exec_arg_t a = new dnnl_exec_arg_t(kinds.length);
        for (int i = 0; i < kinds.length; i++) {
            a.position(i).arg(kinds[i]).memory(memories[i]);
        }
        return a.position(0);
    }
}
