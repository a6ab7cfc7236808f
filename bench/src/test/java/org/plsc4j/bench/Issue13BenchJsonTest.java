package org.plsc4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

/**
 * The --json contracts of capacity, flush, hdfs, train and failover at tiny sizes (seconds each): the
 * fields issue 13 added (storage types, brackets, spreads, load averages, the victim) next to the old
 * ones, and the figures derived from others (ratios, medians) agreeing with them.
 */
class Issue13BenchJsonTest {

    @Test
    void capacityNamesEachSidesStorageTypeAndReportsBracketsAndAFloat32Row() throws Exception {
        JsonNode j = BenchJson.run(new CapacityBench(), "--emb", "8", "--batch", "4", "--memory-gib", "1", "--steps", "1",
                "--max-probes", "1", "--start-classes", "500", "--json");
        assertEquals("float16", j.get("fc_dtype").asText());
        assertEquals("float16", j.get("plsc4j_dtype").asText());
        assertEquals("float16", j.get("dl4j_dtype").asText(), "the headline compares the same storage type");
        // one probe of 500 classes per search, all fit in 1 GiB: brackets [500, null], not within --precision
        assertEquals(500, j.get("plsc4j_max_classes").asInt(), j.toString());
        assertEquals(500, j.get("dl4j_max_classes").asInt(), j.toString());
        assertEquals(1.0, j.get("ratio").asDouble());
        assertEquals(500, j.get("plsc4j_bracket").get(0).asInt());
        assertTrue(j.get("plsc4j_bracket").get(1).isNull(), j.toString());
        assertFalse(j.get("bracketed").asBoolean());
        JsonNode f32 = j.get("float32_row");
        assertEquals("float32", f32.get("plsc4j_dtype").asText());
        assertEquals("float32", f32.get("dl4j_dtype").asText());
        assertEquals(500, f32.get("dl4j_max_classes").asInt());
        assertEquals(4, j.get("probes").size());
        String[] dtypes = {"float16", "float16", "float32", "float32"};
        String[] impls = {"plsc4j", "dl4j", "plsc4j", "dl4j"};
        for (int i = 0; i < 4; i++) {
            JsonNode p = j.get("probes").get(i);
            assertEquals(impls[i], p.get("impl").asText(), j.toString());
            assertEquals(dtypes[i], p.get("dtype").asText(), j.toString());
            assertTrue(p.get("ok").asBoolean(), j.toString());
        }
        BenchJson.assertLoad(j);
    }

    @Test
    void flushHasADurableBaselineTheFlusherSnapshotAndSpreads() throws Exception {
        JsonNode j = BenchJson.run(new FlushBench(), "--classes", "200", "--dim", "16", "--iterations", "3",
                "--stores", "local", "--json");
        assertEquals("ShardFlusher.flushAsync from native INDArrays", j.get("snapshot_path").asText());
        BenchJson.assertSpread(j.get("snapshot_spread"), 3, j.get("snapshot_ms").asDouble(), 0.051);
        assertTrue(j.get("heap_copy_ms").asDouble() >= 0);
        JsonNode local = j.get("stores").get(0);
        assertEquals("local", local.get("store").asText());
        double flush = local.get("flush_ms").asDouble();
        double durable = local.get("baseline_durable_ms").asDouble();
        assertTrue(durable > 0, j.toString());
        // the two times are printed to 0.1 ms, the ratio from the unrounded ones (to 0.01): at sub-ms times
        // the rounding alone moves flush / durable by up to 0.05 ms on each side (1.0 / 0.5 printed, 1.84 true)
        double slack = flush / durable * (0.05 / flush + 0.05 / durable) + 0.005;
        assertEquals(flush / durable, local.get("ratio_vs_durable_file").asDouble(), slack * 1.01, j.toString());
        BenchJson.assertSpread(local.get("flush_spread"), 3, flush, 0.051);
        BenchJson.assertSpread(local.get("baseline_durable_spread"), 3, durable, 0.051);
        BenchJson.assertSpread(local.get("baseline_file_spread"), 3, local.get("baseline_file_ms").asDouble(), 0.051);
        BenchJson.assertLoad(j);
    }

    @Test
    void hdfsReportsTheSpreadOfEveryRate() throws Exception {
        JsonNode j = BenchJson.run(new HdfsBench(), "--mb", "1", "--iterations", "2", "--json");
        for (String f : new String[] {"upload", "upload_no_readback", "baseline_upload", "download",
            "baseline_download"}) {
            BenchJson.assertSpread(j.get(f + "_spread"), 2, j.get(f + "_mb_s").asDouble(), 0.051);
        }
        BenchJson.assertLoad(j);
    }

    @Test
    void trainAlternatesTheTrainerWithABaselineChildOnDecodedData() throws Exception {
        JsonNode j = BenchJson.run(new TrainBench(), "--model", "mlp", "--image-size", "8", "--batch", "4",
                "--classes", "6", "--per-class", "4", "--workers", "1", "--repeats", "2", "--json");
        assertEquals("child_jvm", j.get("backbone_process").asText());
        assertEquals("data", j.get("baseline_input").asText());
        assertEquals("softmax", j.get("baseline_grad").asText());
        assertTrue(j.get("baseline_grad_norm").asDouble() > 0, j.toString());
        assertEquals(2, j.get("repeats").asInt());
        assertEquals(1, j.get("warmup_steps").asInt());
        // 6 steps: the first window (step 0) is untimed, steps 1..5 one window per repeat; the baseline the same
        JsonNode run = j.get("runs").get(0);
        assertEquals(2, run.get("windows").asInt(), j.toString());
        assertEquals(2, run.get("repeat_images_per_sec").size());
        double ips = run.get("images_per_sec").asDouble();
        double bare = j.get("backbone_images_per_sec").asDouble();
        BenchJson.assertSpread(run.get("spread"), 2, ips, 0.006);
        BenchJson.assertSpread(j.get("backbone_spread"), 2, bare, 0.006);
        assertEquals(2, j.get("backbone_repeat_images_per_sec").size());
        assertEquals(ips / bare, run.get("ratio_vs_backbone").asDouble(), 0.01 * ips / bare + 1e-3, j.toString());
        BenchJson.assertLoad(j);
    }

    @Test
    void failoverKillsRankZeroAndReportsItsRankAndSpread() throws Exception {
        JsonNode j = BenchJson.run(new FailoverBench(), "--repeats", "1", "--victim", "rank0", "--session-timeout-ms",
                "2000", "--num-classes", "2000", "--emb-size", "8", "--kill-at-step", "3", "--json");
        assertEquals("rank0", j.get("victim").asText());
        assertEquals(0, j.get("victim_ranks").get(0).asInt(), j.toString());
        assertEquals(2000, j.get("num_classes").asInt());
        assertEquals(1, j.get("failover_s").size());
        BenchJson.assertSpread(j.get("failover_spread"), 1, j.get("failover_median_s").asDouble(), 0.006);
        assertTrue(j.get("failover_s").get(0).asDouble() >= j.get("generation_s").get(0).asDouble(), j.toString());
        assertNull(j.get("no_such_field"));
        BenchJson.assertLoad(j);
    }
}
