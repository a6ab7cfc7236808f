package org.plsc4j.metrics;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ExpositionTest {

    @Test
    void theScrapeShowsTheInstrumentsWithTheirValuesAndTheJvm() {
        PlscMetrics.registerJvm();
        PlscMetrics.registerJvm(); // idempotent
        PlscMetrics.LOSS.set(2.5);
        PlscMetrics.COLLECTIVE_BYTES.labelValues("all_reduce").inc(4096);
        PlscMetrics.STEP_SECONDS.observe(0.3);
        String text = new String(Exposition.scrape(), StandardCharsets.UTF_8);
        assertTrue(text.contains("plsc4j_train_loss 2.5"), text);
        assertTrue(text.contains("plsc4j_collective_bytes_total{op=\"all_reduce\"} 4096"), text);
        assertTrue(text.contains("plsc4j_train_step_seconds_bucket{le=\"0.5\"} 1"), text);
        assertTrue(text.contains("plsc4j_train_step_seconds_count 1"), text);
        assertTrue(text.contains("jvm_memory_used_bytes{area=\"heap\"}"), text);
        assertTrue(text.contains("# TYPE plsc4j_flush_skipped_total counter"), text);
    }
}
