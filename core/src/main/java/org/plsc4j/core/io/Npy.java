package org.plsc4j.core.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.bytedeco.javacpp.BytePointer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.core.internal.PyLiteral;

/**
 * Reads and writes numpy {@code .npy} files (format 1.0, and 2.0 when a header needs more than 64 KiB)
 * straight between a file and an {@link INDArray}'s native memory.
 *
 * <p>Why {@code .npy}: it is the one tensor file format every tool of the field reads
 * ({@code numpy.load}, PyTorch, Paddle), it is a fixed header plus the raw C-order bytes, so a row
 * range of a 2-D array is one positioned read, and nothing needs converting. Why hand-written: ND4J's
 * writer ({@code Nd4j.toNpyByteArray}) builds the whole file in one {@code byte[]}, which caps arrays
 * below 2 GiB (a 1M-class × 512 shard is 2 GiB per array), and its readers
 * ({@code Nd4j.createFromNpyFile}, {@code readNpy}) load whole files only, so a rank could not read
 * just its class range.
 * Here data moves in chunks of at most {@link #CHUNK_BYTES} through views of the array's native
 * memory (javacpp pointers), with {@link FileChannel} positioned reads and writes.
 *
 * <p>Headers follow the numpy format spec: {@code \x93NUMPY}, version, little-endian header length,
 * then a Python dict literal {@code {'descr': '<f4', 'fortran_order': False, 'shape': (10, 4), }}
 * padded with spaces and a final newline so that the data starts at a multiple of 64 bytes (numpy
 * &gt;= 1.16). Written headers are byte-identical to {@code numpy.save}'s (checked against numpy 2.4, which
 * leaves 21 − digits spaces of room to grow the first dimension), so a file's sha256 does not
 * depend on which of the two wrote it. Only little-endian C-order arrays of the {@link NpyDType}s are supported; errors name
 * the file and the header field.
 */
public final class Npy {

    /** Data is copied in windows of this many bytes. */
    public static final int CHUNK_BYTES = 8 << 20;

    /** The data offset is a multiple of this (numpy &gt;= 1.16). */
    public static final int ALIGN = 64;

    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final int MAX_HEADER = 1 << 24;
    private static final int GROWTH_AXIS_MAX_DIGITS = 21;

    private Npy() {
    }

    /**
     * A parsed header.
     *
     * @param version major format version (1 or 2)
     * @param dtype element type
     * @param shape array shape (C order); empty for a 0-d array
     * @param dataOffset byte offset of the first element in the file
     */
    public record Header(int version, NpyDType dtype, long[] shape, long dataOffset) {

        /** Copies the shape. */
        public Header {
            Objects.requireNonNull(dtype, "dtype");
            shape = shape.clone();
        }

        /** The shape (a copy). */
        @Override
        public long[] shape() {
            return shape.clone();
        }

        /** Number of dimensions. */
        public int ndim() {
            return shape.length;
        }

        /** Number of elements. */
        public long count() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }

        /** Bytes of data after the header. */
        public long dataBytes() {
            return count() * dtype.itemSize();
        }

        /** Size of dimension 0 (rows of a 2-D array); the header must have at least one dimension. */
        public long rows() {
            if (shape.length == 0) {
                throw new IllegalStateException("rows of a 0-d array");
            }
            return shape[0];
        }

        /** Bytes of one row: the product of dimensions 1.. times the item size. */
        public long rowBytes() {
            long n = dtype.itemSize();
            for (int i = 1; i < shape.length; i++) {
                n *= shape[i];
            }
            return n;
        }

        /** The shape as numpy prints it, e.g. {@code (10, 4)}, {@code (3,)}, {@code ()}. */
        public String shapeString() {
            return tuple(shape);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Header h && h.version == version && h.dtype == dtype
                    && Arrays.equals(h.shape, shape) && h.dataOffset == dataOffset;
        }

        @Override
        public int hashCode() {
            return Objects.hash(version, dtype, Arrays.hashCode(shape), dataOffset);
        }

        @Override
        public String toString() {
            return "npy " + version + ".0 " + dtype.descr() + " " + shapeString() + " @" + dataOffset;
        }
    }

    // ---------------------------------------------------------------- header

    /**
     * The complete header (magic, version, length, padded dict) numpy writes for an array of
     * {@code dtype} and {@code shape}: version 1.0 unless the dict needs a length beyond 65535.
     */
    public static byte[] headerBytes(NpyDType dtype, long[] shape) {
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("shape : " + tuple(shape) + " (expected: no negative dimension)");
            }
        }
        String dict = "{'descr': '" + dtype.descr() + "', 'fortran_order': False, 'shape': " + tuple(shape) + ", }";
        if (shape.length > 0) {
            // numpy leaves room to grow the first dimension in place: 21 digits minus the current ones
            dict += " ".repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - Long.toString(shape[0]).length()));
        }
        int version = 1;
        int prefix = MAGIC.length + 2 + 2;
        int total = padded(prefix, dict.length());
        if (total - prefix > 0xFFFF) {
            version = 2;
            prefix = MAGIC.length + 2 + 4;
            total = padded(prefix, dict.length());
        }
        int headerLen = total - prefix;
        ByteBuffer b = ByteBuffer.allocate(total).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).put((byte) version).put((byte) 0);
        if (version == 1) {
            b.putShort((short) headerLen);
        } else {
            b.putInt(headerLen);
        }
        b.put(dict.getBytes(StandardCharsets.ISO_8859_1));
        while (b.position() < total - 1) {
            b.put((byte) ' ');
        }
        b.put((byte) '\n');
        return b.array();
    }

    /** Reads and validates the header of {@code file}, including that the file holds exactly the data it announces. */
    public static Header readHeader(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return readHeader(ch, file.toString());
        }
    }

    /**
     * Reads and validates the header at the start of {@code ch}; {@code name} (the file) prefixes error
     * messages. Checks the magic, the version, the dict's keys and values, and that the channel's size
     * is the data offset plus the data the shape announces (a truncated file fails here).
     */
    public static Header readHeader(FileChannel ch, String name) throws IOException {
        long size = ch.size();
        ByteBuffer pre = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
        readFully(ch, pre, 0, name);
        pre.flip();
        if (pre.remaining() < 10) {
            throw new NpyFormatException(name + ": size : " + size + " bytes (expected: a .npy file of at least 10 bytes)");
        }
        byte[] magic = new byte[MAGIC.length];
        pre.get(magic);
        if (!Arrays.equals(magic, MAGIC)) {
            throw new NpyFormatException(name + ": magic : " + hex(magic) + " (expected: 93 4e 55 4d 50 59, \\x93NUMPY: not a .npy file)");
        }
        int major = pre.get() & 0xFF;
        int minor = pre.get() & 0xFF;
        if ((major != 1 && major != 2) || minor != 0) {
            throw new NpyFormatException(name + ": version : " + major + "." + minor + " (expected: 1.0 or 2.0)");
        }
        long headerLen;
        int prefix;
        if (major == 1) {
            headerLen = pre.getShort() & 0xFFFF;
            prefix = 10;
        } else {
            if (pre.remaining() < 4) {
                throw new NpyFormatException(name + ": size : " + size + " bytes (expected: at least 12 for a version 2.0 header)");
            }
            headerLen = pre.getInt() & 0xFFFF_FFFFL;
            prefix = 12;
        }
        if (headerLen > MAX_HEADER || prefix + headerLen > size) {
            throw new NpyFormatException(name + ": header_len : " + headerLen + " (expected: <= " + Math.min(MAX_HEADER, size - prefix)
                    + ", the file has " + size + " bytes; truncated?)");
        }
        ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
        readFully(ch, hb, prefix, name);
        String text = new String(hb.array(), StandardCharsets.ISO_8859_1);
        Map<String, Object> dict;
        try {
            dict = PyLiteral.parseDict(text);
        } catch (IllegalArgumentException e) {
            throw new NpyFormatException(name + ": header : " + e.getMessage() + " in " + quoteHeader(text));
        }
        for (String key : dict.keySet()) {
            if (!key.equals("descr") && !key.equals("fortran_order") && !key.equals("shape")) {
                throw new NpyFormatException(name + ": header field '" + key + "' : unexpected (expected: only descr, fortran_order, shape)");
            }
        }
        Object descr = field(dict, "descr", name);
        NpyDType dtype = descr instanceof String s ? NpyDType.ofDescr(s) : null;
        if (dtype == null) {
            throw new NpyFormatException(name + ": header field 'descr' : " + repr(descr) + " (expected: one of "
                    + NpyDType.supportedDescrs() + ")");
        }
        Object fortran = field(dict, "fortran_order", name);
        if (!Boolean.FALSE.equals(fortran)) {
            throw new NpyFormatException(name + ": header field 'fortran_order' : " + repr(fortran)
                    + " (expected: False; only C-order arrays are supported)");
        }
        Object shapeObj = field(dict, "shape", name);
        if (!(shapeObj instanceof List<?> list)) {
            throw new NpyFormatException(name + ": header field 'shape' : " + repr(shapeObj) + " (expected: a tuple of integers)");
        }
        long[] shape = new long[list.size()];
        long count = 1;
        for (int i = 0; i < shape.length; i++) {
            shape[i] = (Long) list.get(i);
            if (shape[i] < 0) {
                throw new NpyFormatException(name + ": header field 'shape' : " + tuple(shape) + " (expected: no negative dimension)");
            }
            try {
                count = Math.multiplyExact(count, shape[i]);
                Math.multiplyExact(count, dtype.itemSize());
            } catch (ArithmeticException e) {
                throw new NpyFormatException(name + ": header field 'shape' : " + repr(shapeObj) + " (expected: fewer than 2^63 bytes of data)");
            }
        }
        Header h = new Header(major, dtype, shape, prefix + headerLen);
        long expected = h.dataOffset() + h.dataBytes();
        if (size != expected) {
            throw new NpyFormatException(name + ": size : " + size + " bytes (expected: " + expected + " = " + h.dataOffset()
                    + " header + " + h.dataBytes() + " data bytes for shape " + h.shapeString() + " " + dtype.descr()
                    + (size < expected ? "; the file is truncated)" : "; trailing bytes)"));
        }
        return h;
    }

    // ---------------------------------------------------------------- read

    /** Reads the whole array in {@code file}. */
    public static INDArray read(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            Header h = readHeader(ch, file.toString());
            INDArray out = allocate(h, h.shape());
            if (h.count() > 0) {
                copyIn(ch, h.dataOffset(), h.dataBytes(), out, 0, file.toString(), CHUNK_BYTES);
            }
            return out;
        }
    }

    /** Reads rows {@code [r0, r1)} (along dimension 0) of the array in {@code file} into a new array, without reading the other rows. */
    public static INDArray readRows(Path file, long r0, long r1) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            Header h = readHeader(ch, file.toString());
            checkRowRange(h, r0, r1, file.toString());
            long[] shape = h.shape();
            shape[0] = r1 - r0;
            INDArray out = allocate(h, shape);
            readRows(ch, h, file.toString(), r0, r1, out, 0);
            return out;
        }
    }

    /**
     * Reads rows {@code [r0, r1)} of the array behind {@code h} in {@code ch} into rows
     * {@code [dstRow, dstRow + r1 - r0)} of {@code dst} with positioned reads (the channel's position is
     * not used). {@code dst} must be a C-order contiguous array of the same dtype and row length; it
     * may be larger than 2 GiB. {@code name} prefixes error messages.
     */
    public static void readRows(FileChannel ch, Header h, String name, long r0, long r1, INDArray dst, long dstRow)
            throws IOException {
        readRows(ch, h, name, r0, r1, dst, dstRow, CHUNK_BYTES);
    }

    static void readRows(FileChannel ch, Header h, String name, long r0, long r1, INDArray dst, long dstRow,
                         int chunkBytes) throws IOException {
        checkRowRange(h, r0, r1, name);
        if (r1 == r0) {
            return;
        }
        if (!h.dtype().matches(dst.dataType())) {
            throw new IllegalArgumentException(name + ": destination dtype : " + dst.dataType() + " (expected: "
                    + h.dtype().dataType() + " for " + h.dtype().descr() + ")");
        }
        if (!isDense(dst) || dst.rank() != h.ndim()) {
            throw new IllegalArgumentException(name + ": destination : shape " + Arrays.toString(dst.shape()) + " order "
                    + dst.ordering() + " (expected: a contiguous C-order array of rank " + h.ndim() + ")");
        }
        long[] ds = dst.shape();
        long[] hs = h.shape();
        for (int i = 1; i < hs.length; i++) {
            if (ds[i] != hs[i]) {
                throw new IllegalArgumentException(name + ": destination shape : " + Arrays.toString(ds)
                        + " (expected: rows of shape " + h.shapeString() + ")");
            }
        }
        if (dstRow < 0 || dstRow + (r1 - r0) > ds[0]) {
            throw new IllegalArgumentException(name + ": destination rows : [" + dstRow + ", " + (dstRow + r1 - r0)
                    + ") (expected: within the destination's " + ds[0] + " rows)");
        }
        long rowBytes = h.rowBytes();
        if (r1 > r0 && rowBytes > 0) {
            copyIn(ch, h.dataOffset() + r0 * rowBytes, (r1 - r0) * rowBytes, dst, dstRow * rowBytes, name, chunkBytes);
        }
    }

    private static void checkRowRange(Header h, long r0, long r1, String name) {
        if (h.ndim() == 0) {
            throw new IllegalArgumentException(name + ": shape : () (expected: at least one dimension to read rows of)");
        }
        if (r0 < 0 || r0 > r1 || r1 > h.rows()) {
            throw new IllegalArgumentException(name + ": rows : [" + r0 + ", " + r1 + ") (expected: 0 <= r0 <= r1 <= "
                    + h.rows() + ", the rows of shape " + h.shapeString() + ")");
        }
    }

    private static INDArray allocate(Header h, long[] shape) {
        long count = 1;
        for (long d : shape) {
            count *= d;
        }
        if (count == 0) {
            return Nd4j.create(h.dtype().dataType(), shape);
        }
        if (shape.length == 0) {
            return Nd4j.scalar(h.dtype().dataType(), 0);
        }
        return Nd4j.createUninitialized(h.dtype().dataType(), shape, 'c');
    }

    private static void copyIn(FileChannel ch, long filePos, long bytes, INDArray dst, long dstOffset, String name,
                               int chunkBytes) throws IOException {
        checkNativeOrder();
        BytePointer base = new BytePointer(dst.data().addressPointer()).position(0);
        for (long done = 0; done < bytes; ) {
            int n = (int) Math.min(chunkBytes, bytes - done);
            ByteBuffer window = window(base, dstOffset + done, n);
            readFully(ch, window, filePos + done, name);
            if (window.hasRemaining()) {
                throw new NpyFormatException(name + ": size : ended at byte " + (filePos + done + window.position())
                        + " (expected: data up to byte " + (filePos + bytes) + "; the file is truncated)");
            }
            done += n;
        }
    }

    /** Fills {@code b} from {@code pos} on, stopping early only at the end of the file. */
    private static void readFully(FileChannel ch, ByteBuffer b, long pos, String name) throws IOException {
        long p = pos;
        while (b.hasRemaining()) {
            int n = ch.read(b, p);
            if (n < 0) {
                return;
            }
            p += n;
        }
    }

    // ---------------------------------------------------------------- write

    /**
     * Writes {@code array} to {@code file} (created or truncated) and forces it to the device; returns
     * the file size. Not atomic by itself: callers that must never expose a partial file write into a
     * staging location first (as the checkpoint writer does).
     */
    public static long write(Path file, INDArray array) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            long n = write(ch, array);
            ch.force(true);
            return n;
        }
    }

    /**
     * Streams {@code array} as a {@code .npy} file into {@code out} (header, then the C-order data in
     * chunks read directly from native memory); returns the bytes written. A view or an F-order array
     * is first copied into a dense C-order array.
     */
    public static long write(WritableByteChannel out, INDArray array) throws IOException {
        return write(out, array, CHUNK_BYTES);
    }

    static long write(WritableByteChannel out, INDArray array, int chunkBytes) throws IOException {
        checkNativeOrder();
        NpyDType dtype = NpyDType.of(array.dataType());
        long[] shape = array.shape();
        byte[] header = headerBytes(dtype, shape);
        writeFully(out, ByteBuffer.wrap(header));
        long bytes = array.isEmpty() ? 0 : array.length() * dtype.itemSize();
        if (bytes == 0) {
            return header.length;
        }
        INDArray dense = isDense(array) ? array : array.dup('c');
        BytePointer base = new BytePointer(dense.data().addressPointer()).position(0);
        for (long done = 0; done < bytes; ) {
            int n = (int) Math.min(chunkBytes, bytes - done);
            writeFully(out, window(base, done, n));
            done += n;
        }
        return header.length + bytes;
    }

    private static void writeFully(WritableByteChannel out, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            out.write(b);
        }
    }

    // ---------------------------------------------------------------- helpers

    /** Whether the array's elements are its buffer's, contiguous, in C order (so its native memory is the file's data). */
    private static boolean isDense(INDArray a) {
        return a.rank() == 0 || (a.ordering() == 'c' && Shape.hasDefaultStridesForShape(a)
                && a.data().length() >= a.length());
    }

    /** A ByteBuffer over bytes {@code [offset, offset + length)} of the native memory at {@code base}. */
    private static ByteBuffer window(BytePointer base, long offset, int length) {
        // asByteBuffer() spans [0, limit) from the pointer's address whatever its position, so the
        // window gets its own pointer at base + offset: no int overflow beyond 2 GiB
        BytePointer w = base.getPointer(offset);
        if (w.address() != base.address() + offset) {
            throw new IllegalStateException("native window at " + offset + " : address " + w.address()
                    + " (expected: " + (base.address() + offset) + ")");
        }
        w.limit(length);
        ByteBuffer b = w.asByteBuffer();
        if (b.capacity() != length || b.position() != 0) {
            throw new IllegalStateException("native window : " + b.capacity() + " bytes (expected: " + length + ")");
        }
        return b;
    }

    private static void checkNativeOrder() {
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
            throw new UnsupportedOperationException("native byte order : " + ByteOrder.nativeOrder()
                    + " (expected: LITTLE_ENDIAN; .npy I/O copies native memory as little-endian data)");
        }
    }

    private static Object field(Map<String, Object> dict, String key, String name) throws NpyFormatException {
        if (!dict.containsKey(key)) {
            throw new NpyFormatException(name + ": header field '" + key + "' : missing (expected: descr, fortran_order and shape)");
        }
        return dict.get(key);
    }

    /**
     * Total header size as numpy computes it: prefix + dict + 1 to 64 spaces-and-newline bytes, so an
     * already aligned dict still gets a full block of padding (numpy's {@code _wrap_header}).
     */
    private static int padded(int prefix, int dictLen) {
        int hlen = dictLen + 1;
        int padlen = ALIGN - (prefix + hlen) % ALIGN;
        return prefix + hlen + padlen;
    }

    static String tuple(long[] shape) {
        StringBuilder sb = new StringBuilder("(");
        for (int i = 0; i < shape.length; i++) {
            if (i > 0) {
                sb.append(", ");
            }
            sb.append(shape[i]);
        }
        return sb.append(shape.length == 1 ? ",)" : ")").toString();
    }

    private static String repr(Object v) {
        if (v instanceof String s) {
            return "'" + s + "'";
        }
        if (v instanceof Boolean b) {
            return b ? "True" : "False";
        }
        if (v instanceof List<?> l) {
            long[] a = new long[l.size()];
            for (int i = 0; i < a.length; i++) {
                a[i] = (Long) l.get(i);
            }
            return tuple(a);
        }
        return String.valueOf(v);
    }

    private static String hex(byte[] b) {
        StringBuilder sb = new StringBuilder();
        for (byte x : b) {
            if (sb.length() > 0) {
                sb.append(' ');
            }
            sb.append(String.format("%02x", x & 0xFF));
        }
        return sb.toString();
    }

    private static String quoteHeader(String text) {
        String t = text.strip();
        return "\"" + (t.length() > 120 ? t.substring(0, 120) + "..." : t) + "\"";
    }
}
