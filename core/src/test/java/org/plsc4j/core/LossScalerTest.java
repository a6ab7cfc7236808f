package org.plsc4j.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The loss scaler's state machine, step by step, as Paddle's update_loss_scaling op. */
class LossScalerTest {

    private static void expect(LossScaler s, float scale, int good, int bad) {
        assertEquals(scale, s.scale(), "scale");
        assertEquals(good, s.goodSteps(), "good steps");
        assertEquals(bad, s.badSteps(), "bad steps");
    }

    @Test
    void increasesAfterNGoodStepsAndResetsTheCounter() {
        LossScaler s = new LossScaler(8, 3, 2, 2.0, 0.5, true);
        assertTrue(s.update(false));
        expect(s, 8, 1, 0);
        assertTrue(s.update(false));
        expect(s, 8, 2, 0);
        assertTrue(s.update(false));
        expect(s, 16, 0, 0);
        assertTrue(s.update(false));
        expect(s, 16, 1, 0);
    }

    @Test
    void decreasesAfterNBadStepsSkipsThemAndResetsTheGoodCounter() {
        LossScaler s = new LossScaler(8, 3, 2, 2.0, 0.5, true);
        s.update(false);
        s.update(false);
        expect(s, 8, 2, 0);
        assertFalse(s.update(true));
        expect(s, 8, 0, 1);
        assertTrue(s.update(false)); // a good step resets the bad counter
        expect(s, 8, 1, 0);
        assertFalse(s.update(true));
        assertFalse(s.update(true));
        expect(s, 4, 0, 0);
        assertFalse(s.update(true));
        expect(s, 4, 0, 1);
        assertEquals(4, s.skippedSteps());
    }

    @Test
    void neverBelowOneAndNeverToInfinity() {
        LossScaler down = new LossScaler(1.5, 100, 1, 2.0, 0.5, true);
        down.update(true);
        expect(down, 1, 0, 0);
        down.update(true);
        expect(down, 1, 0, 0);
        LossScaler up = new LossScaler(Float.MAX_VALUE, 1, 2, 2.0, 0.5, true);
        up.update(false);
        expect(up, Float.MAX_VALUE, 0, 0);
    }

    @Test
    void staticScalingKeepsTheScaleButStillSkips() {
        LossScaler s = new LossScaler(128, 1, 1, 2.0, 0.5, false);
        assertTrue(s.update(false));
        assertFalse(s.update(true));
        expect(s, 128, 0, 0);
        assertEquals(1, s.skippedSteps());
    }

    @Test
    void paddleDefaultsFromTheConfig() {
        LossScaler s = LossScaler.of(TrainConfigs.load(null, java.util.List.of("use_fp16=true")));
        assertEquals(1f, s.scale());
        for (int i = 0; i < 1999; i++) {
            s.update(false);
        }
        expect(s, 1, 1999, 0);
        s.update(false);
        expect(s, 2, 0, 0);
        s.update(true);
        s.update(true);
        expect(s, 1, 0, 0);
    }

    @Test
    void rejectsBadSettingsNamingThem() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new LossScaler(0, 1, 1, 2, 0.5, true))
                .getMessage().startsWith("init_loss_scaling : 0.0"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new LossScaler(1, 1, 1, 2, 1.5, true))
                .getMessage().startsWith("decr_ratio : 1.5"));
    }
}
