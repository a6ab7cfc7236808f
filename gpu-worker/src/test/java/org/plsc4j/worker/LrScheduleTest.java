package org.plsc4j.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

/** PLSC's piecewise decay with linear warmup, at and around every boundary. */
class LrScheduleTest {

    @Test
    void piecewiseDecayWithoutWarmupChangesAtTheBoundaryStep() {
        // PLSC defaults: lr 0.1, global batch 8 x 128 = 1024 -> base 0.1; lr_steps (100000, 160000, 180000)
        LrSchedule s = LrSchedule.plsc(0.1, 1024, List.of(100_000L, 160_000L, 180_000L), 0.1, 0, 5000);
        assertEquals(0.1, s.baseLr(), 0);
        assertEquals(0, s.warmupSteps());
        assertEquals(0.1, s.lr(0), 0);
        assertEquals(0.1, s.lr(99_999), 0);
        assertEquals(0.1 * 0.1, s.lr(100_000), 1e-18);
        assertEquals(0.1 * 0.1, s.lr(159_999), 1e-18);
        assertEquals(0.1 * 0.01, s.lr(160_000), 1e-18);
        assertEquals(0.1 * 0.001, s.lr(180_000), 1e-18);
        assertEquals(0.1 * 0.001, s.lr(10_000_000), 1e-18);
    }

    @Test
    void baseRateScalesWithTheGlobalBatch() {
        LrSchedule s = LrSchedule.plsc(0.1, 512, List.of(10L), 0.1, 0, 1);
        assertEquals(0.05, s.lr(0), 1e-17);
        assertEquals(0.005, s.lr(10), 1e-17);
    }

    @Test
    void warmupIsLinearFromTheUnscaledRateAndBoundariesCountFromStepZero() {
        // lr 0.1, global batch 2048 -> base 0.2; 2 warmup epochs of 50 steps = 100 warmup steps; PLSC's
        // lr_warmup(piecewise_decay(...)) reads one global step counter, so lr_steps 130, 160 are absolute
        LrSchedule s = LrSchedule.plsc(0.1, 2048, List.of(130L, 160L), 0.5, 2, 50);
        assertEquals(100, s.warmupSteps());
        assertEquals(0.1, s.lr(0), 1e-15);
        assertEquals(0.1 + 0.1 * 25 / 100.0, s.lr(25), 1e-15);
        assertEquals(0.1 + 0.1 * 99 / 100.0, s.lr(99), 1e-15);
        assertEquals(0.2, s.lr(100), 1e-15);
        assertEquals(0.2, s.lr(129), 1e-15);
        assertEquals(0.1, s.lr(130), 1e-15);
        assertEquals(0.1, s.lr(159), 1e-15);
        assertEquals(0.05, s.lr(160), 1e-15);
    }

    @Test
    void paddle2LinearWarmupCountsTheBoundariesFromTheWarmupEnd() {
        LrSchedule s = new LrSchedule(0.2, List.of(30L, 60L), 0.5, 100, 0.1, true);
        assertEquals(0.2, s.lr(129), 1e-15);
        assertEquals(0.1, s.lr(130), 1e-15);
        assertEquals(0.05, s.lr(160), 1e-15);
    }

    @Test
    void warmupFromZeroIsAvailableThroughTheRecord() {
        LrSchedule s = new LrSchedule(0.4, List.of(), 0.1, 4, 0);
        assertEquals(0.0, s.lr(0), 0);
        assertEquals(0.1, s.lr(1), 1e-15);
        assertEquals(0.3, s.lr(3), 1e-15);
        assertEquals(0.4, s.lr(4), 0);
        assertEquals(0.4, s.lr(1_000_000), 0);
    }

    @Test
    void stepsPerEpochFollowPlsc() {
        // ceil(ceil(5822653 / 8) / 128) = ceil(727832 / 128) = 5687 (727831.6 rounds up to 727832)
        assertEquals(5687, LrSchedule.plscStepsPerEpoch(5_822_653, 8, 128));
        assertEquals(1, LrSchedule.plscStepsPerEpoch(1, 4, 128));
        assertEquals(3, LrSchedule.plscStepsPerEpoch(10, 2, 2));
    }

    @Test
    void badValuesAreRefusedWithTheFieldAndValue() {
        assertEquals("lr_steps : [5, 5] (expected: strictly increasing, > 0; entry 1 = 5)",
                assertThrows(IllegalArgumentException.class,
                        () -> new LrSchedule(0.1, List.of(5L, 5L), 0.1, 0, 0)).getMessage());
        assertEquals("lr : 0.0 (expected: a finite value > 0)", assertThrows(IllegalArgumentException.class,
                () -> new LrSchedule(0, List.of(), 0.1, 0, 0)).getMessage());
        assertEquals("lr_decay_factor : 1.5 (expected: 0 < x <= 1)", assertThrows(IllegalArgumentException.class,
                () -> new LrSchedule(0.1, List.of(), 1.5, 0, 0)).getMessage());
        assertEquals("warmup_steps : -1 (expected: >= 0)", assertThrows(IllegalArgumentException.class,
                () -> new LrSchedule(0.1, List.of(), 0.1, -1, 0)).getMessage());
        assertEquals("global_batch_size : 0 (expected: >= 1)", assertThrows(IllegalArgumentException.class,
                () -> LrSchedule.plsc(0.1, 0, List.of(), 0.1, 0, 1)).getMessage());
        assertEquals("step : -1 (expected: >= 0)", assertThrows(IllegalArgumentException.class,
                () -> new LrSchedule(0.1, List.of(), 0.1, 0, 0).lr(-1)).getMessage());
    }
}
