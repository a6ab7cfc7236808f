package org.plsc4j.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.plsc4j.core.TestSeed;
import org.plsc4j.data.internal.Seeds;

/**
 * The tool in a JVM with {@code -Xmx64m} over a data set three times the heap: it must not load the
 * data. The output is checked by an order-independent digest (sum of per-line hashes) of the input
 * plus the padding, which is the head of rank 0 repeated at the tail of the last rank.
 */
@ExtendWith(TestSeed.class)
class Base64PreprocessorHeapTest {

    private static final long BYTES = 200L << 20;

    @TempDir
    Path dir;

    private static long hash(String line) {
        CRC32C crc = new CRC32C();
        byte[] b = line.getBytes(StandardCharsets.ISO_8859_1);
        crc.update(b);
        return Seeds.mix(crc.getValue(), b.length, b.length > 0 ? b[b.length / 2] : 0);
    }

    @Test
    void aDataSetThreeTimesTheHeapIsShuffledInAForkedJvmWithXmx64m() throws Exception {
        SplittableRandom rng = new SplittableRandom(TestSeed.of("heap"));
        Path data = dir.resolve("data");
        Files.createDirectories(data);
        int parts = 3;
        long inputDigest = 0;
        long lines = 0;
        long written = 0;
        Base64.Encoder enc = Base64.getEncoder();
        List<BufferedWriter> ws = new ArrayList<>();
        StringBuilder list = new StringBuilder();
        try {
            for (int p = 0; p < parts; p++) {
                ws.add(Files.newBufferedWriter(data.resolve("part-" + p), StandardCharsets.ISO_8859_1));
                list.append("part-").append(p).append('\n');
            }
            byte[] img = new byte[6000];
            while (written < BYTES) {
                rng.nextBytes(img);
                String line = enc.encodeToString(img) + "\t" + rng.nextInt(100_000);
                ws.get(rng.nextInt(parts)).append(line).append('\n');
                inputDigest += hash(line);
                lines++;
                written += line.length() + 1;
            }
        } finally {
            for (BufferedWriter w : ws) {
                w.close();
            }
        }
        Files.writeString(data.resolve("file_list.txt"), list);
        int nranks = 7;
        Path out = dir.resolve("out");
        Path log = dir.resolve("child.log");
        Process child = new ProcessBuilder(ProcessHandle.current().info().command().orElseThrow(), "-Xmx64m",
                "-cp", System.getProperty("java.class.path"), PreprocessMain.class.getName(), data.toString(),
                out.toString(), Integer.toString(nranks), Long.toString(rng.nextLong()))
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        assertTrue(child.waitFor(120, TimeUnit.SECONDS), "child did not finish");
        String printed = Files.readString(log);
        assertEquals(0, child.exitValue(), printed);
        String[] f = printed.strip().lines().reduce((a, b) -> b).orElseThrow().split(" ");
        int buckets = Integer.parseInt(f[0]);
        long perFile = (lines + nranks - 1) / nranks;
        long padding = perFile * nranks - lines;
        assertTrue(buckets > 1, printed);
        assertTrue(Long.parseLong(f[4]) < BYTES / 2, "child heap " + f[4]);
        assertEquals(lines, Long.parseLong(f[1]));
        assertEquals(padding, Long.parseLong(f[2]));
        assertEquals(perFile, Long.parseLong(f[3]));

        long outputDigest = 0;
        List<String> head = new ArrayList<>();
        List<String> tail = new ArrayList<>();
        for (int r = 0; r < nranks; r++) {
            long count = 0;
            try (BufferedReader in = Files.newBufferedReader(out.resolve(Base64Preprocessor.RANK_FILE_PREFIX + r),
                    StandardCharsets.ISO_8859_1)) {
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    count++;
                    outputDigest += hash(line);
                    if (r == 0 && head.size() < padding) {
                        head.add(line);
                    }
                    if (r == nranks - 1 && count > perFile - padding) {
                        tail.add(line);
                    }
                }
            }
            assertEquals(perFile, count, "lines of rank " + r);
        }
        assertEquals(head, tail, "padding = the head of the shuffled order");
        for (String h : head) {
            outputDigest -= hash(h);
        }
        assertEquals(inputDigest, outputDigest, "output minus padding is not the input multiset");
        try (var left = Files.list(out)) {
            assertEquals(nranks + 1, left.count(), "rank files and the file list only");
        }
    }
}
