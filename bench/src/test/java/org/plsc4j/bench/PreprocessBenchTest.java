package org.plsc4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** Runs {@code bench preprocess} with tiny settings: the JSON contract and the ratio of the two times. */
class PreprocessBenchTest {

    @Test
    void jsonHasTheContractFieldsAndTheRatioOfTheTwoTimes() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/shuf")) && Files.isExecutable(Path.of("/usr/bin/split")),
                "coreutils shuf and split");
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new PreprocessBench());
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute("--mb", "2", "--nranks", "3", "--image-bytes", "300", "--memory-mb", "1",
                "--iterations", "2", "--warmup", "1", "--json");
        assertEquals(0, code, err.toString());
        JsonNode j = new ObjectMapper().readTree(out.toString());
        assertEquals("preprocess", j.get("bench").asText());
        assertEquals(3, j.get("nranks").asInt());
        assertEquals(1, j.get("memory_mb").asInt());
        assertTrue(j.get("buckets").asInt() > 1, out.toString());
        long lines = j.get("lines").asLong();
        assertTrue(lines > 2_000_000 / 500 && lines < 2_000_000 / 300, out.toString());
        double tool = j.get("tool_s").asDouble();
        double base = j.get("shuf_split_s").asDouble();
        assertTrue(tool > 0 && base > 0, out.toString());
        // the times are printed rounded to 4 decimals and the ratio to 2, the rates from the unrounded times:
        // each must lie within what the rounding allows
        double h = 0.00005;
        double ratio = j.get("ratio_vs_shuf_split").asDouble();
        assertTrue(ratio >= (tool - h) / (base + h) - 0.005 && ratio <= (tool + h) / (base - h) + 0.005,
                "ratio " + ratio + " vs " + tool + " / " + base + ": " + out);
        assertEquals(2, j.get("iterations").asInt());
        assertEquals(1, j.get("warmup").asInt());
        assertEquals(2, j.get("tool_spread").get("n").asInt(), out.toString());
        assertEquals(tool, j.get("tool_spread").get("median").asDouble(), h, out.toString());
        assertEquals(base, j.get("shuf_split_spread").get("median").asDouble(), h, out.toString());
        assertTrue(j.get("tool_spread").get("min").asDouble() <= tool
                && tool <= j.get("tool_spread").get("max").asDouble(), out.toString());
        assertTrue(j.get("load_before").asDouble() >= 0 && j.get("load_after").asDouble() >= 0, out.toString());
        double rate = j.get("tool_lines_per_s").asDouble();
        assertTrue(rate >= lines / (tool + h) - 1 && rate <= lines / (tool - h) + 1,
                "lines/s " + rate + " vs " + lines + " / " + tool + ": " + out);
    }
}
