package org.plsc4j.data.internal;

/**
 * Bilinear resize of one channel, hand-written (no Java2D) so that the result is the same on every
 * JVM and matches OpenCV's {@code INTER_LINEAR} sampling convention, which PLSC's readers use:
 * pixel centres are aligned ({@code src = (dst + 0.5)·scale − 0.5}, clamped to the image).
 * Unlike OpenCV the result is not rounded back to 8 bits.
 */
public final class Bilinear {

    private Bilinear() {
    }

    /** Resizes {@code src} [sh, sw] (row-major) into {@code dst} at {@code dstOff} [dh, dw]. */
    public static void resize(float[] src, int sh, int sw, float[] dst, int dstOff, int dh, int dw) {
        int[] x0 = new int[dw];
        int[] x1 = new int[dw];
        float[] fx = new float[dw];
        double scaleX = (double) sw / dw;
        for (int x = 0; x < dw; x++) {
            double s = Math.min(Math.max((x + 0.5) * scaleX - 0.5, 0), sw - 1);
            x0[x] = (int) s;
            x1[x] = Math.min(x0[x] + 1, sw - 1);
            fx[x] = (float) (s - x0[x]);
        }
        double scaleY = (double) sh / dh;
        for (int y = 0; y < dh; y++) {
            double s = Math.min(Math.max((y + 0.5) * scaleY - 0.5, 0), sh - 1);
            int y0 = (int) s;
            int y1 = Math.min(y0 + 1, sh - 1);
            float fy = (float) (s - y0);
            int r0 = y0 * sw;
            int r1 = y1 * sw;
            int o = dstOff + y * dw;
            for (int x = 0; x < dw; x++) {
                float top = src[r0 + x0[x]] + (src[r0 + x1[x]] - src[r0 + x0[x]]) * fx[x];
                float bottom = src[r1 + x0[x]] + (src[r1 + x1[x]] - src[r1 + x0[x]]) * fx[x];
                dst[o + x] = top + (bottom - top) * fy;
            }
        }
    }
}
