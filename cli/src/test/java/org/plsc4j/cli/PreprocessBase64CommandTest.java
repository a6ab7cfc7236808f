package org.plsc4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.plsc4j.data.Dataset;
import org.plsc4j.data.DatasetConfig;
import org.plsc4j.data.DatasetFormat;
import org.plsc4j.data.ImageShape;

/** {@code preprocess-base64} through the command tree: PLSC's spellings, exit codes, messages. */
class PreprocessBase64CommandTest {

    @TempDir
    Path dir;

    @Test
    void genDataThenPreprocessWithPlscSpellingsGivesEqualRankFilesOfDecodableImages() throws Exception {
        Path data = dir.resolve("data");
        CliRun g = CliRun.of("gen-data", "--out", data.toString(), "--classes", "7", "--per-class", "3",
                "--image-size", "16", "--format", "base64", "--parts", "3");
        assertEquals(0, g.code(), g.err());
        Path out = dir.resolve("out");
        CliRun r = CliRun.of("preprocess-base64", "--data_dir", data.toString(), "--file_list", "file_list.txt",
                "--nranks", "4", "--out", out.toString(), "--seed", "5", "--memory_mb", "1", "--no-progress");
        assertEquals(0, r.code(), r.err());
        assertEquals(1, r.out().lines().count(), r.out());
        assertTrue(r.out().startsWith("preprocess-base64: " + out.resolve("file_list.txt")
                + " files=4 lines=21 padding=3 lines_per_file=6 bad_skipped=0 buckets=1 "), r.out());
        assertEquals(List.of("base64_rank_0", "base64_rank_1", "base64_rank_2", "base64_rank_3"),
                Files.readAllLines(out.resolve("file_list.txt")));
        // every image decodes and every label is in range: the output is a training set as it stands
        try (Dataset d = Dataset.open(new DatasetConfig(out, DatasetFormat.BASE64, 7, ImageShape.square(16), false,
                true))) {
            assertEquals(24, d.size());
        }
        for (int k = 0; k < 4; k++) {
            assertEquals(6, Files.readAllLines(out.resolve("base64_rank_" + k)).size());
        }
    }

    @Test
    void aBadLineIsExitCode2NamingFileAndLineAndSkipBadCountsIt() throws Exception {
        Path data = dir.resolve("data");
        Files.createDirectories(data);
        Files.writeString(data.resolve("a.txt"), "QUJD\t1\nQUJD\tone\nREVG\t2\n");
        Files.writeString(data.resolve("file_list.txt"), "a.txt\n");
        Path out = dir.resolve("out");
        CliRun bad = CliRun.of("preprocess-base64", "--data-dir", data.toString(), "--nranks", "2", "--out",
                out.toString(), "--no-progress");
        assertEquals(Main.EXIT_USAGE, bad.code(), bad.err());
        assertEquals("plsc4j preprocess-base64: " + data.resolve("a.txt") + ":2: label : 'one' (expected: an integer)",
                bad.err().strip());
        assertEquals("", bad.out());
        assertTrue(Files.notExists(out.resolve("file_list.txt")));

        CliRun skip = CliRun.of("preprocess-base64", "--data-dir", data.toString(), "--nranks", "2", "--out",
                out.toString(), "--skip_bad", "--no-progress");
        assertEquals(0, skip.code(), skip.err());
        assertTrue(skip.out().contains(" lines=2 padding=0 lines_per_file=1 bad_skipped=1 "), skip.out());
        assertTrue(skip.err().contains("skipped 1 bad lines, first: " + data.resolve("a.txt") + ":2: label"), skip.err());
    }

    @Test
    void badOptionsAreUsageErrorsNamingTheOption() {
        CliRun n = CliRun.of("preprocess-base64", "--data-dir", dir.toString(), "--nranks", "0");
        assertEquals(Main.EXIT_USAGE, n.code());
        assertTrue(n.err().contains("--nranks : 0 (expected: >= 1)"), n.err());
        CliRun m = CliRun.of("preprocess-base64", "--data-dir", dir.toString(), "--nranks", "2", "--memory-mb", "0");
        assertEquals(Main.EXIT_USAGE, m.code());
        assertTrue(m.err().contains("--memory_mb : 0 (expected: >= 1)"), m.err());
        CliRun h = CliRun.of("preprocess-base64", "--help");
        assertEquals(0, h.code(), h.err());
        for (String option : new String[] {"--data-dir", "--data_dir", "--file-list", "--file_list", "--nranks",
            "--seed", "--out", "--skip-bad", "--memory-mb", "--temp-dir"}) {
            assertTrue(h.out().contains(option), option + " missing in\n" + h.out());
        }
        assertTrue(CliRun.of("--help").out().matches("(?s).*\\n\\s+preprocess-base64\\s.*"));
    }
}
