package org.plsc4j.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class TargetLogitTest {

    static final List<MarginConfig> MARGINS = List.of(
            MarginConfig.softmax(64), MarginConfig.arcface(0.5, 64), MarginConfig.cosface(0.35, 64),
            MarginConfig.combined(1.0, 0.3, 0.2, 64), MarginConfig.combined(0.9, 0.4, 0.15, 64),
            MarginConfig.combined(1.35, 0.0, 0.0, 30));

    @Test
    void matchesTheDefinitionAwayFromTheFallback() {
        for (MarginConfig m : MARGINS) {
            for (double c = -0.99; c <= 0.99; c += 0.01) {
                double theta = Math.acos(c);
                if (m.m1() * theta + m.m2() > Math.PI) {
                    continue;
                }
                assertEquals(Math.cos(m.m1() * theta + m.m2()) - m.m3(), TargetLogit.value(c, m), 1e-12, m + " c=" + c);
            }
        }
    }

    @Test
    void derivativeMatchesCentralFiniteDifferences() {
        double h = 1e-6;
        for (MarginConfig m : MARGINS) {
            for (double c = -0.97; c <= 0.97; c += 0.013) {
                double theta = Math.acos(c);
                double boundary = (Math.PI - m.m2()) / m.m1();
                if (Math.abs(theta - boundary) < 1e-3) {
                    continue; // f is not differentiable at the fallback switch
                }
                double fd = (TargetLogit.value(c + h, m) - TargetLogit.value(c - h, m)) / (2 * h);
                assertEquals(fd, TargetLogit.derivative(c, m), 1e-5 * Math.max(1, Math.abs(fd)), m + " c=" + c);
            }
        }
    }

    @Test
    void usesTheInsightfaceFallbackPastPi() {
        MarginConfig arc = MarginConfig.arcface(0.5, 64);
        double c = Math.cos(Math.PI - 0.2); // theta + m2 = pi + 0.3
        assertEquals(c - Math.sin(Math.PI - 0.5) * 0.5, TargetLogit.value(c, arc), 1e-12);
        assertEquals(1.0, TargetLogit.derivative(c, arc));
    }

    @Test
    void isFiniteEverywhereIncludingOutsideMinusOneOne() {
        for (MarginConfig m : MARGINS) {
            for (double c : new double[] {-1.5, -1.0, -1.0 + 1e-12, -0.5, 0, 0.5, 1 - 1e-12, 1.0, 1.0000001, 2.0}) {
                assertTrue(Double.isFinite(TargetLogit.value(c, m)), m + " c=" + c);
                assertTrue(Double.isFinite(TargetLogit.derivative(c, m)), m + " c=" + c);
            }
        }
    }

    @Test
    void marginsAreValidatedNamingTheField() {
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> MarginConfig.arcface(3.5, 64));
        assertEquals("margin2 : 3.5 (expected: 0 <= x < pi)", e.getMessage());
        e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> MarginConfig.softmax(0));
        assertTrue(e.getMessage().startsWith("scale : 0.0 (expected: 0 < x <= "), e.getMessage());
    }
}
