package org.plsc4j.worker.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The first bytes on every collective connection: the connecting rank says who it is and proves it
 * belongs to the job; the accepting rank answers ACCEPTED or REFUSED (with a reason) and, when
 * refusing, closes the connection.
 *
 * <p>Frame: {@code int magic "PLSC", int payloadLength, payload}. Hello payload:
 * {@code short version, short jobIdLength, jobId (UTF-8), int rank, short tokenLength, token (UTF-8)}.
 * Answer payload: {@code short version, byte accepted, int rank, short reasonLength, reason}.
 *
 * <p>Why a handshake: a port on a shared machine can be hit by anything (a stale worker of another
 * job, a port scanner, a misconfigured rank); nothing it sends may end up in a tensor. Tokens are
 * compared as SHA-256 digests with {@link MessageDigest#isEqual}, i.e. in constant time and without
 * leaking their length.
 */
final class Handshake {

    static final int MAGIC = 0x504c5343; // "PLSC"
    static final short VERSION = 1;
    static final int MAX_PAYLOAD = 8192;

    private Handshake() {
    }

    /** The connecting side's claim. */
    record Hello(int version, String jobId, int rank, byte[] token) {
    }

    /** The accepting side's verdict. */
    record Answer(boolean accepted, int rank, String reason) {
    }

    /** A frame that is not a valid handshake; the message says why (for the log, never trusted). */
    static final class BadHandshakeException extends Exception {
        private static final long serialVersionUID = 1L;

        BadHandshakeException(String message) {
            super(message);
        }
    }

    static ByteBuf encodeHello(ByteBufAllocator alloc, String jobId, int rank, String token) {
        byte[] job = jobId.getBytes(StandardCharsets.UTF_8);
        byte[] tok = token.getBytes(StandardCharsets.UTF_8);
        int payload = 2 + 2 + job.length + 4 + 2 + tok.length;
        ByteBuf b = alloc.buffer(8 + payload);
        b.writeInt(MAGIC).writeInt(payload).writeShort(VERSION)
                .writeShort(job.length).writeBytes(job).writeInt(rank).writeShort(tok.length).writeBytes(tok);
        return b;
    }

    static ByteBuf encodeAnswer(ByteBufAllocator alloc, boolean accepted, int rank, String reason) {
        byte[] why = reason.getBytes(StandardCharsets.UTF_8);
        int payload = 2 + 1 + 4 + 2 + why.length;
        ByteBuf b = alloc.buffer(8 + payload);
        b.writeInt(MAGIC).writeInt(payload).writeShort(VERSION).writeByte(accepted ? 1 : 0).writeInt(rank)
                .writeShort(why.length).writeBytes(why);
        return b;
    }

    /**
     * The next complete frame's payload (a retained slice the caller releases), or null when more
     * bytes are needed.
     */
    static ByteBuf readFrame(ByteBuf in) throws BadHandshakeException {
        if (in.readableBytes() >= 4 && in.getInt(in.readerIndex()) != MAGIC) {
            throw new BadHandshakeException(String.format("not a plsc4j handshake (first bytes 0x%08x)",
                    in.getInt(in.readerIndex())));
        }
        if (in.readableBytes() < 8) {
            return null;
        }
        int length = in.getInt(in.readerIndex() + 4);
        if (length < 0 || length > MAX_PAYLOAD) {
            throw new BadHandshakeException("handshake frame of " + length + " bytes (expected: <= " + MAX_PAYLOAD + ")");
        }
        if (in.readableBytes() < 8 + length) {
            return null;
        }
        in.skipBytes(8);
        return in.readRetainedSlice(length);
    }

    static Hello decodeHello(ByteBuf p) throws BadHandshakeException {
        try {
            int version = p.readShort();
            if (version != VERSION) {
                throw new BadHandshakeException("handshake version " + version + " (expected: " + VERSION + ")");
            }
            String jobId = p.readCharSequence(p.readUnsignedShort(), StandardCharsets.UTF_8).toString();
            int rank = p.readInt();
            byte[] token = new byte[p.readUnsignedShort()];
            p.readBytes(token);
            return new Hello(version, jobId, rank, token);
        } catch (IndexOutOfBoundsException e) {
            throw new BadHandshakeException("truncated handshake");
        }
    }

    static Answer decodeAnswer(ByteBuf p) throws BadHandshakeException {
        try {
            int version = p.readShort();
            if (version != VERSION) {
                throw new BadHandshakeException("handshake version " + version + " (expected: " + VERSION + ")");
            }
            boolean accepted = p.readByte() == 1;
            int rank = p.readInt();
            String reason = p.readCharSequence(p.readUnsignedShort(), StandardCharsets.UTF_8).toString();
            return new Answer(accepted, rank, reason);
        } catch (IndexOutOfBoundsException e) {
            throw new BadHandshakeException("truncated handshake answer");
        }
    }

    /** SHA-256 of the token's UTF-8 bytes. */
    static byte[] digest(String token) {
        return digest(token.getBytes(StandardCharsets.UTF_8));
    }

    private static byte[] digest(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every JVM", e);
        }
    }

    /** Constant-time comparison of a presented token with the expected digest. */
    static boolean tokenMatches(byte[] expectedDigest, byte[] presentedToken) {
        return MessageDigest.isEqual(expectedDigest, digest(presentedToken));
    }

    /** An untrusted string made safe for one log line: printable ASCII, at most 64 characters. */
    static String printable(String untrusted) {
        if (untrusted == null) {
            return "?";
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < untrusted.length() && sb.length() < 64; i++) {
            char c = untrusted.charAt(i);
            sb.append(c >= 0x20 && c < 0x7f ? c : '?');
        }
        return sb.toString();
    }
}
