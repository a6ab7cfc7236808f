package org.plsc4j.core.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class FastExpTest {

    @Test
    void relativeErrorBelowTwoUlpsOverTheWholeRange() {
        int n = 100_003; // odd: no loop ends on a multiple of the vector width
        float[] x = new float[n];
        SplittableRandom rng = new SplittableRandom(11);
        for (int j = 0; j < n; j++) {
            x[j] = (float) (-30.0 * rng.nextDouble());
        }
        float[] special = {0f, -0f, -1e-30f, -0.34657359f, -0.34657362f, -0.6931472f, -1f, -22.18071f, -29.999998f, -30f};
        System.arraycopy(special, 0, x, 0, special.length);
        float[] out = new float[n];
        FastExp.row(x, 0f, out, new float[n], n);
        double worst = 0;
        for (int j = 0; j < n; j++) {
            double want = Math.exp(x[j]);
            worst = Math.max(worst, Math.abs(out[j] - want) / want);
        }
        assertTrue(worst < 2.4e-7, "max relative error " + worst);
        assertEquals(1f, out[0]);
    }

    @Test
    void clampsFlushesAndSumsWithAShift() {
        int n = 37;
        float shift = 5.5f;
        float[] x = new float[n];
        for (int j = 0; j < n; j++) {
            x[j] = shift - j * 1.7f; // from 0 down to −61 below the shift: the tail is clamped
        }
        x[3] = Float.NEGATIVE_INFINITY;
        float[] out = new float[n];
        float sum = FastExp.rowFlushed(x, shift, out, new float[n], n);
        double want = 0;
        for (int j = 0; j < n; j++) {
            double d = (double) x[j] - shift;
            double e = d <= -FastExp.MIN_ARG ? 0 : Math.exp(d) - FastExp.FLOOR;
            if (d <= -FastExp.MIN_ARG) {
                assertEquals(0f, out[j], "flushed entry " + j);
            } else {
                assertEquals(e, out[j], 2.4e-7 * Math.exp(d), "entry " + j);
            }
            want += e;
        }
        assertEquals(want, sum, 1e-6 * want);
        assertEquals(Math.exp(-FastExp.MIN_ARG), FastExp.FLOOR, 2.4e-7 * Math.exp(-FastExp.MIN_ARG));
    }
}
