package org.plsc4j.worker.internal;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Native arrays reused from step to step, by role: a training step at a fixed batch size allocates
 * nothing after the first, and arrays are freed at once ({@link INDArray#close()}), not left to
 * the garbage collector, whose timing is what made the SameDiff engine's resident memory climb.
 *
 * <p>Two kinds of role:
 * <ul>
 *   <li>{@link #get}: one array of exactly the requested shape (an activation kept from the forward
 *       for the backward, a head operand); a request of another shape frees it and allocates anew;</li>
 *   <li>{@link #scratch}: a transient operand whose shape changes from layer to layer; the role owns
 *       one flat arena sized by the largest shape ever requested, and each request is a c-order
 *       array over the arena's first elements (offset 0, so oneDNN takes it as it is:
 *       {@link Dnnl#dense}). One arena per role instead of one array per (role, shape) is what keeps
 *       the batch-64 training step of ResNet50 at ~1 GB of scratch instead of ~4 GB (BENCHMARKS.md).
 *       Growing an arena discards its contents: callers never grow a role whose content is live.</li>
 * </ul>
 */
final class Buffers {

    private final Map<String, INDArray> exact = new HashMap<>();
    private final Map<String, Arena> arenas = new HashMap<>();
    private final DataType dataType;

    Buffers(DataType dataType) {
        this.dataType = dataType;
    }

    /** The array for {@code role} of exactly {@code shape}, uninitialised on first use. */
    INDArray get(String role, long... shape) {
        INDArray a = exact.get(role);
        if (a != null && Arrays.equals(a.shape(), shape)) {
            return a;
        }
        if (a != null) {
            a.close();
        }
        a = Nd4j.createUninitialized(dataType, shape);
        exact.put(role, a);
        return a;
    }

    /**
     * A c-order array of {@code shape} over the first elements of {@code role}'s arena (its content is
     * whatever the role last held there); the arena grows first when it is too small.
     */
    INDArray scratch(String role, long... shape) {
        Arena a = reserve(role, length(shape));
        return a.views.computeIfAbsent(Arrays.toString(shape),
                k -> Nd4j.create(a.flat.data(), shape, Nd4j.getStrides(shape, 'c'), 0, 'c'));
    }

    /** Grows {@code role}'s arena to at least {@code elements} (its contents lost when it grows). */
    Arena reserve(String role, long elements) {
        Arena a = arenas.get(role);
        if (a == null || a.flat.length() < elements) {
            if (a != null) {
                a.flat.close();
            }
            a = new Arena(Nd4j.createUninitialized(dataType, elements));
            arenas.put(role, a);
        }
        return a;
    }

    /** Bytes currently held. */
    long bytes() {
        long n = 0;
        for (INDArray a : exact.values()) {
            n += a.length() * a.dataType().width();
        }
        for (Arena a : arenas.values()) {
            n += a.flat.length() * a.flat.dataType().width();
        }
        return n;
    }

    /** Frees every array now. */
    void release() {
        exact.values().forEach(INDArray::close);
        exact.clear();
        arenas.values().forEach(a -> a.flat.close());
        arenas.clear();
    }

    static long length(long[] shape) {
        long n = 1;
        for (long v : shape) {
            n *= v;
        }
        return n;
    }

    /** A role's flat buffer and the arrays of each shape requested over it. */
    static final class Arena {
        final INDArray flat;
        final Map<String, INDArray> views = new HashMap<>();

        Arena(INDArray flat) {
            this.flat = flat;
        }
    }
}
