package org.plsc4j.core;

/**
 * The combined margin of {@code margin_cross_entropy}: target logit {@code s·(cos(m1·θ + m2) − m3)},
 * other logits {@code s·cos θ}. Softmax is (1, 0, 0), ArcFace (1, m2, 0), CosFace (1, 0, m3).
 *
 * @param m1 multiplicative angular margin (SphereFace), {@code >= 1}... in practice 1
 * @param m2 additive angular margin (ArcFace), in [0, π)
 * @param m3 additive cosine margin (CosFace), {@code >= 0}
 * @param scale the logit scale s, {@code > 0}
 */
public record MarginConfig(double m1, double m2, double m3, double scale) {

    /** Largest accepted scale: s·cos and every sum of the softmax stay finite in float32. */
    public static final double MAX_SCALE = 1e30;

    /** Validates the margins; messages name the field, the value and what was expected. */
    public MarginConfig {
        if (!(m1 > 0) || !Double.isFinite(m1)) {
            throw new IllegalArgumentException("margin1 : " + m1 + " (expected: a finite value > 0)");
        }
        if (!(m2 >= 0 && m2 < Math.PI)) {
            throw new IllegalArgumentException("margin2 : " + m2 + " (expected: 0 <= x < pi)");
        }
        if (!(m3 >= 0) || !Double.isFinite(m3)) {
            throw new IllegalArgumentException("margin3 : " + m3 + " (expected: a finite value >= 0)");
        }
        if (!(scale > 0 && scale <= MAX_SCALE)) {
            throw new IllegalArgumentException("scale : " + scale + " (expected: 0 < x <= " + MAX_SCALE + ")");
        }
    }

    /** Plain softmax over scaled cosines. */
    public static MarginConfig softmax(double scale) {
        return new MarginConfig(1, 0, 0, scale);
    }

    /** ArcFace: additive angular margin m2. */
    public static MarginConfig arcface(double m2, double scale) {
        return new MarginConfig(1, m2, 0, scale);
    }

    /** CosFace: additive cosine margin m3. */
    public static MarginConfig cosface(double m3, double scale) {
        return new MarginConfig(1, 0, m3, scale);
    }

    /** The combined margin cos(m1·θ + m2) − m3. */
    public static MarginConfig combined(double m1, double m2, double m3, double scale) {
        return new MarginConfig(m1, m2, m3, scale);
    }

    /** Whether the target logit differs from the others (any margin set). */
    public boolean hasMargin() {
        return m1 != 1 || m2 != 0 || m3 != 0;
    }

    /** Whether the target logit needs θ (an angular margin). */
    public boolean angular() {
        return m1 != 1 || m2 != 0;
    }
}
