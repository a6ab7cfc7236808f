package org.plsc4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** Runs {@code bench allgather} with tiny settings: the JSON contract and the usage errors. */
class AllGatherBenchTest {

    private static String[] run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new AllGatherBench());
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        return new String[] {Integer.toString(code), out.toString(), err.toString()};
    }

    @Test
    void jsonHasTheContractFieldsAndTheRatioOfTheTwoRates() throws Exception {
        String[] r = run("--mb", "0.25", "--workers", "3", "--iterations", "3", "--warmup", "1", "--json");
        assertEquals("0", r[0], r[2]);
        JsonNode j = new ObjectMapper().readTree(r[1]);
        assertEquals(3, j.get("workers").asInt());
        assertEquals(262_144, j.get("bytes_per_rank").asLong());
        assertEquals(3, j.get("netty_ms_all").size());
        assertEquals(3, j.get("nio_ms_all").size());
        assertEquals("cpu", j.get("device").asText());
        assertTrue(j.get("nccl_gbps").isNull() && j.get("nccl_ms_all").isNull(), r[1]); // NCCL only with --device cuda:K
        double netty = j.get("netty_gbps").asDouble();
        double nio = j.get("nio_gbps").asDouble();
        assertTrue(netty > 0 && nio > 0, r[1]);
        assertEquals(netty / nio, j.get("ratio").asDouble(), 0.01 * netty / nio + 2e-3, r[1]);
        // rate = (N-1)·M / median time
        assertEquals(2 * 262_144 / (j.get("netty_ms").asDouble() / 1e3) / 1e9, netty, 1e-3 + netty * 1e-3);
        // the spreads are those of the *_all lists
        for (String side : new String[] {"netty", "nio"}) {
            JsonNode all = j.get(side + "_ms_all");
            JsonNode spread = j.get(side + "_spread");
            double min = Double.MAX_VALUE;
            double max = -Double.MAX_VALUE;
            for (JsonNode v : all) {
                min = Math.min(min, v.asDouble());
                max = Math.max(max, v.asDouble());
            }
            assertEquals(3, spread.get("n").asInt(), r[1]);
            assertEquals(min, spread.get("min").asDouble(), 1e-3, r[1]);
            assertEquals(max, spread.get("max").asDouble(), 1e-3, r[1]);
            assertEquals(j.get(side + "_ms").asDouble(), spread.get("median").asDouble(), 1e-3, r[1]);
        }
        assertTrue(j.get("load_before").asDouble() >= 0 && j.get("load_after").asDouble() >= 0, r[1]);
    }

    @Test
    void badOptionsAreUsageErrorsNamingTheOption() {
        String[] one = run("--workers", "1");
        assertEquals("2", one[0]);
        assertTrue(one[2].contains("workers : 1"), one[2]);
        String[] mb = run("--mb", "0");
        assertEquals("2", mb[0]);
        assertTrue(mb[2].contains("mb : 0.0"), mb[2]);
    }
}
