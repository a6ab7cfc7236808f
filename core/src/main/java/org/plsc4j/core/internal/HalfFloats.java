package org.plsc4j.core.internal;

/**
 * float32 ↔ float16 / bfloat16 conversions with round-to-nearest-even, hand-written.
 *
 * <p>Why hand-written: Java 17 has no {@code Float.floatToFloat16}, and ND4J's {@code castTo}
 * allocates a new array per call (the FC step converts a chunk of rows into a reused buffer, many
 * times per step). These are the standard bit manipulations: NaN stays NaN (quiet), values beyond the
 * largest finite half round to infinity, float16 subnormals are produced and read exactly, ties go to
 * the even significand. Reading float16 goes through a 64K-entry table.
 */
public final class HalfFloats {

    private static final float[] HALF_TO_FLOAT = new float[65536];

    static {
        for (int h = 0; h < 65536; h++) {
            HALF_TO_FLOAT[h] = slowHalfToFloat((short) h);
        }
    }

    private HalfFloats() {
    }

    /** The bfloat16 bits nearest to {@code f} (ties to even; NaN stays a quiet NaN). */
    public static short floatToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7fffffff) > 0x7f800000) {
            return (short) ((bits >>> 16) | 0x40);
        }
        return (short) ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16);
    }

    /** The float32 value of bfloat16 bits {@code h} (exact). */
    public static float bf16ToFloat(short h) {
        return Float.intBitsToFloat((h & 0xffff) << 16);
    }

    /** The IEEE binary16 bits nearest to {@code f} (ties to even; overflow to ±Inf; NaN stays a quiet NaN). */
    public static short floatToHalf(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int abs = bits & 0x7fffffff;
        if (abs - 0x38800000 >= 0 && abs < 0x477ff000) { // the common case first: a normal half
            int r = abs + 0xfff + ((abs >>> 13) & 1);
            return (short) (sign | ((r - 0x38000000) >>> 13));
        }
        if (abs >= 0x7f800000) {
            return (short) (sign | 0x7c00 | (abs > 0x7f800000 ? 0x200 | ((abs >>> 13) & 0x3ff) : 0));
        }
        if (abs >= 0x477ff000) { // >= 65520: rounds to infinity
            return (short) (sign | 0x7c00);
        }
        if (abs >= 0x38800000) { // >= 2^-14: a normal half
            int r = abs + 0xfff + ((abs >>> 13) & 1);
            return (short) (sign | ((r - 0x38000000) >>> 13));
        }
        if (abs <= 0x33000000) { // <= 2^-25: rounds to zero (2^-25 is a tie, to the even zero)
            return (short) sign;
        }
        int e = abs >>> 23;
        int m = (abs & 0x7fffff) | 0x800000;
        int shift = 126 - e; // value / 2^-24 = m * 2^(e - 126)
        int r = m >>> shift;
        int rem = m & ((1 << shift) - 1);
        int half = 1 << (shift - 1);
        if (rem > half || (rem == half && (r & 1) == 1)) {
            r++;
        }
        return (short) (sign | r);
    }

    /** The float32 value of binary16 bits {@code h} (exact). */
    public static float halfToFloat(short h) {
        return HALF_TO_FLOAT[h & 0xffff];
    }

    private static float slowHalfToFloat(short h) {
        int sign = (h & 0x8000) << 16;
        int exp = (h >>> 10) & 0x1f;
        int mant = h & 0x3ff;
        if (exp == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        }
        if (exp == 0) {
            float v = mant * 0x1p-24f;
            return sign != 0 ? -v : v;
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }

    /** {@code dst[i] = value(src[i])} for {@code n} values, {@code bf16} choosing bfloat16 over float16. */
    public static void toFloat(short[] src, float[] dst, int n, boolean bf16) {
        if (bf16) {
            for (int i = 0; i < n; i++) {
                dst[i] = Float.intBitsToFloat((src[i] & 0xffff) << 16);
            }
        } else {
            for (int i = 0; i < n; i++) {
                dst[i] = HALF_TO_FLOAT[src[i] & 0xffff];
            }
        }
    }

    /** {@code dst[i] = round(src[i])} for {@code n} values, {@code bf16} choosing bfloat16 over float16. */
    public static void fromFloat(float[] src, short[] dst, int n, boolean bf16) {
        if (bf16) {
            for (int i = 0; i < n; i++) {
                dst[i] = floatToBf16(src[i]);
            }
        } else {
            for (int i = 0; i < n; i++) {
                dst[i] = floatToHalf(src[i]);
            }
        }
    }
}
