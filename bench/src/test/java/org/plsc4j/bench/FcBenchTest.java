package org.plsc4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * {@code bench fc --json} at tiny sizes: the JSON contract (every field, in order, old names kept), the
 * roofline floor formula, the alternation's equal counts, the torch fields null with a reason without
 * torch, and, where python can import torch, the arcface_torch-style step computing the same losses as
 * plsc4j's step on the same inputs (which checks margin, normalisations, SGD momentum and weight decay).
 */
class FcBenchTest {

    /** The fields before issue 13, in their order: they must never change. */
    static final List<String> OLD_FIELDS = List.of("version", "classes", "emb", "batch", "workers", "sample_ratio",
            "sampled_classes", "steps", "warmup", "seed", "lr", "threads", "sgemm_gflops", "fc_step_ms",
            "fc_step_ms_all", "floor_ms", "roofline_fraction", "dl4j_steps", "dl4j_step_ms", "dl4j_step_ms_all",
            "speedup_vs_dl4j", "peak_rss_mb", "dl4j_peak_rss_mb", "loss_first", "loss_last", "device", "engine");

    /** The fields issue 13 added, after them. */
    static final List<String> NEW_FIELDS = List.of("alternated", "baselines", "collective", "fc_step_ms_min", "fc_step_ms_max",
            "fc_step_ms_q1", "fc_step_ms_q3", "dl4j_warmup", "dl4j_step_ms_min", "dl4j_step_ms_max", "dl4j_step_ms_q1",
            "dl4j_step_ms_q3", "torch_version", "torch_threads", "torch_steps", "torch_warmup", "torch_sampled_classes",
            "torch_step_ms", "torch_step_ms_all", "torch_step_ms_min", "torch_step_ms_max", "torch_step_ms_q1",
            "torch_step_ms_q3", "torch_loss_first", "torch_loss_last", "torch_peak_rss_mb", "speedup_vs_torch",
            "torch_unavailable_reason", "load_average_before", "load_average_after", "alternation", "rounds");

    static JsonNode run(String... args) throws Exception {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new FcBench());
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        assertEquals(0, code, err.toString());
        JsonNode j = new ObjectMapper().readTree(out.toString());
        List<String> names = new ArrayList<>();
        j.fieldNames().forEachRemaining(names::add);
        List<String> want = new ArrayList<>(OLD_FIELDS);
        want.addAll(NEW_FIELDS);
        assertEquals(want, names);
        return j;
    }

    private static double[] doubles(JsonNode arr) {
        double[] d = new double[arr.size()];
        for (int i = 0; i < d.length; i++) {
            d[i] = arr.get(i).asDouble();
        }
        return d;
    }

    @Test
    void floorIsThreeProductsAtTheSgemmRate() {
        // 6·B·D·S flops at G GFLOP/s: 6·128·512·100000 = 39.3216e9 flops at 100 GFLOP/s = 393.216 ms
        assertEquals(393.216, FcBench.floorMs(128, 512, 100_000, 100.0), 1e-9);
        assertEquals(2 * FcBench.floorMs(8, 16, 1000, 3.0), FcBench.floorMs(8, 16, 2000, 3.0), 1e-12);
        assertEquals(FcBench.floorMs(8, 16, 1000, 3.0) / 2, FcBench.floorMs(8, 16, 1000, 6.0), 1e-12);
    }

    @Test
    void jsonContractWithDl4jAndNoTorch() throws Exception {
        JsonNode j = run("--classes", "500", "--emb", "16", "--batch", "8", "--workers", "2", "--sample-ratio", "0.5",
                "--warmup", "1", "--steps", "3", "--baseline", "dl4j,torch", "--python", "/nonexistent/python3",
                "--json");
        assertTrue(j.get("alternated").asBoolean());
        assertEquals("[\"dl4j\"]", j.get("baselines").toString(), "torch could not run");
        // equal counts for plsc4j and DL4J (issue 13: DL4J had 1 + 3 against plsc4j's 2 + 5)
        assertEquals(3, j.get("fc_step_ms_all").size());
        assertEquals(3, j.get("dl4j_steps").asInt());
        assertEquals(3, j.get("dl4j_step_ms_all").size());
        assertEquals(1, j.get("dl4j_warmup").asInt());
        for (String side : List.of("fc", "dl4j")) {
            double[] all = doubles(j.get(side + "_step_ms_all"));
            Spread s = Spread.of(all);
            assertEquals(Stats.round(s.median(), 3), j.get(side + "_step_ms").asDouble(), 1e-9, side);
            assertEquals(Stats.round(s.min(), 3), j.get(side + "_step_ms_min").asDouble(), 1e-9, side);
            assertEquals(Stats.round(s.max(), 3), j.get(side + "_step_ms_max").asDouble(), 1e-9, side);
            assertTrue(j.get(side + "_step_ms_min").asDouble() <= j.get(side + "_step_ms_q1").asDouble()
                    && j.get(side + "_step_ms_q1").asDouble() <= j.get(side + "_step_ms_q3").asDouble()
                    && j.get(side + "_step_ms_q3").asDouble() <= j.get(side + "_step_ms_max").asDouble(), j.toString());
        }
        // the floor from the measured rate and the median sample: 125 + 125 of the 2 × 250 classes at r = 0.5
        assertEquals(250, j.get("sampled_classes").asLong());
        assertEquals(Stats.round(FcBench.floorMs(8, 16, 250, j.get("sgemm_gflops").asDouble()), 3),
                j.get("floor_ms").asDouble(), 2e-3 * j.get("floor_ms").asDouble() + 1e-3);
        // the JSON rounds floor_ms and fc_step_ms to 0.001 ms and the fraction to 1e-4: at these tiny shapes the
        // floor is ~0.001 ms, so the recomputed fraction can only be held to what that rounding leaves
        double floor = j.get("floor_ms").asDouble();
        double fc = j.get("fc_step_ms").asDouble();
        assertEquals(floor / fc, j.get("roofline_fraction").asDouble(),
                0.5e-4 + 0.5e-3 / fc + (floor + 0.5e-3) * 0.5e-3 / (fc * (fc - 0.5e-3)) + 1e-9, j.toString());
        assertEquals(j.get("dl4j_step_ms").asDouble() / j.get("fc_step_ms").asDouble(),
                j.get("speedup_vs_dl4j").asDouble(), 2e-3 * j.get("speedup_vs_dl4j").asDouble() + 1e-3);
        for (String f : NEW_FIELDS) {
            if (f.startsWith("torch_") && !f.equals("torch_unavailable_reason") || f.equals("speedup_vs_torch")) {
                assertTrue(j.get(f).isNull(), f + " : " + j.get(f));
            }
        }
        String reason = j.get("torch_unavailable_reason").asText();
        assertTrue(reason.contains("/nonexistent/python3"), reason);
        assertTrue(j.get("load_average_before").asDouble() >= 0 && j.get("load_average_after").asDouble() >= 0,
                j.toString());
        assertTrue(j.get("peak_rss_mb").asLong() > 0 && j.get("dl4j_peak_rss_mb").asLong() > 0, j.toString());
        assertTrue(Double.isFinite(j.get("loss_first").asDouble()), j.toString());
    }

    @Test
    void torchNotRequestedSaysSo() throws Exception {
        JsonNode j = run("--classes", "64", "--emb", "8", "--batch", "4", "--warmup", "0", "--steps", "1",
                "--no-dl4j", "--json");
        assertEquals("[]", j.get("baselines").toString());
        assertTrue(j.get("dl4j_step_ms").isNull() && j.get("speedup_vs_dl4j").isNull(), j.toString());
        assertEquals("not requested (--baseline torch)", j.get("torch_unavailable_reason").asText());
    }

    @Test
    void processesJoinedByNettyComputeTheThreadsLosses() throws Exception {
        // ranks 1 and 2 in child JVMs, joined to rank 0 here by the Netty collective; the same steps as
        // three rank threads of this JVM (and as one rank: the initial model does not depend on N)
        String[] common = {"--classes", "600", "--emb", "16", "--batch", "6", "--workers", "3", "--sample-ratio",
            "0.5", "--warmup", "1", "--steps", "2", "--no-dl4j", "--json"};
        JsonNode threads = run(common);
        List<String> args = new ArrayList<>(List.of(common));
        args.add("--processes");
        JsonNode procs = run(args.toArray(String[]::new));
        assertEquals("inprocess", threads.get("collective").asText());
        assertEquals("netty", procs.get("collective").asText());
        assertEquals(threads.get("sampled_classes").asLong(), procs.get("sampled_classes").asLong());
        for (String f : List.of("loss_first", "loss_last")) {
            double want = threads.get(f).asDouble();
            assertEquals(want, procs.get(f).asDouble(), 1e-5 * Math.abs(want) + 1e-6, f + ": " + procs);
        }
        assertEquals(2, procs.get("fc_step_ms_all").size());
    }

    @Test
    void anOldDl4jStepCountIsIgnoredWithANotice() {
        // the flag is public CLI: scripts passing it keep running; both sides get the same counts anyway
        FcBench bench = new FcBench();
        new CommandLine(bench).parseArgs("--classes", "64", "--steps", "5", "--dl4j-steps", "3");
        assertEquals("--dl4j-steps 3 is ignored: DL4J now runs --steps = 5 timed steps, alternated with plsc4j's,"
                + " with the same warm-up", bench.dl4jStepsNotice());
        FcBench same = new FcBench();
        new CommandLine(same).parseArgs("--steps", "5", "--dl4j-steps", "5");
        assertNull(same.dl4jStepsNotice());
    }

    @Test
    void torchStepComputesPlsc4jsLosses() throws Exception {
        TorchFcBaseline.Probe probe = TorchFcBaseline.probe("/usr/bin/python3");
        Assumptions.assumeTrue(probe.unavailableReason() == null,
                "needs /usr/bin/python3 with torch (apt-get install python3-torch): " + probe.unavailableReason());
        // r = 1: both sides use every class, so the losses of steps 0..3 must agree: step 0 checks the forward
        // (normalisations, ArcFace margin, scale, cross entropy), later steps the backward and the update
        // (SGD momentum with weight decay, the normalisation backward)
        JsonNode j = run("--classes", "300", "--emb", "16", "--batch", "8", "--warmup", "2", "--steps", "2",
                "--baseline", "torch", "--json");
        assertEquals("[\"torch\"]", j.get("baselines").toString());
        assertTrue(j.get("torch_unavailable_reason").isNull(), j.toString());
        assertEquals(probe.version(), j.get("torch_version").asText());
        assertEquals(j.get("threads").asInt(), j.get("torch_threads").asInt());
        assertEquals(300, j.get("torch_sampled_classes").asLong());
        double first = j.get("loss_first").asDouble();
        double last = j.get("loss_last").asDouble();
        assertEquals(first, j.get("torch_loss_first").asDouble(), 1e-4 * Math.abs(first), j.toString());
        assertEquals(last, j.get("torch_loss_last").asDouble(), 1e-4 * Math.abs(last), j.toString());
        assertTrue(Math.abs(first - last) > 1e-2 * Math.abs(first), "the steps changed the weights: " + j);
        assertNotNull(j.get("speedup_vs_torch").numberValue(), j.toString());
        assertEquals(j.get("torch_step_ms").asDouble() / j.get("fc_step_ms").asDouble(),
                j.get("speedup_vs_torch").asDouble(), 2e-3 * j.get("speedup_vs_torch").asDouble() + 1e-3);
        assertTrue(j.get("torch_peak_rss_mb").asDouble() > 10, j.toString());

        // r = 0.5: arcface_torch's own sampling (positives kept) uses as many centers as plsc4j's
        JsonNode s = run("--classes", "300", "--emb", "16", "--batch", "8", "--sample-ratio", "0.5", "--warmup", "0",
                "--steps", "1", "--baseline", "torch", "--json");
        assertEquals(150, s.get("sampled_classes").asLong());
        assertEquals(150, s.get("torch_sampled_classes").asLong());
    }

    @Test
    void oneAtATimeRoundsStartEverySideFromTheSameWeightsWithEqualCounts() throws Exception {
        boolean torch = TorchFcBaseline.probe("/usr/bin/python3").unavailableReason() == null;
        String baselines = torch ? "dl4j,torch" : "dl4j";
        String[] common = {"--classes", "300", "--emb", "16", "--batch", "8", "--warmup", "1", "--steps", "2",
            "--baseline", baselines, "--json"};
        JsonNode stepwise = run(common);
        assertEquals("step", stepwise.get("alternation").asText());
        assertEquals(1, stepwise.get("rounds").asInt());

        List<String> args = new ArrayList<>(List.of(common));
        args.addAll(List.of("--one-at-a-time", "--rounds", "2"));
        JsonNode j = run(args.toArray(String[]::new));
        assertEquals("round", j.get("alternation").asText());
        assertEquals(2, j.get("rounds").asInt());
        assertEquals(4, j.get("fc_step_ms_all").size(), j.toString());
        assertEquals(4, j.get("dl4j_step_ms_all").size(), j.toString());
        // every round restarts from the seed's initial weights and runs warmup + steps steps: the reported
        // (last round's) losses are those of the resident, step-alternated run
        assertEquals(stepwise.get("loss_first").asDouble(), j.get("loss_first").asDouble(), 1e-9, j.toString());
        assertEquals(stepwise.get("loss_last").asDouble(), j.get("loss_last").asDouble(), 1e-6, j.toString());
        if (torch) {
            assertEquals(4, j.get("torch_step_ms_all").size(), j.toString());
            // after three steps on one batch the loss is ~1e-5: a difference of logits of magnitude s = 64 whose
            // float32 rounding (64 * 2^-24 = 3.8e-6 each) bounds the absolute agreement, hence the 1e-5 floor
            double last = j.get("loss_last").asDouble();
            assertEquals(last, j.get("torch_loss_last").asDouble(), 1e-4 * Math.abs(last) + 1e-5, j.toString());
        }
    }

    @Test
    void roundsWithoutOneAtATimeIsRejectedNamingTheOption() {
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new FcBench());
        cl.setErr(new PrintWriter(err));
        int code = cl.execute("--classes", "64", "--rounds", "2", "--json");
        assertEquals(2, code);
        assertTrue(err.toString().contains("rounds : 2 (expected: only with --one-at-a-time"), err.toString());
    }
}
