package org.plsc4j.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.plsc4j.data.cli.GenDataCommand;
import picocli.CommandLine;

class GenDataCommandTest {

    @TempDir
    Path dir;

    private record Run(int code, String out, String err) {
    }

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new GenDataCommand());
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void writesADatasetAndPrintsOneSummaryLine() throws Exception {
        Path out = dir.resolve("d");
        Run r = run("--out", out.toString(), "--classes", "3", "--per-class", "2", "--image-size", "16", "--pairs", "10",
                "--format", "base64", "--parts", "2", "--validate");
        assertEquals(0, r.code(), r.err());
        assertEquals(1, r.out().lines().count(), r.out());
        assertTrue(r.out().startsWith("gen-data: " + out + " format=base64 classes=3 per_class=2 samples=6 image_size=16 "),
                r.out());
        assertTrue(r.out().contains(" validated=true "), r.out());
        assertTrue(Files.isRegularFile(out.resolve("file_list.txt")));
        assertEquals(10, VerificationSet.read(out.resolve("synth.bin")).pairs());
    }

    @Test
    void badOptionsAreUsageErrorsNamingTheOption() {
        Run r = run("--out", dir.resolve("x").toString(), "--classes", "0", "--per-class", "2");
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("--classes : 0 (expected: >= 1)"), r.err());
        Run f = run("--out", dir.resolve("x").toString(), "--classes", "2", "--per-class", "2", "--format", "tfrecord");
        assertEquals(2, f.code());
        assertTrue(f.err().startsWith("--format : tfrecord (expected: one of label_txt, base64)"), f.err());
    }
}
