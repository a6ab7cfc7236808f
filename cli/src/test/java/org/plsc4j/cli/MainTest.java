package org.plsc4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

/** Runs the command tree in-process: help listings, exit codes and error messages are the CLI's contract. */
class MainTest {



    @Test
    void helpListsTheSubcommands() {
        CliRun r = CliRun.of("--help");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("Usage: plsc4j"), r.out());
        assertTrue(r.out().matches("(?s).*Commands:.*\\n\\s+bench\\s.*"), r.out());
        assertTrue(r.out().contains("--verbose"), r.out());
    }

    @Test
    void reshardIsACommandWithItsOptions() {
        CliRun r = CliRun.of("--help");
        assertTrue(r.out().matches("(?s).*\\n\\s+reshard\\s.*"), r.out());
        r = CliRun.of("reshard", "--help");
        assertEquals(0, r.code(), r.err());
        for (String option : new String[] {"--in", "--out", "--world-size", "--layout"}) {
            assertTrue(r.out().contains(option), option + " missing in\n" + r.out());
        }
        r = CliRun.of("reshard", "--in", "x", "--out", "y", "--world-size", "2", "--layout", "rows");
        assertEquals(Main.EXIT_USAGE, r.code());
        assertTrue(r.err().contains("layout : rows (expected: ceil or balanced)"), r.err());
    }

    @Test
    void reshardOfAMissingCheckpointFailsWithOneLine() {
        CliRun r = CliRun.of("reshard", "--in", "/nonexistent/ckpt", "--out", "/nonexistent/out", "--world-size", "2");
        assertEquals(Main.EXIT_FAILURE, r.code());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().contains("/nonexistent/ckpt"), r.err());
    }

    @Test
    void benchHelpListsTheBenchmarks() {
        CliRun r = CliRun.of("bench", "--help");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("Usage: plsc4j bench"), r.out());
        assertTrue(r.out().matches("(?s).*\\n\\s+fc\\s.*"), r.out());
        assertTrue(r.out().matches("(?s).*\\n\\s+allgather\\s.*"), r.out());
    }

    @Test
    void benchFcHelpListsItsOptions() {
        CliRun r = CliRun.of("bench", "fc", "--no-dl4j", "--help");
        assertEquals(0, r.code(), r.err());
        for (String option : new String[] {"--classes", "--emb", "--batch", "--workers", "--sample-ratio",
            "--steps", "--warmup", "--dl4j-steps", "--no-dl4j", "--seed", "--json"}) {
            assertTrue(r.out().contains(option), option + " missing in\n" + r.out());
        }
        assertTrue(r.out().contains("(default: 100000)"), r.out());
    }

    @Test
    void hdfsListsPushAndPullAndNamesABadSource() {
        CliRun r = CliRun.of("hdfs", "--help");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().matches("(?s).*\\n\\s+push\\s.*") && r.out().matches("(?s).*\\n\\s+pull\\s.*"), r.out());
        CliRun bad = CliRun.of("hdfs", "push", "--src", "/nonexistent/save", "--dst", "/x");
        assertEquals(Main.EXIT_USAGE, bad.code());
        assertTrue(bad.err().contains("--src : /nonexistent/save"), bad.err());
        CliRun bench = CliRun.of("bench", "hdfs", "--help");
        assertEquals(0, bench.code(), bench.err());
        assertTrue(bench.out().contains("--mb") && bench.out().contains("--json"), bench.out());
    }

    @Test
    void versionNamesTheProjectVersion() {
        CliRun r = CliRun.of("--version");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("plsc4j " + Main.version()), r.out());
        assertFalse(Main.version().contains("${"), Main.version());
    }

    @Test
    void missingSubcommandIsAUsageErrorThatShowsTheUsage() {
        CliRun r = CliRun.of("bench");
        assertEquals(Main.EXIT_USAGE, r.code());
        assertTrue(r.err().contains("Missing required subcommand"), r.err());
        assertTrue(r.err().contains("allgather"), r.err());
        assertEquals("", r.out());
    }

    @Test
    void unknownSubcommandIsAUsageErrorWithASuggestion() {
        CliRun r = CliRun.of("bench", "fcc");
        assertEquals(Main.EXIT_USAGE, r.code());
        assertTrue(r.err().contains("'fcc'"), r.err());
        assertTrue(r.err().contains("bench fc"), r.err());
    }

    @Test
    void batchNotDivisibleByWorkersIsAUsageErrorNamingFieldValueAndExpectation() {
        CliRun r = CliRun.of("bench", "fc", "--batch", "130", "--workers", "3");
        assertEquals(Main.EXIT_USAGE, r.code());
        assertTrue(r.err().startsWith("plsc4j bench fc: batch : 130 (expected: divisible by workers = 3)"), r.err());
        assertTrue(r.err().contains("Try 'plsc4j bench fc --help'"), r.err());
    }

    @Test
    void sampleRatioOutOfRangeIsAUsageError() {
        CliRun r = CliRun.of("bench", "fc", "--sample-ratio", "1.5");
        assertEquals(Main.EXIT_USAGE, r.code());
        assertTrue(r.err().contains("sample_ratio : 1.5 (expected: 0 < x <= 1)"), r.err());
    }

    @Test
    void failingCommandExitsWithOne() {
        CliRun r = CliRun.of("test", "--checkpoint-dir", "/nonexistent/model", "--set", "with_test=true");
        assertEquals(Main.EXIT_FAILURE, r.code());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().contains("/nonexistent/model"), r.err());
    }

    @Test
    void failuresAreDescribedOnOneLine() {
        assertEquals("batch : 3 (expected: >= 1)",
                Main.oneLine(new IllegalArgumentException("batch : 3 (expected: >= 1)")));
        assertEquals("UnsupportedOperationException: not yet implemented",
                Main.oneLine(new ExecutionException(new UnsupportedOperationException("not yet implemented\nmore"))));
        assertEquals("java.lang.NullPointerException", Main.oneLine(new NullPointerException()));
    }

    @Test
    void serveIsACommandWithItsOptions() {
        CliRun r = CliRun.of("--help");
        assertTrue(r.out().matches("(?s).*\\n\\s+serve\\s.*"), r.out());
        r = CliRun.of("serve", "--help");
        assertEquals(0, r.code(), r.err());
        for (String option : new String[] {"--model", "--host", "--port", "--max-batch", "--max-wait-ms", "--threads",
            "--token-file"}) {
            assertTrue(r.out().contains(option), option + " missing in\n" + r.out());
        }
        r = CliRun.of("serve", "--model", "/nonexistent/export", "--max-wait-ms", "-1");
        assertEquals(Main.EXIT_USAGE, r.code());
        assertTrue(r.err().contains("--max-wait-ms : -1.0 (expected: 0 <= x <= 60000)"), r.err());
    }

    @Test
    void serveOfAMissingModelFailsWithOneLine() {
        CliRun r = CliRun.of("serve", "--model", "/nonexistent/export", "--port", "0");
        assertEquals(Main.EXIT_FAILURE, r.code(), r.err());
        assertTrue(r.err().contains("model.json"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
    }
}
