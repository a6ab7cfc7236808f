package org.plsc4j.serving.internal;

/** L2 normalisation of one embedding, accumulated in double. */
public final class Normalize {

    private Normalize() {
    }

    /** {@code v / ||v||} (a zero vector stays zero). */
    public static float[] l2(float[] v) {
        double s = 0;
        for (float x : v) {
            s += (double) x * x;
        }
        float[] out = new float[v.length];
        if (s == 0) {
            return out;
        }
        double inv = 1 / Math.sqrt(s);
        for (int i = 0; i < v.length; i++) {
            out[i] = (float) (v[i] * inv);
        }
        return out;
    }
}
