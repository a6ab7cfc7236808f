package org.plsc4j.worker.internal;

import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;

/** The element types on the wire (both 4 bytes, little-endian) and copies between caller buffers and wire bytes. */
enum ElementType {
    FLOAT("floats"),
    INT("ints");

    /** Bytes per element on the wire. */
    static final int BYTES = 4;

    private final String plural;

    ElementType(String plural) {
        this.plural = plural;
    }

    String plural() {
        return plural;
    }

    static ElementType of(Buffer b) {
        if (b instanceof FloatBuffer) {
            return FLOAT;
        }
        if (b instanceof IntBuffer) {
            return INT;
        }
        throw new IllegalArgumentException("buffer : " + b.getClass().getName() + " (expected: FloatBuffer or IntBuffer)");
    }

    /** Copies {@code src}'s [position, limit) into {@code dst} at byte offset {@code dstOffset}. */
    static void copy(Buffer src, ByteBuffer dst, int dstOffset) {
        int bytes = src.remaining() * BYTES;
        if (bytes == 0) {
            return;
        }
        ByteBuffer window = dst.duplicate().position(dstOffset).limit(dstOffset + bytes).slice()
                .order(ByteOrder.LITTLE_ENDIAN);
        if (src instanceof FloatBuffer f) {
            window.asFloatBuffer().put(f.duplicate());
        } else {
            window.asIntBuffer().put(((IntBuffer) src).duplicate());
        }
    }

    /** Copies {@code dst.remaining()} elements from {@code src} at byte offset {@code srcOffset} into {@code dst}. */
    static void copy(ByteBuffer src, int srcOffset, Buffer dst) {
        int bytes = dst.remaining() * BYTES;
        if (bytes == 0) {
            return;
        }
        ByteBuffer window = src.duplicate().position(srcOffset).limit(srcOffset + bytes).slice()
                .order(ByteOrder.LITTLE_ENDIAN);
        if (dst instanceof FloatBuffer f) {
            f.duplicate().put(window.asFloatBuffer());
        } else {
            ((IntBuffer) dst).duplicate().put(window.asIntBuffer());
        }
    }

    /** Copies between caller buffers of the same type (world size 1). */
    static void copy(Buffer src, Buffer dst) {
        if (src instanceof FloatBuffer f) {
            ((FloatBuffer) dst).duplicate().put(f.duplicate());
        } else {
            ((IntBuffer) dst).duplicate().put(((IntBuffer) src).duplicate());
        }
    }
}
