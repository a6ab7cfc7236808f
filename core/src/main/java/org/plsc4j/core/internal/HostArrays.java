package org.plsc4j.core.internal;

import java.nio.FloatBuffer;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.concurrency.AffinityManager;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Host views of float32 {@link INDArray}s for the buffer-based collectives: the default {@code INDArray}
 * methods of {@link org.plsc4j.core.collective.Collective}.
 *
 * <p>A contiguous, C-ordered float32 array is used in place; anything else (a view, another type) goes
 * through a contiguous copy that is written back. After a write the array is tagged as changed on the
 * host, so a device backend (CUDA) uploads it before its next use.
 */
public final class HostArrays {

    private HostArrays() {
    }

    /** Runs {@code op} on a host buffer over {@code data}'s elements and writes the result back (in place). */
    public static void withHost(INDArray data, Consumer<FloatBuffer> op) {
        INDArray d = contiguous(data);
        op.accept(buffer(d));
        written(d, data);
    }

    /** Runs {@code op(send, recv)} on host buffers over the two arrays; {@code recv} is written back. */
    public static void withHost(INDArray send, INDArray recv, BiConsumer<FloatBuffer, FloatBuffer> op) {
        INDArray s = contiguous(send);
        INDArray r = contiguous(recv);
        op.accept(buffer(s), buffer(r));
        written(r, recv);
    }

    private static boolean direct(INDArray a) {
        return a.dataType() == DataType.FLOAT && !a.isView() && a.ordering() == 'c' && a.offset() == 0
                && a.data().length() == a.length();
    }

    private static INDArray contiguous(INDArray a) {
        return direct(a) ? a : a.castTo(DataType.FLOAT).dup('c');
    }

    private static FloatBuffer buffer(INDArray a) {
        FloatBuffer b = a.data().asNioFloat();
        b.position(0).limit((int) a.length());
        return b;
    }

    private static void written(INDArray used, INDArray target) {
        Nd4j.getAffinityManager().tagLocation(used, AffinityManager.Location.HOST);
        if (used != target) {
            target.assign(used);
        }
    }
}
