package org.plsc4j.core.io;

import java.util.Arrays;
import java.util.stream.Collectors;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The numpy dtypes plsc4j reads and writes, all little-endian.
 *
 * <p>Why so few: checkpoints hold float32 weights and momentum, float64/int64 optimizer and
 * batch-norm state and float16 for storage only; anything else in a checkpoint is a mistake worth an
 * error rather than a silent conversion.
 *
 * <p>ND4J M2.1 has two names for three of these types ({@code HALF}/{@code FLOAT16}, {@code INT}/
 * {@code INT32}, {@code LONG}/{@code INT64}); its array factories still produce the deprecated names,
 * so those are what {@link #dataType()} returns, and {@link #of(DataType)} accepts both.
 */
@SuppressWarnings("deprecation") // HALF, INT, LONG: what ND4J M2.1's factories create (see above)
public enum NpyDType {
    /** {@code <f2}: IEEE binary16, ND4J {@link DataType#HALF}. */
    F2("<f2", 2, DataType.HALF),
    /**
     * {@code <u2}: 16 raw bits. Used for bfloat16 (ND4J {@link DataType#BFLOAT16}), which numpy has no
     * dtype for; the checkpoint manifest says which arrays are bfloat16 ({@code fc_dtype}).
     */
    U2("<u2", 2, DataType.BFLOAT16),
    /** {@code <f4}: float32, ND4J {@link DataType#FLOAT}. */
    F4("<f4", 4, DataType.FLOAT),
    /** {@code <f8}: float64, ND4J {@link DataType#DOUBLE}. */
    F8("<f8", 8, DataType.DOUBLE),
    /** {@code <i4}: int32, ND4J {@link DataType#INT}. */
    I4("<i4", 4, DataType.INT),
    /** {@code <i8}: int64, ND4J {@link DataType#LONG}. */
    I8("<i8", 8, DataType.LONG);

    private final String descr;
    private final int itemSize;
    private final DataType dataType;

    NpyDType(String descr, int itemSize, DataType dataType) {
        this.descr = descr;
        this.itemSize = itemSize;
        this.dataType = dataType;
    }

    /** The numpy {@code descr} string, e.g. {@code <f4}. */
    public String descr() {
        return descr;
    }

    /** Bytes per element. */
    public int itemSize() {
        return itemSize;
    }

    /** The ND4J data type with the same memory representation. */
    public DataType dataType() {
        return dataType;
    }

    /** The dtype of a {@code descr} string, or null when it is not supported. */
    static NpyDType ofDescr(String descr) {
        for (NpyDType t : values()) {
            if (t.descr.equals(descr)) {
                return t;
            }
        }
        return null;
    }

    /** The dtype storing ND4J's {@code type}; the message names the type and the supported ones. */
    public static NpyDType of(DataType type) {
        for (NpyDType t : values()) {
            if (t.dataType == type) {
                return t;
            }
        }
        if (type == DataType.FLOAT16) {
            return F2;
        }
        if (type == DataType.UINT16) {
            return U2;
        }
        if (type == DataType.INT32) {
            return I4;
        }
        if (type == DataType.INT64) {
            return I8;
        }
        throw new IllegalArgumentException("dtype : " + type + " (expected: one of "
                + Arrays.stream(values()).map(t -> t.dataType.name()).collect(Collectors.joining(", ")) + ")");
    }

    /** Whether ND4J's {@code type} has this dtype's memory representation (either of ND4J's names for it). */
    boolean matches(DataType type) {
        return type == dataType || (this == F2 && type == DataType.FLOAT16) || (this == U2 && type == DataType.UINT16) || (this == I4 && type == DataType.INT32)
                || (this == I8 && type == DataType.INT64);
    }

    /** The supported descr strings, for messages. */
    static String supportedDescrs() {
        return Arrays.stream(values()).map(t -> "'" + t.descr + "'").collect(Collectors.joining(", "));
    }
}
