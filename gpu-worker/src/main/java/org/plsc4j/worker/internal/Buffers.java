package org.plsc4j.worker.internal;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Batch-sized native arrays reused from step to step, one per (role, shape): a training step at a
 * fixed batch size allocates nothing after the first. When the batch size changes all of them are
 * freed at once ({@link INDArray#close()}), not left to the garbage collector, whose timing is what
 * made the SameDiff engine's resident memory climb.
 */
final class Buffers {

    private final Map<String, INDArray> arrays = new HashMap<>();
    private final DataType dataType;
    private long batch = -1;

    Buffers(DataType dataType) {
        this.dataType = dataType;
    }

    /** The array for {@code role} of {@code shape} (shape[0] = batch), uninitialised on first use. */
    INDArray get(String role, long... shape) {
        if (shape[0] != batch) {
            release();
            batch = shape[0];
        }
        return arrays.computeIfAbsent(role + Arrays.toString(shape), k -> Nd4j.createUninitialized(dataType, shape));
    }

    /** Bytes currently held. */
    long bytes() {
        long n = 0;
        for (INDArray a : arrays.values()) {
            n += a.length() * a.dataType().width();
        }
        return n;
    }

    /** Frees every array now. */
    void release() {
        for (INDArray a : arrays.values()) {
            a.close();
        }
        arrays.clear();
        batch = -1;
    }
}
