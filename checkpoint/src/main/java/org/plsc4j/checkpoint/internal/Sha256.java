package org.plsc4j.checkpoint.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** SHA-256 of files, and a channel that hashes what is written through it (so a file is hashed while it is written, not read back). */
public final class Sha256 {

    private static final int BUFFER = 1 << 20;

    private Sha256() {
    }

    /** A fresh SHA-256 digest (every JDK has one). */
    public static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 : unavailable (expected: every Java platform has it)", e);
        }
    }

    /** Lowercase hex of {@code bytes}. */
    public static String hex(byte[] bytes) {
        return HexFormat.of().formatHex(bytes);
    }

    /** Size and hex SHA-256 of a whole file, streamed. */
    public static Result ofFile(Path file) throws IOException {
        MessageDigest md = digest();
        long n = 0;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocateDirect(BUFFER);
            while (ch.read(b) >= 0) {
                b.flip();
                n += b.remaining();
                md.update(b);
                b.clear();
            }
        }
        return new Result(n, hex(md.digest()));
    }

    /**
     * Bytes and hash of something written or read.
     *
     * @param bytes byte count
     * @param sha256 lowercase hex
     */
    public record Result(long bytes, String sha256) {
    }

    /** Counts and hashes every byte written to the wrapped channel. */
    public static final class DigestingChannel implements WritableByteChannel {
        private final WritableByteChannel out;
        private final MessageDigest md = digest();
        private long bytes;

        /** Wraps {@code out} (not closed by {@link #close()}). */
        public DigestingChannel(WritableByteChannel out) {
            this.out = out;
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            ByteBuffer seen = src.duplicate();
            int n = out.write(src);
            seen.limit(seen.position() + n);
            md.update(seen);
            bytes += n;
            return n;
        }

        @Override
        public boolean isOpen() {
            return out.isOpen();
        }

        @Override
        public void close() {
            // the caller owns the wrapped channel
        }

        /** What went through so far; call once, at the end. */
        public Result result() {
            return new Result(bytes, hex(md.digest()));
        }
    }
}
