package org.plsc4j.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.plsc4j.core.TestSeed;

/** The hand-written converters against an exact BigDecimal round-to-nearest-even reference. */
@ExtendWith(TestSeed.class)
class HalfFloatsTest {

    /** Every finite value of a format with {@code mant} fraction bits, exponent range [emin, emax], as BigDecimal. */
    private static BigDecimal value(int bits, int mantBits, int expBits) {
        int bias = (1 << (expBits - 1)) - 1;
        int exp = (bits >>> mantBits) & ((1 << expBits) - 1);
        int mant = bits & ((1 << mantBits) - 1);
        boolean neg = ((bits >>> (mantBits + expBits)) & 1) != 0;
        BigDecimal v;
        if (exp == 0) {
            v = new BigDecimal(mant).multiply(pow2(1 - bias - mantBits));
        } else {
            v = new BigDecimal(mant + (1 << mantBits)).multiply(pow2(exp - bias - mantBits));
        }
        return neg ? v.negate() : v;
    }

    private static BigDecimal pow2(int e) {
        return e >= 0 ? new BigDecimal(java.math.BigInteger.TWO.pow(e))
                : BigDecimal.ONE.divide(new BigDecimal(java.math.BigInteger.TWO.pow(-e)));
    }

    /** The reference: the nearest finite value of the format, ties to even, beyond max + half ulp to Inf. */
    private static short reference(float f, int mantBits, int expBits) {
        int maxBits = ((((1 << expBits) - 1) - 1) << mantBits) | ((1 << mantBits) - 1);
        int signBit = 1 << (mantBits + expBits);
        BigDecimal x = new BigDecimal(f).abs();
        int sign = Float.floatToRawIntBits(f) < 0 ? signBit : 0;
        // binary search over the positive encodings (monotone in value)
        int lo = 0;
        int hi = maxBits;
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (value(mid, mantBits, expBits).compareTo(x) <= 0) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        int below = lo;
        BigDecimal vb = value(below, mantBits, expBits);
        if (vb.compareTo(x) == 0) {
            return (short) (sign | below);
        }
        BigDecimal va = below == maxBits
                ? value(maxBits, mantBits, expBits).add(pow2((maxBits >>> mantBits) - ((1 << (expBits - 1)) - 1) - mantBits))
                : value(below + 1, mantBits, expBits);
        int cmp = x.subtract(vb).compareTo(va.subtract(x));
        int pick = cmp < 0 ? below : cmp > 0 ? below + 1 : ((below & 1) == 0 ? below : below + 1);
        return (short) (sign | pick); // maxBits + 1 is the infinity encoding
    }

    private static void check(float f) {
        assertEquals(reference(f, 10, 5), HalfFloats.floatToHalf(f), () -> "half of " + f + " (" + Float.toHexString(f) + ")");
        assertEquals(reference(f, 7, 8), HalfFloats.floatToBf16(f), () -> "bf16 of " + f + " (" + Float.toHexString(f) + ")");
    }

    @Test
    void edgeCasesRoundToNearestEven() {
        float[] edge = {0f, -0f, 1f, -1f, 65504f, 65519.99f, 65520f, 65536f, -65520f, 0x1p-14f, 0x1p-24f, 0x1p-25f,
            Math.nextUp(0x1p-25f), 0x1.8p-24f, 0x1.8p-25f, 0x1p-26f, 0x1.ffcp-15f, Math.nextDown(0x1p-14f),
            1f + 0x1p-11f, 1f + 0x3p-11f, 1f + 0x1p-8f, 1f + 0x3p-8f, Float.MAX_VALUE, -Float.MAX_VALUE,
            Float.MIN_VALUE, Float.MIN_NORMAL, 3.3895314e38f, 0.1f, 1e-8f, 1234.5f};
        for (float f : edge) {
            check(f);
        }
        // ties: 1 + half an ulp goes down to the even 1, 1 + 1.5 ulp up to the even 1 + 2 ulp
        assertEquals(1f, HalfFloats.halfToFloat(HalfFloats.floatToHalf(1f + 0x1p-11f)));
        assertEquals(1f + 0x1p-9f, HalfFloats.halfToFloat(HalfFloats.floatToHalf(1f + 0x3p-11f)));
        assertEquals(1f, HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(1f + 0x1p-8f)));
        assertEquals(Float.POSITIVE_INFINITY, HalfFloats.halfToFloat(HalfFloats.floatToHalf(65520f)));
        assertEquals(65504f, HalfFloats.halfToFloat(HalfFloats.floatToHalf(Math.nextDown(65520f))));
        assertEquals(0x1p-24f, HalfFloats.halfToFloat(HalfFloats.floatToHalf(Math.nextUp(0x1p-25f))));
        assertEquals(Float.POSITIVE_INFINITY, HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(Float.MAX_VALUE)));
    }

    @Test
    void infinitiesAndNaNs() {
        assertEquals(Float.POSITIVE_INFINITY, HalfFloats.halfToFloat(HalfFloats.floatToHalf(Float.POSITIVE_INFINITY)));
        assertEquals(Float.NEGATIVE_INFINITY, HalfFloats.halfToFloat(HalfFloats.floatToHalf(Float.NEGATIVE_INFINITY)));
        assertEquals(Float.NEGATIVE_INFINITY, HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(Float.NEGATIVE_INFINITY)));
        assertTrue(Float.isNaN(HalfFloats.halfToFloat(HalfFloats.floatToHalf(Float.NaN))));
        assertTrue(Float.isNaN(HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(Float.NaN))));
        // a NaN whose payload is only in the low bits must not become an infinity
        float lowNaN = Float.intBitsToFloat(0x7f800001);
        assertTrue(Float.isNaN(HalfFloats.halfToFloat(HalfFloats.floatToHalf(lowNaN))));
        assertTrue(Float.isNaN(HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(lowNaN))));
    }

    @Test
    void everyHalfAndBf16ValueReadsExactlyAndRoundTrips() {
        for (int h = 0; h < 65536; h++) {
            short s = (short) h;
            float f = HalfFloats.halfToFloat(s);
            if ((h & 0x7c00) != 0x7c00) {
                assertEquals(0, value(h, 10, 5).compareTo(new BigDecimal(f)), "half bits " + Integer.toHexString(h));
                assertEquals(s, HalfFloats.floatToHalf(f), "half round trip " + Integer.toHexString(h));
            }
            float b = HalfFloats.bf16ToFloat(s);
            if (!Float.isNaN(b)) {
                assertEquals(s, HalfFloats.floatToBf16(b), "bf16 round trip " + Integer.toHexString(h));
            }
        }
    }

    @Test
    void randomFloatsOfEveryMagnitudeMatchTheReference() {
        SplittableRandom rng = new SplittableRandom(TestSeed.of("half-random"));
        for (int i = 0; i < 20_000; i++) {
            float f = Float.intBitsToFloat(rng.nextInt());
            if (Float.isNaN(f) || Float.isInfinite(f)) {
                continue;
            }
            check(f);
            // values near the float16 range, where subnormals and overflow live
            check((float) (rng.nextDouble(-70000, 70000) * Math.pow(2, -rng.nextInt(0, 30))));
        }
    }

    @Test
    void midpointsBetweenNeighboursAreTiesToEven() {
        MathContext exact = MathContext.UNLIMITED;
        for (int h = 0x0001; h < 0x7bff; h += 37) {
            BigDecimal mid = value(h, 10, 5).add(value(h + 1, 10, 5), exact).divide(BigDecimal.valueOf(2), exact);
            float f = mid.floatValue();
            if (new BigDecimal(f).compareTo(mid) == 0) {
                int even = (h & 1) == 0 ? h : h + 1;
                assertEquals((short) even, HalfFloats.floatToHalf(f), "tie at " + mid.round(new MathContext(8,
                        RoundingMode.HALF_EVEN)));
            }
        }
    }
}
