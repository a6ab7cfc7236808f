package org.plsc4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.plsc4j.core.TestSeed;

@ExtendWith(TestSeed.class)
class Base64PreprocessorTest {

    @TempDir
    Path dir;

    /** Writes {@code parts} part files of random valid lines (about {@code bytes} in all) and file_list.txt. */
    static List<String> dataset(Path d, int parts, long bytes, int maxImage, SplittableRandom rng) throws IOException {
        Files.createDirectories(d);
        List<String> all = new ArrayList<>();
        List<String> names = new ArrayList<>();
        Base64.Encoder enc = Base64.getEncoder();
        long written = 0;
        List<StringBuilder> sbs = new ArrayList<>();
        for (int p = 0; p < parts; p++) {
            sbs.add(new StringBuilder());
            names.add("part-" + p + ".txt");
        }
        while (written < bytes) {
            byte[] img = new byte[1 + rng.nextInt(maxImage)];
            rng.nextBytes(img);
            if (rng.nextInt(50) == 0 && !all.isEmpty()) { // some exact duplicates: a multiset, not a set
                String dup = all.get(rng.nextInt(all.size()));
                sbs.get(rng.nextInt(parts)).append(dup).append('\n');
                all.add(dup);
                written += dup.length() + 1;
                continue;
            }
            String line = enc.encodeToString(img) + "\t" + rng.nextInt(1000);
            sbs.get(rng.nextInt(parts)).append(line).append('\n');
            all.add(line);
            written += line.length() + 1;
        }
        for (int p = 0; p < parts; p++) {
            Files.writeString(d.resolve(names.get(p)), sbs.get(p), StandardCharsets.ISO_8859_1);
        }
        Files.writeString(d.resolve("file_list.txt"), String.join("\n", names) + "\n");
        return all;
    }

    static Map<String, Integer> multiset(List<String> lines) {
        Map<String, Integer> m = new HashMap<>();
        for (String l : lines) {
            m.merge(l, 1, Integer::sum);
        }
        return m;
    }

    static List<List<String>> outputs(Base64Preprocessor.Result r) throws IOException {
        List<List<String>> files = new ArrayList<>();
        for (Path f : r.files()) {
            files.add(Files.readAllLines(f, StandardCharsets.ISO_8859_1));
        }
        return files;
    }

    private Base64Preprocessor.Builder options(Path data, Path out, int nranks, long seed) {
        return Base64Preprocessor.Options.builder().dataDir(data).outDir(out).nranks(nranks).seed(seed);
    }

    /** The output multiset is the input plus exactly the padding, the padding comes from the input. */
    static void assertInputPlusPadding(List<String> input, Base64Preprocessor.Result r, int nranks) throws IOException {
        List<List<String>> files = outputs(r);
        long n = input.size();
        long perFile = (n + nranks - 1) / nranks;
        assertEquals(n, r.lines());
        assertEquals(perFile, r.linesPerFile());
        assertEquals(perFile * nranks - n, r.padding());
        assertEquals(nranks, files.size());
        List<String> all = new ArrayList<>();
        for (int k = 0; k < nranks; k++) {
            assertEquals(perFile, files.get(k).size(), "lines of " + r.files().get(k));
            all.addAll(files.get(k));
        }
        Map<String, Integer> out = multiset(all);
        Map<String, Integer> in = multiset(input);
        List<String> extra = new ArrayList<>();
        for (Map.Entry<String, Integer> e : out.entrySet()) {
            int have = in.getOrDefault(e.getKey(), 0);
            assertTrue(have > 0, "output line not in the input: " + e.getKey());
            for (int i = have; i < e.getValue(); i++) {
                extra.add(e.getKey());
            }
        }
        for (Map.Entry<String, Integer> e : in.entrySet()) {
            assertTrue(out.getOrDefault(e.getKey(), 0) >= e.getValue(), "input line lost: " + e.getKey());
        }
        assertEquals(r.padding(), extra.size(), "padding lines");
        // PLSC's rule: the padding is the head of the shuffled order, appended at the end
        assertEquals(multiset(all.subList(0, (int) r.padding())), multiset(extra));
        assertEquals(all.subList(0, (int) r.padding()), all.subList(all.size() - (int) r.padding(), all.size()));
        List<String> list = Files.readAllLines(r.fileList());
        assertEquals(nranks, list.size());
        for (int k = 0; k < nranks; k++) {
            assertEquals(Base64Preprocessor.RANK_FILE_PREFIX + k, list.get(k));
        }
    }

    @Test
    void outputIsTheInputPlusPaddingDrawnFromIt() throws Exception {
        SplittableRandom rng = new SplittableRandom(TestSeed.of("multiset"));
        Path data = dir.resolve("data");
        List<String> input = dataset(data, 1 + rng.nextInt(4), 40_000 + rng.nextInt(40_000), 60, rng);
        int nranks = 2 + rng.nextInt(7);
        while (input.size() % nranks == 0) { // this test wants padding
            nranks++;
        }
        Path out = dir.resolve("out");
        Base64Preprocessor.Result r = Base64Preprocessor.run(options(data, out, nranks, rng.nextLong()).build());
        assertTrue(r.padding() > 0);
        assertInputPlusPadding(input, r, nranks);
        assertEquals(out.resolve("file_list.txt"), r.fileList());
        assertEquals(0, r.badLines());
        // not the input order: a shuffle (a fixed order has probability 1 / n!)
        List<String> all = new ArrayList<>();
        outputs(r).forEach(all::addAll);
        assertFalse(all.subList(0, input.size()).equals(input));
        // the output is a base64 dataset the trainer opens
        DatasetConfig config = new DatasetConfig(out, DatasetFormat.BASE64, 1000, ImageShape.square(8), false, false);
        try (Dataset d = Dataset.open(config)) {
            assertEquals(r.lines() + r.padding(), d.size());
        }
    }

    @Test
    void aMultipleOfNranksHasNoPaddingAndOneRankGetsEverything() throws Exception {
        SplittableRandom rng = new SplittableRandom(TestSeed.of("exact"));
        Path data = dir.resolve("data");
        List<String> input = dataset(data, 2, 20_000, 40, rng);
        int nranks = 1;
        Base64Preprocessor.Result one = Base64Preprocessor.run(options(data, dir.resolve("one"), nranks, 1).build());
        assertEquals(0, one.padding());
        assertInputPlusPadding(input, one, 1);
        int divisor = input.size() % 2 == 0 ? 2 : input.size() % 3 == 0 ? 3 : 1;
        Base64Preprocessor.Result r = Base64Preprocessor.run(options(data, dir.resolve("div"), divisor, 1).build());
        assertEquals(0, r.padding());
        assertInputPlusPadding(input, r, divisor);
    }

    @Test
    void sameSeedSameBytesWhateverTheBudgetOtherSeedOtherOrder() throws Exception {
        SplittableRandom rng = new SplittableRandom(TestSeed.of("determinism"));
        Path data = dir.resolve("data");
        List<String> input = dataset(data, 3, 3_000_000, 300, rng);
        long seed = rng.nextLong();
        int nranks = 3;
        Base64Preprocessor.Result a = Base64Preprocessor.run(options(data, dir.resolve("a"), nranks, seed).build());
        Base64Preprocessor.Result b = Base64Preprocessor.run(options(data, dir.resolve("b"), nranks, seed)
                .memoryBytes(1 << 20).build());
        Base64Preprocessor.Result c = Base64Preprocessor.run(options(data, dir.resolve("c"), nranks, seed + 1).build());
        assertEquals(1, a.buckets());
        assertTrue(b.buckets() > 1, "buckets " + b.buckets());
        boolean differs = false;
        for (int k = 0; k < nranks; k++) {
            byte[] fa = Files.readAllBytes(a.files().get(k));
            assertArrayEquals(fa, Files.readAllBytes(b.files().get(k)), "rank " + k);
            differs |= !java.util.Arrays.equals(fa, Files.readAllBytes(c.files().get(k)));
        }
        assertTrue(differs, "another seed gave the same order");
        assertInputPlusPadding(input, c, nranks);
    }

    @Test
    void aDataSetTenTimesTheMemoryBudgetIsShuffledInBuckets() throws Exception {
        SplittableRandom rng = new SplittableRandom(TestSeed.of("budget"));
        Path data = dir.resolve("data");
        List<String> input = dataset(data, 4, 11_000_000, 2000, rng);
        int nranks = 5 + rng.nextInt(4);
        Path tmp = dir.resolve("tmp");
        Base64Preprocessor.Result r = Base64Preprocessor.run(options(data, dir.resolve("out"), nranks, rng.nextLong())
                .memoryBytes(1 << 20).tempDir(tmp).build());
        assertTrue(r.buckets() >= 10, "buckets " + r.buckets());
        assertTrue(r.bytesIn() > 10L << 20);
        assertInputPlusPadding(input, r, nranks);
        try (Stream<Path> left = Files.list(tmp)) {
            assertEquals(List.of(), left.toList(), "temporary files left");
        }
    }

    @Test
    void crlfAndBlankLinesAreNormalisedAndSkipped() throws Exception {
        Path data = dir.resolve("data");
        Files.createDirectories(data);
        Files.writeString(data.resolve("p.txt"), "QUJD\t1\r\n\n   \nREVG\t 2 \r\nR0hJ\t3");
        Files.writeString(data.resolve("file_list.txt"), "p.txt\n\n");
        Base64Preprocessor.Result r = Base64Preprocessor.run(options(data, dir.resolve("out"), 2, 7).build());
        assertEquals(3, r.lines());
        assertEquals(1, r.padding());
        List<String> all = new ArrayList<>();
        outputs(r).forEach(all::addAll);
        assertEquals(multiset(List.of("QUJD\t1", "REVG\t 2 ", "R0hJ\t3")), multiset(all.subList(0, 3)));
        for (Path f : r.files()) {
            assertFalse(Files.readString(f).contains("\r"));
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
        "no tab            | QUJD 3          | has no tab",
        "empty image       | \\t3            | image : empty",
        "blank image       | \"   \\t3\"      | image : empty",
        "invalid base64    | QU*D\\t3        | image : invalid base64",
        "truncated base64  | QUJDR\\t3       | image : invalid base64",
        "non-integer label | QUJD\\tx7       | label : 'x7' (expected: an integer)",
        "empty label       | QUJD\\t         | label : '' (expected: an integer)",
        "negative label    | QUJD\\t-4       | label : -4 (expected: an integer >= 0)",
        "two tabs          | QUJD\\t3\\t4     | label : '3\\t4' (expected: an integer)",
    })
    void badLinesNameFileAndLineOrAreSkippedAndCounted(String what, String bad, String message) throws Exception {
        Path data = dir.resolve("data");
        Files.createDirectories(data);
        Files.writeString(data.resolve("p0.txt"), "QUJD\t1\nREVG\t2\n");
        Files.writeString(data.resolve("p1.txt"), "R0hJ\t3\n\n" + bad.replace("\\t", "\t") + "\nSktM\t4\n");
        Files.writeString(data.resolve("file_list.txt"), "p0.txt\np1.txt\n");
        Path out = dir.resolve("out");
        Path tmp = dir.resolve("tmp");
        BadDataException e = assertThrows(BadDataException.class,
                () -> Base64Preprocessor.run(options(data, out, 2, 1).tempDir(tmp).build()));
        assertTrue(e.getMessage().startsWith(data.resolve("p1.txt") + ":3: "), e.getMessage());
        assertTrue(e.getMessage().contains(message.replace("\\t", "\t")), e.getMessage());
        assertEquals(data.resolve("p1.txt").toString(), e.file());
        assertEquals(3, e.line());
        assertNothingLeft(out, tmp);

        Base64Preprocessor.Result r = Base64Preprocessor.run(options(data, out, 2, 1).tempDir(tmp).skipBad(true).build());
        assertEquals(1, r.badLines());
        assertEquals(e.getMessage(), r.badExamples().get(0));
        assertInputPlusPadding(List.of("QUJD\t1", "REVG\t2", "R0hJ\t3", "SktM\t4"), r, 2);
        try (Stream<Path> left = Files.list(tmp)) {
            assertEquals(List.of(), left.toList());
        }
    }

    /** No temporary directory, no partial file, no file list after a failure. */
    private static void assertNothingLeft(Path out, Path tmp) throws IOException {
        try (Stream<Path> left = Files.list(tmp)) {
            assertEquals(List.of(), left.toList(), "temporary files left");
        }
        if (Files.isDirectory(out)) {
            try (Stream<Path> left = Files.list(out)) {
                assertEquals(List.of(), left.toList(), "outputs left");
            }
        }
    }

    @Test
    void aFailureAfterTheFirstPassLeavesNothingBehind() throws Exception {
        SplittableRandom rng = new SplittableRandom(TestSeed.of("failure"));
        Path data = dir.resolve("data");
        List<String> input = dataset(data, 2, 5_000, 20, rng);
        Path out = dir.resolve("out");
        Path tmp = dir.resolve("tmp");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Base64Preprocessor.run(
                options(data, out, input.size() + 1, 1).tempDir(tmp).memoryBytes(1 << 20).build()));
        assertTrue(e.getMessage().startsWith("nranks : " + (input.size() + 1) + " (expected: <= the " + input.size()
                + " lines"), e.getMessage());
        assertNothingLeft(out, tmp);
    }

    @Test
    void missingFileListOrPartIsAnErrorNamingIt() throws Exception {
        Path data = dir.resolve("data");
        Files.createDirectories(data);
        BadDataException noList = assertThrows(BadDataException.class,
                () -> Base64Preprocessor.run(options(data, dir.resolve("out"), 2, 1).build()));
        assertTrue(noList.getMessage().startsWith(data.resolve("file_list.txt") + ": not found"), noList.getMessage());
        Files.writeString(data.resolve("list.txt"), "a.txt\nmissing.txt\n");
        Files.writeString(data.resolve("a.txt"), "QUJD\t1\n");
        BadDataException noPart = assertThrows(BadDataException.class,
                () -> Base64Preprocessor.run(options(data, dir.resolve("out"), 2, 1).fileList("list.txt").build()));
        assertTrue(noPart.getMessage().startsWith(data.resolve("list.txt") + ":2: part file : missing.txt not found"),
                noPart.getMessage());
    }

    @Test
    void optionsAreValidatedNamingTheField() {
        IllegalArgumentException n = assertThrows(IllegalArgumentException.class,
                () -> options(dir, dir, 0, 1).build());
        assertEquals("nranks : 0 (expected: >= 1)", n.getMessage());
        IllegalArgumentException m = assertThrows(IllegalArgumentException.class,
                () -> options(dir, dir, 2, 1).memoryBytes(1000).build());
        assertTrue(m.getMessage().startsWith("memory_mb : "), m.getMessage());
        Base64Preprocessor.Options o = Base64Preprocessor.Options.builder().dataDir(dir).nranks(3).build();
        assertEquals(dir, o.outDir());
        assertEquals(dir, o.tempDir());
        assertEquals("file_list.txt", o.fileList());
    }
}
