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
        }
    }

    @Test
    void badOptionsAreUsageErrors() {
        String[] r = run("--clients", "0");
        assertEquals("2", r[0]);
        assertTrue(r[2].contains("--clients [0]"), r[2]);
    }
}
