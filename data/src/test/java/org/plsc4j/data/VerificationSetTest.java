package org.plsc4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import net.razorvine.pickle.Pickler;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.plsc4j.core.TestSeed;

@ExtendWith(TestSeed.class)
class VerificationSetTest {

    @TempDir
    Path dir;

    @Test
    void roundTripThroughPyrolite() throws IOException {
        SplittableRandom rng = new SplittableRandom(TestSeed.of("bin"));
        int pairs = 1 + rng.nextInt(20);
        List<byte[]> images = new java.util.ArrayList<>();
        boolean[] same = new boolean[pairs];
        for (int i = 0; i < 2 * pairs; i++) {
            byte[] b = new byte[rng.nextInt(300)];
            for (int k = 0; k < b.length; k++) {
                b[k] = (byte) rng.nextInt(256);
            }
            images.add(b);
        }
        for (int i = 0; i < pairs; i++) {
            same[i] = rng.nextBoolean();
        }
        Path file = dir.resolve("x.bin");
        new VerificationSet("x", images, same).write(file);
        try (var s = Files.list(dir)) {
            assertEquals(List.of(file), s.toList(), "no temporary file left");
        }
        VerificationSet read = VerificationSet.read(file);
        assertEquals(pairs, read.pairs());
        assertArrayEquals(same, read.issame());
        for (int i = 0; i < 2 * pairs; i++) {
            assertArrayEquals(images.get(i), read.images().get(i), "image " + i);
        }
    }

    @Test
    void listsInsteadOfTupleAndBytesFromPyrolite() throws IOException {
        Path file = dir.resolve("l.bin");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        new Pickler(false).dump(List.of(List.of(new byte[] {1}, new byte[] {2, 3}), List.of(false)), out);
        Files.write(file, out.toByteArray());
        VerificationSet s = VerificationSet.read(file);
        assertArrayEquals(new boolean[] {false}, s.issame());
        assertArrayEquals(new byte[] {2, 3}, s.images().get(1));
    }

    /**
     * What a Python 2 insightface pickle looks like (checked with Python's pickletools and
     * pickle.loads): images are {@code str}, one flag is a {@code numpy.bool_}.
     */
    private static byte[] python2Pickle() {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        byte[][] ops = {
            {(byte) 0x80, 2},                          // PROTO 2
            {'('},                                     // MARK (outer tuple)
            {']'},                                     // EMPTY_LIST (images)
            {'('},                                     // MARK
            {'U', 4, (byte) 0xff, (byte) 0xd8, 0, 'A'}, // SHORT_BINSTRING '\xff\xd8\x00A' (py2 str)
            {'U', 0},                                  // SHORT_BINSTRING ''
            {'U', 1, (byte) 0xe9},                     // SHORT_BINSTRING '\xe9'
            {'U', 3, 'a', 'b', 'c'},                   // SHORT_BINSTRING 'abc'
            {'e'},                                     // APPENDS
            {']'},                                     // EMPTY_LIST (issame)
            {'('},                                     // MARK
            {(byte) 0x88},                             // NEWTRUE
            ascii("cnumpy.core.multiarray\nscalar\n"), // GLOBAL numpy.core.multiarray.scalar
            ascii("cnumpy\ndtype\n"),                  // GLOBAL numpy.dtype
            {'U', 2, 'b', '1'},                        // SHORT_BINSTRING 'b1'
            {'K', 0},                                  // BININT1 0 (align=False)
            {'K', 1},                                  // BININT1 1 (copy=True)
            {(byte) 0x87},                             // TUPLE3
            {'R'},                                     // REDUCE -> dtype('b1')
            {'('},                                     // MARK (dtype state)
            {'K', 3},                                  // BININT1 3 (version)
            {'U', 1, '|'},                             // SHORT_BINSTRING '|' (byte order)
            {'N', 'N', 'N'},                           // NONE x3 (subarray, names, fields)
            {'J', -1, -1, -1, -1},                     // BININT -1 (elsize)
            {'J', -1, -1, -1, -1},                     // BININT -1 (alignment)
            {'K', 0},                                  // BININT1 0 (flags)
            {'t'},                                     // TUPLE
            {'b'},                                     // BUILD -> dtype.__setstate__
            {'U', 1, 0},                               // SHORT_BINSTRING '\x00' (the value: False)
            {(byte) 0x86},                             // TUPLE2 (dtype, data)
            {'R'},                                     // REDUCE -> numpy.bool_(False)
            {'e'},                                     // APPENDS
            {'t'},                                     // TUPLE (outer)
            {'.'},                                     // STOP
        };
        for (byte[] op : ops) {
            b.writeBytes(op);
        }
        return b.toByteArray();
    }

    /** Python 3 / numpy 2: protocol 3, bytes as SHORT_BINBYTES, {@code numpy._core.multiarray.scalar}. */
    private static byte[] python3NumpyPickle() {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        byte[][] ops = {
            {(byte) 0x80, 3},                           // PROTO 3
            {']'},                                      // EMPTY_LIST (images)
            {'('},                                      // MARK
            {'C', 2, 0, (byte) 0xff},                   // SHORT_BINBYTES b'\x00\xff'
            {'C', 1, 'z'},                              // SHORT_BINBYTES b'z'
            {'e'},                                      // APPENDS
            {']'},                                      // EMPTY_LIST (issame)
            {'('},                                      // MARK
            ascii("cnumpy._core.multiarray\nscalar\n"), // GLOBAL numpy._core.multiarray.scalar
            ascii("cnumpy\ndtype\n"),                   // GLOBAL numpy.dtype
            {'X', 2, 0, 0, 0, 'b', '1'},                // BINUNICODE 'b1'
            {(byte) 0x89},                              // NEWFALSE
            {(byte) 0x88},                              // NEWTRUE
            {(byte) 0x87},                              // TUPLE3
            {'R'},                                      // REDUCE -> dtype('b1')
            {'('},                                      // MARK
            {'K', 3},                                   // BININT1 3
            {'X', 1, 0, 0, 0, '|'},                     // BINUNICODE '|'
            {'N', 'N', 'N'},                            // NONE x3
            {'J', -1, -1, -1, -1},                      // BININT -1
            {'J', -1, -1, -1, -1},                      // BININT -1
            {'K', 0},                                   // BININT1 0
            {'t'},                                      // TUPLE
            {'b'},                                      // BUILD
            {'C', 1, 1},                                // SHORT_BINBYTES b'\x01' (True)
            {(byte) 0x86},                              // TUPLE2
            {'R'},                                      // REDUCE -> numpy.bool_(True)
            {'e'},                                      // APPENDS
            {(byte) 0x86},                              // TUPLE2 (images, issame)
            {'.'},                                      // STOP
        };
        for (byte[] op : ops) {
            b.writeBytes(op);
        }
        return b.toByteArray();
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    void python2StringsAndNumpyBools() throws IOException {
        Path file = dir.resolve("py2.bin");
        Files.write(file, python2Pickle());
        VerificationSet s = VerificationSet.read(file);
        assertArrayEquals(new boolean[] {true, false}, s.issame());
        assertArrayEquals(new byte[] {(byte) 0xff, (byte) 0xd8, 0, 'A'}, s.images().get(0));
        assertArrayEquals(new byte[0], s.images().get(1));
        assertArrayEquals(new byte[] {(byte) 0xe9}, s.images().get(2));
        assertArrayEquals(new byte[] {'a', 'b', 'c'}, s.images().get(3));
    }

    @Test
    void python3BytesAndNumpy2Bools() throws IOException {
        Path file = dir.resolve("py3.bin");
        Files.write(file, python3NumpyPickle());
        VerificationSet s = VerificationSet.read(file);
        assertArrayEquals(new boolean[] {true}, s.issame());
        assertArrayEquals(new byte[] {0, (byte) 0xff}, s.images().get(0));
        assertArrayEquals(new byte[] {'z'}, s.images().get(1));
    }

    @Test
    void badFilesNameTheFileAndWhatIsWrong() throws IOException {
        Path truncated = dir.resolve("t.bin");
        byte[] full = python2Pickle();
        Files.write(truncated, Arrays.copyOf(full, full.length - 30));
        BadDataException e = assertThrows(BadDataException.class, () -> VerificationSet.read(truncated));
        assertTrue(e.getMessage().startsWith(truncated + ": pickle : "), e.getMessage());

        Path counts = dir.resolve("c.bin");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        new Pickler(false).dump(new Object[] {List.of(new byte[] {1}, new byte[] {2}, new byte[] {3}), List.of(true)}, out);
        Files.write(counts, out.toByteArray());
        assertEquals(counts + ": images : 3 (expected: 2 per issame flag = 2)",
                assertThrows(BadDataException.class, () -> VerificationSet.read(counts)).getMessage());

        Path flags = dir.resolve("f.bin");
        out.reset();
        new Pickler(false).dump(new Object[] {List.of(new byte[] {1}, new byte[] {2}), List.of(1)}, out);
        Files.write(flags, out.toByteArray());
        assertEquals(flags + ": issame[0] : java.lang.Integer (expected: bool or numpy.bool_)",
                assertThrows(BadDataException.class, () -> VerificationSet.read(flags)).getMessage());

        assertEquals(dir.resolve("none.bin") + ": not found (expected: a .bin verification pickle)",
                assertThrows(BadDataException.class, () -> VerificationSet.read(dir.resolve("none.bin"))).getMessage());
    }

    @Test
    void decodeGivesTrainingTensors() {
        VerificationSet s = new VerificationSet("mem", List.of(TestImages.tagged(10, 12), TestImages.tagged(200, 12)),
                new boolean[] {false});
        INDArray a = s.decode(ImageShape.square(6), true, 0, 2);
        assertArrayEquals(new long[] {2, 3, 6, 6}, a.shape());
        assertEquals(TestImages.norm(200), a.getFloat(1, 0, 5, 5), 1e-6f);
        assertEquals(TestImages.norm(255 - 10), a.getFloat(0, 1, 0, 0), 1e-6f);
    }
}
