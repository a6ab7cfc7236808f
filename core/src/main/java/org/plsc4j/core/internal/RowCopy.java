package org.plsc4j.core.internal;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Gathers and scatters whole rows between row-major float matrices with one {@code memcpy} per row.
 *
 * <p>Why not ND4J ops or NIO: a shard of 1M × 512 floats is 2 GiB, past what a {@link java.nio.ByteBuffer}
 * can address, and ND4J M2.1's scatter ops fail validation on this use; the rows are contiguous, so a
 * native copy per row is both simple and as fast as memory allows.
 */
public final class RowCopy {

    private RowCopy() {
    }

    /** {@code dst[j] = src[rows[j]]} for every j; dst must hold at least {@code rows.length} rows. */
    public static void gather(INDArray src, INDArray dst, int[] rows) {
        long rowBytes = checkAndRowBytes(src, dst, rows.length);
        BytePointer s = base(src);
        BytePointer d = base(dst);
        long limit = src.rows();
        for (int j = 0; j < rows.length; j++) {
            checkRow(rows[j], limit);
            Pointer.memcpy(d.position(j * rowBytes), s.position(rows[j] * rowBytes), rowBytes);
        }
    }

    /** {@code dst[rows[j]] = src[j]} for every j; src must hold at least {@code rows.length} rows. */
    public static void scatter(INDArray src, INDArray dst, int[] rows) {
        long rowBytes = checkAndRowBytes(dst, src, rows.length);
        BytePointer s = base(src);
        BytePointer d = base(dst);
        long limit = dst.rows();
        for (int j = 0; j < rows.length; j++) {
            checkRow(rows[j], limit);
            Pointer.memcpy(d.position(rows[j] * rowBytes), s.position(j * rowBytes), rowBytes);
        }
    }

    private static long checkAndRowBytes(INDArray big, INDArray small, int n) {
        if (big.dataType() != DataType.FLOAT || small.dataType() != DataType.FLOAT) {
            throw new IllegalArgumentException("RowCopy works on FLOAT matrices, got " + big.dataType() + " and "
                    + small.dataType());
        }
        if (big.columns() != small.columns() || small.rows() < n) {
            throw new IllegalArgumentException("RowCopy shapes : [" + big.rows() + ", " + big.columns() + "] and ["
                    + small.rows() + ", " + small.columns() + "] for " + n + " rows");
        }
        if (big.ordering() != 'c' || small.ordering() != 'c' || big.stride(0) != big.columns()
                || small.stride(0) != small.columns() || big.stride(1) != 1 || small.stride(1) != 1) {
            throw new IllegalArgumentException("RowCopy needs row-major matrices with contiguous rows");
        }
        return big.columns() * 4L;
    }

    private static void checkRow(int row, long limit) {
        if (row < 0 || row >= limit) {
            throw new IndexOutOfBoundsException("row : " + row + " (expected: 0 <= row < " + limit + ")");
        }
    }

    /** The address of element [0, 0]: a view's {@code data()} already starts at the view's offset. */
    private static BytePointer base(INDArray a) {
        return new BytePointer(a.data().addressPointer());
    }
}
