package org.plsc4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** Runs {@code bench serve} with a tiny model for a fraction of a second: the JSON contract and the usage errors. */
class ServeBenchTest {

    private static String[] run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new ServeBench());
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        return new String[] {Integer.toString(code), out.toString(), err.toString()};
    }

    @Test
    void jsonHasOneRunPerClientCountAndTheRatioOfTheTwoRates() throws Exception {
        String[] r = run("--backbone", "mlp", "--image-size", "16", "--emb-size", "8", "--clients", "1,3",
                "--seconds", "0.3", "--json");
        assertEquals("0", r[0], r[2]);
        JsonNode j = new ObjectMapper().readTree(r[1]);
        assertEquals("serve", j.get("bench").asText());
        assertEquals(2, j.get("runs").size());
        for (int i = 0; i < 2; i++) {
            JsonNode run = j.get("runs").get(i);
            assertEquals(i == 0 ? 1 : 3, run.get("clients").asInt());
            assertTrue(run.get("requests").asInt() > 0, r[1]);
            double eps = run.get("embeddings_per_s").asDouble();
            double bare = run.get("bare_embeddings_per_s").asDouble();
            assertTrue(eps > 0 && bare > 0, r[1]);
            assertEquals(eps / bare, run.get("ratio").asDouble(), 0.01 * eps / bare + 2e-3, r[1]);
            assertTrue(run.get("p99_ms").asDouble() >= run.get("p50_ms").asDouble(), r[1]);
            assertTrue(run.get("mean_batch").asDouble() >= 1, r[1]);
            // issue 13: the bare forward repeated at the server's batch and at --max-batch, the ratio to the best
            BenchJson.assertSpread(run.get("bare_spread"), 3, bare, 0.051);
            assertEquals(64, run.get("bare_max_batch").asInt());
            double best = run.get("bare_max_batch_embeddings_per_s").asDouble();
            assertEquals(best, run.get("bare_max_batch_spread").get("max").asDouble(), 0.051, r[1]);
            assertEquals(eps / best, run.get("ratio_vs_max_batch").asDouble(), 0.01 * eps / best + 2e-3, r[1]);
        }
        assertEquals(3, j.get("bare_repeats").asInt());
        BenchJson.assertLoad(j);
    }

    @Test
    void bothEnginesAreAlternatedAndComparedByTheirRatio() throws Exception {
        String[] r = run("--backbone", "small", "--image-size", "16", "--emb-size", "8", "--clients", "2",
                "--seconds", "0.3", "--engine", "both", "--rounds", "2", "--json");
        assertEquals("0", r[0], r[2]);
        JsonNode j = new ObjectMapper().readTree(r[1]);
        assertEquals("both", j.get("engine").asText());
        JsonNode runs = j.get("runs");
        assertEquals(4, runs.size());
        // round 0: samediff then onnxruntime; round 1: the other way round
        String[] order = {"samediff", "onnxruntime", "onnxruntime", "samediff"};
        double[] ratio = new double[2];
        double[] eps = new double[4];
        for (int i = 0; i < 4; i++) {
            assertEquals(order[i], runs.get(i).get("engine").asText(), r[1]);
            assertEquals(i / 2, runs.get(i).get("round").asInt(), r[1]);
            eps[i] = runs.get(i).get("embeddings_per_s").asDouble();
            assertTrue(eps[i] > 0, r[1]);
        }
        ratio[0] = eps[1] / eps[0];
        ratio[1] = eps[2] / eps[3];
        JsonNode c = j.get("engine_comparison").get(0);
        assertEquals("onnxruntime", c.get("numerator").asText());
        double tol = 0.01 * Math.max(ratio[0], ratio[1]) + 2e-3; // the rates are rounded to 0.1 emb/s
        assertEquals((ratio[0] + ratio[1]) / 2, c.get("server_ratio_median").asDouble(), tol, r[1]);
        assertEquals(Math.min(ratio[0], ratio[1]), c.get("server_ratio_min").asDouble(), tol, r[1]);
        assertEquals(Math.max(ratio[0], ratio[1]), c.get("server_ratio_max").asDouble(), tol, r[1]);
    }

    @Test
    void badOptionsAreUsageErrors() {
        String[] r = run("--clients", "0");
        assertEquals("2", r[0]);
        assertTrue(r[2].contains("--clients [0]"), r[2]);
        String[] e = run("--engine", "tensorrt");
        assertEquals("2", e[0]);
        assertTrue(e[2].contains("--engine tensorrt --rounds 1 (expected: one of [samediff, onnxruntime] or both,"
                + " rounds >= 1)"), e[2]);
    }
}
