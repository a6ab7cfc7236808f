package org.plsc4j.core;

/**
 * The target-logit transform of the combined margin, {@code f(c) = cos(m1·acos(c) + m2) − m3}, and its
 * derivative, written so that no finite input gives NaN or Inf.
 *
 * <p>Why its own type: the rules that keep it finite are part of the loss's definition and the
 * float64 test reference must follow the same ones:
 * <ul>
 *   <li>c is clamped into [−1, 1] before acos (Paddle does not; rounding can give |c| slightly above 1);</li>
 *   <li>when m1·θ + m2 &gt; π the margin would make the logit <em>increase</em> with θ; insightface's
 *       fallback {@code f(c) = c − m2·sin(π − m2) − m3} (derivative 1) is used there;</li>
 *   <li>the derivative {@code m1·sin(m1·θ + m2)/sin θ} takes sin θ no smaller than {@link #MIN_SIN}, so it
 *       stays finite at θ = 0 where the true derivative is unbounded.</li>
 * </ul>
 * Without an angular margin (m1 = 1, m2 = 0: softmax, CosFace) f(c) = c − m3 exactly, derivative 1.
 */
public final class TargetLogit {

    /** Lower bound of sin θ in the derivative. */
    public static final double MIN_SIN = 1e-6;

    private TargetLogit() {
    }

    /** f(c), the target cosine after the margin (before the scale). */
    public static double value(double c, MarginConfig m) {
        if (!m.angular()) {
            return c - m.m3();
        }
        double cc = clamp(c);
        double theta = Math.acos(cc);
        if (m.m1() * theta + m.m2() > Math.PI) {
            return cc - Math.sin(Math.PI - m.m2()) * m.m2() - m.m3();
        }
        return Math.cos(m.m1() * theta + m.m2()) - m.m3();
    }

    /** df/dc at c (see the class comment for the conventions at the edges). */
    public static double derivative(double c, MarginConfig m) {
        if (!m.angular()) {
            return 1.0;
        }
        double cc = clamp(c);
        double theta = Math.acos(cc);
        if (m.m1() * theta + m.m2() > Math.PI) {
            return 1.0;
        }
        double sin = Math.max(Math.sqrt(Math.max(0.0, 1.0 - cc * cc)), MIN_SIN);
        return m.m1() * Math.sin(m.m1() * theta + m.m2()) / sin;
    }

    private static double clamp(double c) {
        return c > 1.0 ? 1.0 : (c < -1.0 ? -1.0 : c);
    }
}
