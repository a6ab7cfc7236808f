package org.plsc4j.examples;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.plsc4j.worker.MetricsLog;

/** The custom-model example runs in CI with tiny settings, on two worker processes, and learns. */
class CustomModelExampleTest {

    @Test
    void trainsTheCustomBackboneOnTwoWorkersAndVerifiesAboveChance(@TempDir Path dir) throws Exception {
        Map<String, MetricsLog.EvalResult> r = CustomModelExample.run(dir, 24, 6, 2, 2);
        assertTrue(r.get("synth").accuracy() > 0.6, "verification accuracy " + r.get("synth").accuracy());
    }
}
