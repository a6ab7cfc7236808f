package org.plsc4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every kind of bad data gives an error naming file and 1-based line and the value, and in skip mode
 * is dropped and counted. Each dataset has good samples tagged by colour so that the surviving
 * samples can be checked to be exactly the good ones, with their labels.
 */
class DatasetBadDataTest {

    private static final ImageShape SHAPE = ImageShape.square(8);
    private static final int CLASSES = 10;

    @TempDir
    Path dir;

    /** A label_txt dataset: good lines for tags 10, 20, 30 (labels 1, 2, 3) around {@code bad} at line 3. */
    private Path labelTxt(String bad, boolean writeBadImage, byte[] badImage) throws IOException {
        Files.createDirectories(dir.resolve("images"));
        List<String> lines = new ArrayList<>();
        for (int k = 1; k <= 3; k++) {
            Files.write(dir.resolve("images/" + k + ".png"), TestImages.tagged(10 * k, 8));
        }
        lines.add("images/1.png 1");
        lines.add("images/2.png   2");
        lines.add(bad);
        lines.add("");
        lines.add("images/3.png\t3");
        if (writeBadImage) {
            Files.write(dir.resolve("images/bad.jpg"), badImage);
        }
        Files.write(dir.resolve("label.txt"), lines, StandardCharsets.UTF_8);
        return dir;
    }

    /** A base64 dataset of two parts; part-1.txt line 2 is {@code bad}. */
    private Path base64(String bad) throws IOException {
        Base64.Encoder e = Base64.getEncoder();
        Files.writeString(dir.resolve("part-0.txt"), e.encodeToString(TestImages.tagged(10, 8)) + "\t1\n");
        Files.writeString(dir.resolve("part-1.txt"), e.encodeToString(TestImages.tagged(20, 8)) + "\t2\r\n" + bad + "\n\n"
                + e.encodeToString(TestImages.tagged(30, 8)) + "\t3");
        Files.writeString(dir.resolve("file_list.txt"), "part-0.txt\n\npart-1.txt\n");
        return dir;
    }

    private static DatasetConfig strict(Path d, DatasetFormat f) {
        return DatasetConfig.strict(d, f, CLASSES, SHAPE);
    }

    /** The dataset holds exactly tags 10, 20, 30 with labels 1, 2, 3. */
    private static void assertGoodSamplesOnly(Dataset d) {
        assertEquals(3, d.size());
        for (int i = 0; i < 3; i++) {
            assertEquals(i + 1, d.label(i));
            assertEquals(TestImages.norm(10 * (i + 1)), d.read(i, false)[0], 0f);
        }
    }

    private static void assertMessage(String expectedStart, Exception e) {
        assertTrue(e.getMessage().startsWith(expectedStart), "message: " + e.getMessage());
    }

    @Test
    void lineWithoutLabel() throws IOException {
        Path d = labelTxt("images/1.png", false, null);
        assertMessage(d.resolve("label.txt") + ":3: line : 'images/1.png' has no label",
                assertThrows(BadDataException.class, () -> Dataset.open(strict(d, DatasetFormat.LABEL_TXT))));
        try (Dataset ds = Dataset.open(strict(d, DatasetFormat.LABEL_TXT).withSkipBadSamples(true))) {
            assertGoodSamplesOnly(ds);
            assertEquals(1, ds.badSamples().count());
            assertMessage(d.resolve("label.txt") + ":3:", new IllegalStateException(ds.badSamples().examples().get(0)));
        }
    }

    @Test
    void nonIntegerLabel() throws IOException {
        Path d = labelTxt("images/2.png two", false, null);
        BadDataException e = assertThrows(BadDataException.class, () -> Dataset.open(strict(d, DatasetFormat.LABEL_TXT)));
        assertEquals(d.resolve("label.txt") + ":3: label : 'two' (expected: an integer)", e.getMessage());
        assertEquals(3, e.line());
        try (Dataset ds = Dataset.open(strict(d, DatasetFormat.LABEL_TXT).withSkipBadSamples(true))) {
            assertGoodSamplesOnly(ds);
            assertEquals(1, ds.badSamples().count());
        }
    }

    @Test
    void labelOutOfRange() throws IOException {
        for (String label : new String[] {"10", "-1"}) {
            Path d = labelTxt("images/2.png " + label, false, null);
            BadDataException e = assertThrows(BadDataException.class, () -> Dataset.open(strict(d, DatasetFormat.LABEL_TXT)));
            assertEquals(d.resolve("label.txt") + ":3: label : " + label + " (expected: 0 <= label < num_classes = 10)",
                    e.getMessage());
            try (Dataset ds = Dataset.open(strict(d, DatasetFormat.LABEL_TXT).withSkipBadSamples(true))) {
                assertGoodSamplesOnly(ds);
                assertEquals(1, ds.badSamples().count());
            }
        }
    }

    @Test
    void missingImageFile() throws IOException {
        Path d = labelTxt("images/missing.jpg 4", false, null);
        String where = d.resolve("label.txt") + ":3: image : images/missing.jpg not found";
        // labels are fine: the open succeeds, the read names the line
        try (Dataset ds = Dataset.open(strict(d, DatasetFormat.LABEL_TXT))) {
            assertEquals(4, ds.size());
            assertEquals(4, ds.label(2));
            assertMessage(where, assertThrows(BadDataException.class, () -> ds.read(2, false)));
        }
        assertMessage(where, assertThrows(BadDataException.class,
                () -> Dataset.open(strict(d, DatasetFormat.LABEL_TXT).withValidateImages(true))));
        try (Dataset ds = Dataset.open(strict(d, DatasetFormat.LABEL_TXT).withValidateImages(true).withSkipBadSamples(true))) {
            assertGoodSamplesOnly(ds);
            assertEquals(1, ds.badSamples().count());
        }
    }

    @Test
    void corruptJpeg() throws IOException {
        byte[] jpeg = TestImages.encode(TestImages.rgb(32, 32, (x, y) -> x * 8 << 8 | y * 8), "jpeg");
        Path d = labelTxt("images/bad.jpg 5", true, Arrays.copyOf(jpeg, jpeg.length / 2));
        String where = d.resolve("label.txt") + ":3 [images/bad.jpg]: image : ";
        try (Dataset ds = Dataset.open(strict(d, DatasetFormat.LABEL_TXT))) {
            assertMessage(where, assertThrows(BadDataException.class, () -> ds.read(2, false)));
        }
        assertMessage(where, assertThrows(BadDataException.class,
                () -> Dataset.open(strict(d, DatasetFormat.LABEL_TXT).withValidateImages(true))));
        try (Dataset ds = Dataset.open(strict(d, DatasetFormat.LABEL_TXT).withValidateImages(true).withSkipBadSamples(true))) {
            assertGoodSamplesOnly(ds);
            assertEquals(1, ds.badSamples().count());
        }
    }

    @Test
    void base64LineWithoutTab() throws IOException {
        Path d = base64(Base64.getEncoder().encodeToString(TestImages.tagged(40, 8)) + " 4");
        assertMessage(d.resolve("part-1.txt") + ":2: line : 'iVBORw0KGgo",
                assertThrows(BadDataException.class, () -> Dataset.open(strict(d, DatasetFormat.BASE64))));
        try (Dataset ds = Dataset.open(strict(d, DatasetFormat.BASE64).withSkipBadSamples(true))) {
            assertGoodSamplesOnly(ds);
            assertEquals(1, ds.badSamples().count());
            assertEquals(d.resolve("part-1.txt") + ":4", ds.source(2));
        }
    }

    @Test
    void base64BadLabels() throws IOException {
        String img = Base64.getEncoder().encodeToString(TestImages.tagged(40, 8));
        Path d = base64(img + "\tx7");
        assertEquals(d.resolve("part-1.txt") + ":2: label : 'x7' (expected: an integer)",
                assertThrows(BadDataException.class, () -> Dataset.open(strict(d, DatasetFormat.BASE64))).getMessage());
        Path d2 = base64(img + "\t12");
        assertEquals(d2.resolve("part-1.txt") + ":2: label : 12 (expected: 0 <= label < num_classes = 10)",
                assertThrows(BadDataException.class, () -> Dataset.open(strict(d2, DatasetFormat.BASE64))).getMessage());
        try (Dataset ds = Dataset.open(strict(d2, DatasetFormat.BASE64).withSkipBadSamples(true))) {
            assertGoodSamplesOnly(ds);
        }
    }

    @Test
    void invalidBase64() throws IOException {
        Path d = base64("iVBOR*w0KGgo\t4");
        try (Dataset ds = Dataset.open(strict(d, DatasetFormat.BASE64))) {
            assertEquals(4, ds.size());
            assertMessage(d.resolve("part-1.txt") + ":2: image : invalid base64",
                    assertThrows(BadDataException.class, () -> ds.read(2, false)));
        }
        assertMessage(d.resolve("part-1.txt") + ":2: image : invalid base64", assertThrows(BadDataException.class,
                () -> Dataset.open(strict(d, DatasetFormat.BASE64).withValidateImages(true))));
        try (Dataset ds = Dataset.open(strict(d, DatasetFormat.BASE64).withValidateImages(true).withSkipBadSamples(true))) {
            assertGoodSamplesOnly(ds);
            assertEquals(1, ds.badSamples().count());
        }
    }

    @Test
    void validBase64OfACorruptImage() throws IOException {
        Path d = base64(Base64.getEncoder().encodeToString("GIF89a-not-really".getBytes(StandardCharsets.US_ASCII)) + "\t4");
        try (Dataset ds = Dataset.open(strict(d, DatasetFormat.BASE64))) {
            assertMessage(d.resolve("part-1.txt") + ":2: image : ", assertThrows(BadDataException.class, () -> ds.read(2, false)));
        }
    }

    @Test
    void missingIndexAndPartFiles() throws IOException {
        assertEquals(dir.resolve("label.txt") + ": not found (expected: dataset_dir " + dir
                        + " to contain label.txt for format label_txt)",
                assertThrows(BadDataException.class, () -> Dataset.open(strict(dir, DatasetFormat.LABEL_TXT))).getMessage());
        Files.writeString(dir.resolve("file_list.txt"), "part-0.txt\nnope.txt\n");
        Files.writeString(dir.resolve("part-0.txt"), "");
        assertMessage(dir.resolve("file_list.txt") + ":2: part file : nope.txt not found",
                assertThrows(BadDataException.class, () -> Dataset.open(strict(dir, DatasetFormat.BASE64))));
    }

    @Test
    void goodBase64HasRandomAccessInAnyOrder() throws IOException {
        Path d = base64(Base64.getEncoder().encodeToString(TestImages.tagged(40, 8)) + "\t4");
        try (Dataset ds = Dataset.open(strict(d, DatasetFormat.BASE64).withValidateImages(true))) {
            assertEquals(4, ds.size());
            int[] tags = {10, 20, 40, 30};
            for (int i : new int[] {3, 0, 2, 1, 3}) {
                assertEquals(TestImages.norm(tags[i]), ds.read(i, false)[0], 0f);
            }
            assertArrayEquals(new int[] {1, 2, 4, 3}, new int[] {ds.label(0), ds.label(1), ds.label(2), ds.label(3)});
            assertEquals(0, ds.badSamples().count());
        }
    }

    @Test
    void anInterruptedReaderDoesNotBreakTheBase64DatasetForOthers() throws Exception {
        Path d = base64(Base64.getEncoder().encodeToString(TestImages.tagged(40, 8)) + "\t4");
        try (Dataset ds = Dataset.open(strict(d, DatasetFormat.BASE64))) {
            Throwable[] seen = new Throwable[1];
            Thread t = new Thread(() -> {
                Thread.currentThread().interrupt();
                try {
                    ds.encoded(2); // an interrupted FileChannel read closes the channel
                } catch (RuntimeException e) {
                    seen[0] = e;
                }
            }, "interrupted-reader");
            t.start();
            t.join();
            assertTrue(seen[0] instanceof java.io.UncheckedIOException, "interrupted read fails: " + seen[0]);
            assertEquals(TestImages.norm(40), ds.read(2, false)[0], 0f);
            assertEquals(TestImages.norm(30), ds.read(3, false)[0], 0f);
        }
    }
}
