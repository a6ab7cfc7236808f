package org.plsc4j.core.internal;

import java.util.stream.IntStream;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.ShortPointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Row access to an FC shard's storage (a C-order [rows, D] array of FLOAT, HALF or BFLOAT16) in
 * float32: reads convert exactly, writes round to nearest even ({@link HalfFloats}).
 *
 * <p>Why: the step, checkpoints and warm starts must never hold a full-size float32 copy of a
 * half-precision shard (it would cost more than the half storage saves), so every path moves rows
 * through small reused float arrays, addressed by a native pointer (a shard of 8M × 512 values is past
 * what a Java buffer can index).
 */
public final class StoredRows {

    /** Rows converted per block by {@link #copy} and {@link #rowNorms}. */
    private static final int BLOCK_ROWS = 1024;

    private StoredRows() {
    }

    /** Whether {@code a} can be a shard's storage: a dense C-order matrix of FLOAT, HALF or BFLOAT16. */
    @SuppressWarnings("deprecation")
    public static boolean isStorage(INDArray a) {
        DataType t = a.dataType();
        return a.rank() == 2 && a.ordering() == 'c' && a.stride(1) == 1 && (a.rows() <= 1 || a.stride(0) == a.columns())
                && (t == DataType.FLOAT || t == DataType.HALF || t == DataType.FLOAT16 || t == DataType.BFLOAT16);
    }

    private static void check(INDArray a) {
        if (!isStorage(a)) {
            throw new IllegalArgumentException("FC storage : " + a.shapeInfoToString()
                    + " (expected: a C-order matrix of FLOAT, HALF or BFLOAT16 with contiguous rows)");
        }
    }

    /** Reads rows {@code [r0, r0 + n)} of {@code store} into {@code dst} from {@code dstOff} on, as float32. */
    public static void read(INDArray store, long r0, int n, float[] dst, int dstOff) {
        check(store);
        new Access(store).read(r0, n, dst, dstOff);
    }

    /** Writes {@code n} rows from {@code src[srcOff..]} to rows {@code [r0, r0 + n)} of {@code store}, rounded. */
    public static void write(INDArray store, long r0, int n, float[] src, int srcOff) {
        check(store);
        new Access(store).write(r0, n, src, srcOff);
    }

    /**
     * {@code dst[j] = store[rows(j)]} for j in [0, k), where rows(j) is {@code idx[from + j]}, or
     * {@code from + j} when {@code idx} is null; {@code dst} is a FLOAT chunk with contiguous rows.
     */
    public static void gather(INDArray store, INDArray dst, int[] idx, int from, int k) {
        check(store);
        int d = store.columns();
        FloatPointer out = new FloatPointer(dst.data().addressPointer());
        long limit = store.rows();
        parallel(k, (j0, j1) -> {
            Access a = new Access(store);
            FloatPointer o = new FloatPointer(out);
            float[] row = new float[d];
            for (int j = j0; j < j1; j++) {
                long r = idx == null ? from + j : idx[from + j];
                if (r < 0 || r >= limit) {
                    throw new IndexOutOfBoundsException("row : " + r + " (expected: 0 <= row < " + limit + ")");
                }
                a.read(r, 1, row, 0);
                o.position((long) j * d).put(row, 0, d);
            }
        });
    }

    /**
     * {@code store[rows(j)] = round(src[j])} for j in [0, k) (rows(j) as in {@link #gather}); when
     * {@code norms} is not null, {@code norms[j]} becomes the L2 norm of the stored (rounded) row.
     */
    public static void scatter(INDArray src, INDArray store, int[] idx, int from, int k, float[] norms) {
        check(store);
        int d = store.columns();
        FloatPointer in = new FloatPointer(src.data().addressPointer());
        long limit = store.rows();
        parallel(k, (j0, j1) -> {
            Access a = new Access(store);
            FloatPointer p = new FloatPointer(in);
            float[] row = new float[d];
            for (int j = j0; j < j1; j++) {
                long r = idx == null ? from + j : idx[from + j];
                if (r < 0 || r >= limit) {
                    throw new IndexOutOfBoundsException("row : " + r + " (expected: 0 <= row < " + limit + ")");
                }
                p.position((long) j * d).get(row, 0, d);
                a.writeRounding(r, row);
                if (norms != null) {
                    norms[j] = MomentumUpdate.norm(row, d);
                }
            }
        });
    }

    /** The L2 norms of rows {@code [from, to)} of {@code store} into {@code out[from..to)}. */
    public static void rowNorms(INDArray store, int from, int to, float[] out) {
        check(store);
        int d = store.columns();
        int blocks = (to - from + BLOCK_ROWS - 1) / BLOCK_ROWS;
        IntStream.range(0, blocks).parallel().forEach(b -> {
            int r0 = from + b * BLOCK_ROWS;
            int n = Math.min(BLOCK_ROWS, to - r0);
            float[] buf = new float[n * d];
            new Access(store).read(r0, n, buf, 0);
            float[] row = new float[d];
            for (int j = 0; j < n; j++) {
                System.arraycopy(buf, j * d, row, 0, d);
                out[r0 + j] = MomentumUpdate.norm(row, d);
            }
        });
    }

    /** {@code dst = src} converted row block by row block (any of the three types each side; same shape). */
    public static void copy(INDArray src, INDArray dst) {
        check(src);
        check(dst);
        if (src.rows() != dst.rows() || src.columns() != dst.columns()) {
            throw new IllegalArgumentException("FC storage copy shapes : " + java.util.Arrays.toString(src.shape())
                    + " -> " + java.util.Arrays.toString(dst.shape()));
        }
        int d = src.columns();
        long rows = src.rows();
        long blocks = (rows + BLOCK_ROWS - 1) / BLOCK_ROWS;
        IntStream.range(0, (int) blocks).parallel().forEach(b -> {
            long r0 = (long) b * BLOCK_ROWS;
            int n = (int) Math.min(BLOCK_ROWS, rows - r0);
            float[] buf = new float[n * d];
            new Access(src).read(r0, n, buf, 0);
            new Access(dst).write(r0, n, buf, 0);
        });
    }

    /** Whether every value of rows {@code [from, to)} is finite. */
    public static boolean allFinite(INDArray store, long from, long to) {
        check(store);
        int d = store.columns();
        float[] buf = new float[BLOCK_ROWS * d];
        Access a = new Access(store);
        for (long r0 = from; r0 < to; r0 += BLOCK_ROWS) {
            int n = (int) Math.min(BLOCK_ROWS, to - r0);
            a.read(r0, n, buf, 0);
            for (int i = 0; i < n * d; i++) {
                if (!Float.isFinite(buf[i])) {
                    return false;
                }
            }
        }
        return true;
    }

    private interface Range {
        void run(int from, int to);
    }

    private static void parallel(int k, Range r) {
        int parts = k >= 256 ? 2 : 1;
        if (parts == 1) {
            r.run(0, k);
        } else {
            IntStream.range(0, parts).parallel().forEach(p -> r.run(p * k / parts, (p + 1) * k / parts));
        }
    }

    /** One thread's pointer into a storage array (pointers carry a mutable position). */
    private static final class Access {
        private final int d;
        private final FloatPointer f;
        private final ShortPointer s;
        private final boolean bf16;
        private short[] bits = new short[0];

        Access(INDArray store) {
            this.d = store.columns();
            if (store.dataType() == DataType.FLOAT) {
                f = new FloatPointer(store.data().addressPointer());
                s = null;
            } else {
                f = null;
                s = new ShortPointer(store.data().addressPointer());
            }
            this.bf16 = store.dataType() == DataType.BFLOAT16;
        }

        void read(long r0, int n, float[] dst, int off) {
            int len = n * d;
            if (f != null) {
                f.position(r0 * d).get(dst, off, len);
                return;
            }
            short[] b = bits(len);
            s.position(r0 * d).get(b, 0, len);
            if (off == 0) {
                HalfFloats.toFloat(b, dst, len, bf16);
            } else {
                float[] tmp = new float[len];
                HalfFloats.toFloat(b, tmp, len, bf16);
                System.arraycopy(tmp, 0, dst, off, len);
            }
        }

        void write(long r0, int n, float[] src, int off) {
            int len = n * d;
            if (f != null) {
                f.position(r0 * d).put(src, off, len);
                return;
            }
            short[] b = bits(len);
            if (off == 0) {
                HalfFloats.fromFloat(src, b, len, bf16);
            } else {
                float[] tmp = new float[len];
                System.arraycopy(src, off, tmp, 0, len);
                HalfFloats.fromFloat(tmp, b, len, bf16);
            }
            s.position(r0 * d).put(b, 0, len);
        }

        /** Writes one row at {@code r} and leaves in {@code row} what was stored (one conversion each way). */
        void writeRounding(long r, float[] row) {
            int len = row.length;
            if (f != null) {
                f.position(r * d).put(row, 0, len);
                return;
            }
            short[] b = bits(len);
            HalfFloats.fromFloat(row, b, len, bf16);
            s.position(r * d).put(b, 0, len);
            HalfFloats.toFloat(b, row, len, bf16);
        }

        private short[] bits(int len) {
            if (bits.length < len) {
                bits = new short[len];
            }
            return bits;
        }
    }
}
