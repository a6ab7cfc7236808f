package org.plsc4j.core;

import java.util.Arrays;
import java.util.Locale;
import org.nd4j.linalg.api.buffer.DataType;
import org.plsc4j.core.internal.HalfFloats;

/**
 * The storage type of the FC shards' weights and momentum ({@code fc_dtype}): compute is always
 * float32, half precision is for capacity.
 *
 * <p>Why storage only: on the CPU backend half-precision matmul is 170–1500× slower than float32, so
 * mixed precision here halves the bytes of the one structure that grows with the class count. There
 * is no float32 master copy (it would cost more than it saves): every step converts the rows it
 * touches to float32 in a reused chunk buffer, computes, and writes them back rounded to nearest even
 * (deterministic, so N workers still equal one worker bit for bit). An update smaller than half a unit
 * in the last place of a stored value is lost; with bfloat16 (8 significand bits) that is a relative
 * change below 2⁻⁹, with float16 (11 bits) below 2⁻¹².
 */
@SuppressWarnings("deprecation") // DataType.HALF: what ND4J M2.1's factories create for float16
public enum FcDtype {
    /** IEEE binary32 (the default; {@code .npy} {@code <f4}). */
    FLOAT32("float32", DataType.FLOAT, 4),
    /** IEEE binary16, 5 exponent bits (max 65504; {@code .npy} {@code <f2}). */
    FLOAT16("float16", DataType.HALF, 2),
    /** bfloat16: float32's exponent, 8 significand bits ({@code .npy} {@code <u2} raw bits). */
    BFLOAT16("bfloat16", DataType.BFLOAT16, 2);

    private final String key;
    private final DataType dataType;
    private final int bytes;

    FcDtype(String key, DataType dataType, int bytes) {
        this.key = key;
        this.dataType = dataType;
        this.bytes = bytes;
    }

    /** The name in YAML, the CLI and the checkpoint manifest ({@code float32}, {@code float16}, {@code bfloat16}). */
    public String key() {
        return key;
    }

    /** ND4J's type of the storage arrays. */
    public DataType dataType() {
        return dataType;
    }

    /** Bytes per stored value. */
    public int bytes() {
        return bytes;
    }

    /** What {@code v} becomes when stored in this type and read back (round to nearest even). */
    public float round(float v) {
        return switch (this) {
            case FLOAT32 -> v;
            case FLOAT16 -> HalfFloats.halfToFloat(HalfFloats.floatToHalf(v));
            case BFLOAT16 -> HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(v));
        };
    }

    /**
     * The dtype named {@code name} (case-insensitive), {@code field} naming the key in the message.
     *
     * @throws IllegalArgumentException naming the field, the value and the accepted names
     */
    public static FcDtype parse(String field, String name) {
        if (name != null) {
            String n = name.toLowerCase(Locale.ROOT);
            for (FcDtype t : values()) {
                if (t.key.equals(n)) {
                    return t;
                }
            }
        }
        throw new IllegalArgumentException(field + " : " + name + " (expected: one of "
                + Arrays.stream(values()).map(FcDtype::key).toList() + ")");
    }

    /** The dtype whose storage arrays have ND4J type {@code type}. */
    public static FcDtype of(DataType type) {
        for (FcDtype t : values()) {
            if (t.dataType == type) {
                return t;
            }
        }
        if (type == DataType.FLOAT16) {
            return FLOAT16;
        }
        throw new IllegalArgumentException("dtype : " + type + " (expected: FLOAT, HALF or BFLOAT16)");
    }

    @Override
    public String toString() {
        return key;
    }
}
