package org.plsc4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import picocli.CommandLine;

/** Runs a bench command in this JVM and checks the parts of its --json every bench shares since issue 13. */
final class BenchJson {

    private BenchJson() {
    }

    /** Runs {@code command} with {@code args}; fails with its stderr unless it exits 0; its stdout as JSON. */
    static JsonNode run(Object command, String... args) throws Exception {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(command);
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        assertEquals(0, code, err.toString());
        return new ObjectMapper().readTree(out.toString());
    }

    /** Load averages before and after (Linux: a number >= 0). */
    static void assertLoad(JsonNode j) {
        for (String f : new String[] {"load_before", "load_after"}) {
            assertTrue(j.has(f), f + " missing: " + j);
            assertTrue(j.get(f).asDouble() >= 0, f + ": " + j);
        }
    }

    /** A spread object over {@code n} values whose median is {@code median} (to {@code tol}). */
    static void assertSpread(JsonNode s, int n, double median, double tol) {
        assertEquals(n, s.get("n").asInt(), s.toString());
        assertEquals(median, s.get("median").asDouble(), tol, s.toString());
        double min = s.get("min").asDouble();
        double max = s.get("max").asDouble();
        assertTrue(min <= s.get("q1").asDouble() && s.get("q1").asDouble() <= s.get("median").asDouble()
                && s.get("median").asDouble() <= s.get("q3").asDouble() && s.get("q3").asDouble() <= max, s.toString());
    }
}
