package org.plsc4j.core;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.plsc4j.core.internal.StoredRows;

/**
 * Row-block access to FC storage arrays (C-order [rows, D] of FLOAT, HALF or BFLOAT16) for the modules
 * that move FC rows (checkpoints, reshard, warm start): conversions go through small float32 blocks,
 * rounding to nearest even when narrowing, so no full-size float32 copy of a half shard is made.
 */
public final class FcStorage {

    private FcStorage() {
    }

    /** {@code dst = src} row block by row block, converting between the storage types (same shape). */
    public static void copy(INDArray src, INDArray dst) {
        StoredRows.copy(src, dst);
    }

    /** Reads rows {@code [r0, r0 + n)} of {@code store} into {@code dst} (float32, n·D values from dstOff). */
    public static void read(INDArray store, long r0, int n, float[] dst, int dstOff) {
        StoredRows.read(store, r0, n, dst, dstOff);
    }

    /** Writes {@code n} rows of float32 values to rows {@code [r0, r0 + n)} of {@code store}, rounded to its type. */
    public static void write(INDArray store, long r0, int n, float[] src, int srcOff) {
        StoredRows.write(store, r0, n, src, srcOff);
    }

    /** Whether every value of rows {@code [from, to)} of {@code store} is finite. */
    public static boolean allFinite(INDArray store, long from, long to) {
        return StoredRows.allFinite(store, from, to);
    }
}
