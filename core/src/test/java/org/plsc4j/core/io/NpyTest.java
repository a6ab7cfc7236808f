package org.plsc4j.core.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.plsc4j.core.TestSeed;

/** The .npy format checked against the numpy format spec by hand, round trips, row ranges and damaged files. */
@ExtendWith(TestSeed.class)
class NpyTest {

    @TempDir
    Path dir;

    /** The header of a (10, 4) float32 array, byte by byte as the spec describes it. */
    @Test
    void headerBytesFollowTheSpec() {
        byte[] h = Npy.headerBytes(NpyDType.F4, new long[] {10, 4});
        // magic(6) + version(2) + len(2) + dict(60) + 21 - len("10") growth spaces + newline = 90 bytes,
        // padded with spaces to the next multiple of 64
        assertEquals(128, h.length);
        assertArrayEquals(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}, Arrays.copyOf(h, 8));
        int len = (h[8] & 0xFF) | (h[9] & 0xFF) << 8;
        assertEquals(128 - 10, len);
        String text = new String(h, 10, len, StandardCharsets.ISO_8859_1);
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (10, 4), }";
        assertEquals(60, dict.length());
        assertEquals(dict + " ".repeat(len - dict.length() - 1) + "\n", text);
        // a dict that ends exactly on a block boundary still gets numpy's full block of padding
        for (long rows = 1; rows < 1_000_000_000_000L; rows *= 10) {
            byte[] b = Npy.headerBytes(NpyDType.F4, new long[] {rows, 7});
            assertTrue(b.length >= 10 + 60 + 21 + 1 && b.length <= 10 + 60 + 21 + 64, "rows " + rows + ": " + b.length);
        }

        assertTrue(new String(Npy.headerBytes(NpyDType.I8, new long[] {3}), StandardCharsets.ISO_8859_1)
                .contains("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }"));
        assertTrue(new String(Npy.headerBytes(NpyDType.F8, new long[0]), StandardCharsets.ISO_8859_1)
                .contains("'shape': (), }"));
        for (long[] shape : new long[][] {{}, {1}, {123456789012L, 512}, {2, 3, 4, 5, 6, 7, 8, 9}}) {
            byte[] b = Npy.headerBytes(NpyDType.F2, shape);
            assertEquals(0, b.length % 64, Arrays.toString(shape));
            assertEquals('\n', b[b.length - 1]);
            assertEquals(b.length - 10, (b[8] & 0xFF) | (b[9] & 0xFF) << 8);
        }
    }

    /** A dict longer than 65535 bytes needs version 2.0 with a 4-byte length. */
    @Test
    void hugeHeaderUsesVersion2() {
        long[] shape = new long[30000];
        Arrays.fill(shape, 1);
        byte[] h = Npy.headerBytes(NpyDType.F4, shape);
        assertEquals(2, h[6]);
        assertEquals(0, h[7]);
        long len = ByteBuffer.wrap(h, 8, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
        assertEquals(h.length - 12, len);
        assertTrue(len > 0xFFFF);
        assertEquals(0, h.length % 64);
        assertEquals('\n', h[h.length - 1]);
    }

    @Test
    void everyDtypeRoundTrips() throws IOException {
        SplittableRandom rnd = new SplittableRandom(TestSeed.of("npy-dtypes"));
        float[] f = new float[3 * 5];
        double[] d = new double[f.length];
        int[] i = new int[f.length];
        long[] l = new long[f.length];
        for (int k = 0; k < f.length; k++) {
            f[k] = (float) rnd.nextGaussian();
            d[k] = rnd.nextGaussian() * 1e100;
            i[k] = rnd.nextInt();
            l[k] = rnd.nextLong();
        }
        INDArray[] arrays = {
            Nd4j.create(f, new long[] {3, 5}, 'c'),
            Nd4j.create(d, new long[] {3, 5}, 'c'),
            Nd4j.createFromArray(i).reshape(5, 3),
            Nd4j.createFromArray(l).reshape(15),
            Nd4j.create(f, new long[] {3, 5}, 'c').castTo(DataType.FLOAT16),
            Nd4j.create(f, new long[] {1, 3, 5}, 'c'),
            Nd4j.scalar(2.5),
        };
        for (INDArray a : arrays) {
            Path p = dir.resolve(a.dataType() + "-" + a.rank() + ".npy");
            long bytes = Npy.write(p, a);
            assertEquals(Files.size(p), bytes);
            Npy.Header h = Npy.readHeader(p);
            assertEquals(NpyDType.of(a.dataType()), h.dtype());
            assertArrayEquals(a.shape(), h.shape());
            assertEquals(0, h.dataOffset() % 64);
            INDArray back = Npy.read(p);
            assertEquals(NpyDType.of(a.dataType()), NpyDType.of(back.dataType()));
            assertArrayEquals(a.shape(), back.shape());
            assertEquals(a, back, p.toString());
        }
    }

    /** Data written through small windows (odd chunk sizes, as for a > 2 GiB array) equals the one-window file, and the data region is the C-order bytes. */
    @Test
    void chunkedWriteIsTheSameBytes() throws IOException {
        INDArray a = formula(37, 11);
        byte[] whole = toBytes(a, Npy.CHUNK_BYTES);
        for (int chunk : new int[] {1, 7, 44, 4096}) {
            assertArrayEquals(whole, toBytes(a, chunk), "chunk " + chunk);
        }
        ByteBuffer data = ByteBuffer.wrap(whole, 64 * ((whole.length - 37 * 11 * 4) / 64), 37 * 11 * 4)
                .order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(whole.length - 37 * 11 * 4, Npy.headerBytes(NpyDType.F4, new long[] {37, 11}).length);
        for (int r = 0; r < 37; r++) {
            for (int c = 0; c < 11; c++) {
                assertEquals(value(r, c), data.getFloat(), "element " + r + "," + c);
            }
        }
    }

    @Test
    void viewsAndFortranOrderArraysAreWrittenInCOrder() throws IOException {
        INDArray a = formula(12, 6);
        INDArray rows = a.get(NDArrayIndex.interval(3, 9), NDArrayIndex.all());
        Path p = dir.resolve("rows.npy");
        Npy.write(p, rows);
        assertEquals(rows, Npy.read(p));
        INDArray cols = a.get(NDArrayIndex.all(), NDArrayIndex.interval(1, 4));
        Npy.write(p, cols);
        assertEquals(cols, Npy.read(p));
        INDArray f = a.dup('f');
        Npy.write(p, f);
        assertEquals(a, Npy.read(p));
    }

    @Test
    void rowRangesReadOnlyTheirRows() throws IOException {
        SplittableRandom rnd = new SplittableRandom(TestSeed.of("npy-rows"));
        INDArray a = formula(50, 9);
        Path p = dir.resolve("a.npy");
        Npy.write(p, a);
        for (int t = 0; t < 20; t++) {
            int r0 = rnd.nextInt(51);
            int r1 = r0 + rnd.nextInt(51 - r0);
            INDArray got = Npy.readRows(p, r0, r1);
            assertArrayEquals(new long[] {r1 - r0, 9}, got.shape());
            for (int r = r0; r < r1; r++) {
                for (int c = 0; c < 9; c++) {
                    assertEquals(value(r, c), got.getFloat(r - r0, c), "row " + r);
                }
            }
        }
        // into the middle of a larger destination, the rest untouched
        INDArray dst = Nd4j.valueArrayOf(new long[] {10, 9}, -1f);
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            Npy.Header h = Npy.readHeader(ch, p.toString());
            Npy.readRows(ch, h, p.toString(), 20, 25, dst, 3);
        }
        for (int r = 0; r < 10; r++) {
            for (int c = 0; c < 9; c++) {
                float expect = r >= 3 && r < 8 ? value(r - 3 + 20, c) : -1f;
                assertEquals(expect, dst.getFloat(r, c), "dst row " + r);
            }
        }
        // through small windows (odd sizes, crossing rows), as a > 2 GiB read goes through 8 MiB ones
        for (int chunk : new int[] {1, 7, 36, 37, 1000}) {
            INDArray into = Nd4j.valueArrayOf(new long[] {50, 9}, -1f);
            try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
                Npy.readRows(ch, Npy.readHeader(ch, p.toString()), p.toString(), 3, 47, into, 2, chunk);
            }
            for (int r = 0; r < 50; r++) {
                for (int c = 0; c < 9; c++) {
                    float expect = r >= 2 && r < 46 ? value(r + 1, c) : -1f;
                    assertEquals(expect, into.getFloat(r, c), "chunk " + chunk + " row " + r);
                }
            }
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Npy.readRows(p, 10, 51));
        assertEquals(p + ": rows : [10, 51) (expected: 0 <= r0 <= r1 <= 50, the rows of shape (50, 9))", e.getMessage());
    }

    /** numpy accepts a 2.0 header of any length; so do we. */
    @Test
    void readsAVersion2File() throws IOException {
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }";
        int total = (12 + dict.length() + 1 + 63) / 64 * 64;
        ByteBuffer b = ByteBuffer.allocate(total + 24).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0}).putInt(total - 12);
        b.put(dict.getBytes(StandardCharsets.ISO_8859_1));
        while (b.position() < total - 1) {
            b.put((byte) ' ');
        }
        b.put((byte) '\n');
        for (int k = 0; k < 6; k++) {
            b.putFloat(k * 0.5f);
        }
        Path p = dir.resolve("v2.npy");
        Files.write(p, b.array());
        INDArray a = Npy.read(p);
        assertEquals(Nd4j.create(new float[] {0, 0.5f, 1, 1.5f, 2, 2.5f}, new long[] {3, 2}, 'c'), a);
        assertEquals(2, Npy.readHeader(p).version());
    }

    @Test
    void damagedFilesAreRejectedNamingFileAndField() throws IOException {
        Path good = dir.resolve("good.npy");
        Npy.write(good, formula(4, 3));
        byte[] bytes = Files.readAllBytes(good);

        byte[] magic = bytes.clone();
        magic[1] = 'X';
        assertMessage(magic, "magic : 93 58 55 4d 50 59 (expected: 93 4e 55 4d 50 59");

        byte[] version = bytes.clone();
        version[6] = 3;
        assertMessage(version, "version : 3.0 (expected: 1.0 or 2.0)");

        assertMessage(withDict(bytes, "{'descr': '>f4', 'fortran_order': False, 'shape': (4, 3), }"),
                "header field 'descr' : '>f4' (expected: one of '<f2', '<u2', '<f4', '<f8', '<i4', '<i8')");
        assertMessage(withDict(bytes, "{'descr': '<f4', 'fortran_order': True, 'shape': (4, 3), }"),
                "header field 'fortran_order' : True (expected: False");
        assertMessage(withDict(bytes, "{'descr': '<f4', 'fortran_order': False, }"),
                "header field 'shape' : missing");
        assertMessage(withDict(bytes, "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 3), 'x': 1}"),
                "header field 'x' : unexpected");
        assertMessage(withDict(bytes, "{'descr': '<f4', 'fortran_order': False, 'shape': 12, }"),
                "header field 'shape' : 12 (expected: a tuple of integers)");
        assertMessage(withDict(bytes, "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 3) "),
                "header : at character");

        assertMessage(Arrays.copyOf(bytes, bytes.length - 5),
                "size : 171 bytes (expected: 176 = 128 header + 48 data bytes for shape (4, 3) <f4; the file is truncated)");
        assertMessage(Arrays.copyOf(bytes, bytes.length + 1), "; trailing bytes)");
        assertMessage(Arrays.copyOf(bytes, 30), "header_len : 118");
        assertMessage(new byte[3], "size : 3 bytes (expected: a .npy file of at least 10 bytes)");
    }

    /** If numpy is importable, it reads what we write and we read what it writes (numpy is optional for the build). */
    @Test
    void numpyInterop() throws Exception {
        String why = numpyUnavailable();
        org.junit.jupiter.api.Assumptions.assumeTrue(why == null, () -> {
            System.out.println("NpyTest.numpyInterop skipped: " + why);
            return "numpy not available: " + why;
        });
        Path ours = dir.resolve("ours.npy");
        Npy.write(ours, formula(7, 5));
        Npy.write(dir.resolve("ours_i8.npy"), Nd4j.createFromArray(new long[] {-3, 1L << 40}));
        Path theirs = dir.resolve("theirs.npy");
        String script = String.join("\n",
                "import numpy as np, sys",
                "d = sys.argv[1]",
                "a = np.load(d + '/ours.npy')",
                "assert a.dtype == np.float32 and a.shape == (7, 5), (a.dtype, a.shape)",
                "r, c = np.meshgrid(np.arange(7), np.arange(5), indexing='ij')",
                "assert (a == (r * 100 + c / 8.0).astype(np.float32)).all()",
                "b = np.load(d + '/ours_i8.npy')",
                "assert b.dtype == np.int64 and list(b) == [-3, 1 << 40], b",
                "np.save(d + '/theirs.npy', np.arange(24, dtype=np.float64).reshape(2, 3, 4) / 4)",
                "np.save(d + '/theirs_f2.npy', np.array([1.5, -2.25, 65504], dtype=np.float16))",
                "print('ok')");
        Process p = new ProcessBuilder("python3", "-c", script, dir.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        assertEquals("ok", out.strip());
        INDArray t = Npy.read(theirs);
        assertArrayEquals(new long[] {2, 3, 4}, t.shape());
        assertEquals(DataType.DOUBLE, t.dataType());
        for (int k = 0; k < 24; k++) {
            assertEquals(k / 4.0, t.getDouble(k / 12, k / 4 % 3, k % 4));
        }
        INDArray h = Npy.read(dir.resolve("theirs_f2.npy"));
        assertEquals(NpyDType.F2, NpyDType.of(h.dataType()));
        assertArrayEquals(new float[] {1.5f, -2.25f, 65504f}, h.castTo(DataType.FLOAT).toFloatVector());
        assertArrayEquals(Files.readAllBytes(theirs), Files.readAllBytes(rewrite(t)),
                "our file for numpy's array is byte-identical to numpy's");
    }

    // ------------------------------------------------------------------ helpers

    private Path rewrite(INDArray a) throws IOException {
        Path p = dir.resolve("rewritten.npy");
        Npy.write(p, a);
        return p;
    }

    private static String numpyUnavailable() {
        try {
            Process p = new ProcessBuilder("python3", "-c", "import numpy").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            return p.waitFor() == 0 ? null : "python3 -c 'import numpy' failed: " + out.strip();
        } catch (IOException | InterruptedException e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            return "python3 not runnable: " + e.getMessage();
        }
    }

    static float value(int r, int c) {
        return (float) (r * 100 + c / 8.0);
    }

    static INDArray formula(int rows, int cols) {
        float[] v = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                v[r * cols + c] = value(r, c);
            }
        }
        return Nd4j.create(v, new long[] {rows, cols}, 'c');
    }

    private static byte[] toBytes(INDArray a, int chunk) throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        long n = Npy.write(Channels.newChannel(bos), a, chunk);
        assertEquals(bos.size(), n);
        return bos.toByteArray();
    }

    /** The file with its 64-byte header's dict replaced (padded to the same length). */
    private static byte[] withDict(byte[] file, String dict) {
        byte[] out = file.clone();
        int len = (file[8] & 0xFF) | (file[9] & 0xFF) << 8;
        byte[] d = (dict + " ".repeat(len - 1 - dict.length()) + "\n").getBytes(StandardCharsets.ISO_8859_1);
        System.arraycopy(d, 0, out, 10, len);
        return out;
    }

    private void assertMessage(byte[] content, String expected) throws IOException {
        Path p = dir.resolve("bad.npy");
        Files.write(p, content);
        NpyFormatException e = assertThrows(NpyFormatException.class, () -> Npy.read(p));
        assertTrue(e.getMessage().startsWith(p + ": "), e.getMessage());
        assertTrue(e.getMessage().contains(expected), "expected \"" + expected + "\" in: " + e.getMessage());
    }
}
