package org.plsc4j.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.plsc4j.checkpoint.cli.ReshardCommand;
import org.plsc4j.core.ClassLayout;
import picocli.CommandLine;

/** {@code plsc4j reshard}: one summary line, usage errors name the option. */
class ReshardCommandTest {

    @TempDir
    Path tmp;

    private record Run(int code, String out, String err) {
    }

    private static Run run(String... args) {
        CommandLine cl = new CommandLine(new ReshardCommand());
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    private static Path fixture() throws URISyntaxException {
        return Path.of(ReshardCommandTest.class.getResource("/fixtures/format-1/3").toURI());
    }

    @Test
    void reshardsAndPrintsOneLine() throws Exception {
        Path out = tmp.resolve("4");
        Run r = run("--in", fixture().toString(), "--out", out.toString(), "--world-size", "4", "--layout", "ceil");
        assertEquals(0, r.code(), r.err());
        assertEquals(1, r.out().lines().count(), r.out());
        assertTrue(r.out().startsWith("resharded " + fixture() + " (3 ranks, balanced) -> " + out
                + " (4 ranks, ceil): 10 classes x 4, 13 files, "), r.out());
        Checkpoint cp = Checkpoint.open(out);
        assertEquals(ClassLayout.ceil(10, 4), cp.layout());
        assertArrayEquals(Checkpoint.open(fixture()).readFcWeights(0, 10).data().asInt(), cp.readFcWeights(0, 10).data().asInt());
    }

    @Test
    void fcDtypeConvertsTheFcFiles() throws Exception {
        Path out = tmp.resolve("bf16");
        Run r = run("--in", fixture().toString(), "--out", out.toString(), "--world-size", "2", "--fc-dtype", "bfloat16");
        assertEquals(0, r.code(), r.err());
        Checkpoint cp = Checkpoint.open(out);
        assertEquals(org.plsc4j.core.FcDtype.BFLOAT16, cp.fcWeightsDtype());
        float[] in = Checkpoint.open(fixture()).readFcWeights(0, 10).data().asFloat();
        float[] got = new float[in.length];
        org.plsc4j.core.FcStorage.read(cp.readFcWeights(0, 10), 0, 10, got, 0);
        for (int i = 0; i < in.length; i++) {
            assertEquals(org.plsc4j.core.FcDtype.BFLOAT16.round(in[i]), got[i], "value " + i);
        }
        Run bad = run("--in", fixture().toString(), "--out", tmp.resolve("y").toString(), "--world-size", "2",
                "--fc-dtype", "int8");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("fc_dtype : int8 (expected: one of [float32, float16, bfloat16])"), bad.err());
    }

    @Test
    void badOptionsAreUsageErrors() throws Exception {
        Run r = run("--in", fixture().toString(), "--out", tmp.resolve("x").toString(), "--world-size", "2", "--layout", "round");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("layout : round (expected: ceil or balanced)"), r.err());
        r = run("--in", fixture().toString(), "--out", tmp.resolve("x").toString(), "--world-size", "0");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("world_size : 0 (expected: >= 1)"), r.err());
        r = run("--in", fixture().toString(), "--world-size", "2");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--out"), r.err());
        assertFalse(Files.exists(tmp.resolve("x")));
    }
}
