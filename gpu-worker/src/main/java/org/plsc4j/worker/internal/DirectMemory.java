package org.plsc4j.worker.internal;

import java.lang.reflect.Method;
import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds the bytes behind a direct {@link FloatBuffer} or {@link IntBuffer} so that the collective can
 * send from and receive into the caller's memory without a staging copy.
 *
 * <p>Why this exists: the JDK offers no public way back from a {@code FloatBuffer} view to its
 * {@code ByteBuffer}; each staging copy costs a pass over hundreds of MB per all-gather. The JDK's
 * {@code sun.nio.ch.DirectBuffer} interface (implemented by every direct buffer) knows the root
 * buffer and the address; it is reachable when the JVM runs with
 * {@code --add-opens=java.base/sun.nio.ch=ALL-UNNAMED} (part of plsc4j's JVM flags). Without it, or
 * for heap or big-endian buffers, {@link #alias} returns null and callers copy.
 */
final class DirectMemory {

    private static final Logger LOG = LoggerFactory.getLogger(DirectMemory.class);
    private static final Method ATTACHMENT;
    private static final Method ADDRESS;

    static {
        Method attachment = null;
        Method address = null;
        try {
            Class<?> directBuffer = Class.forName("sun.nio.ch.DirectBuffer");
            Method att = directBuffer.getMethod("attachment");
            Method addr = directBuffer.getMethod("address");
            ByteBuffer probe = ByteBuffer.allocateDirect(16);
            addr.invoke(probe);
            att.invoke(probe.asFloatBuffer());
            attachment = att;
            address = addr;
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            LOG.debug("zero-copy access to direct FloatBuffers unavailable ({}); direct buffers will be copied."
                    + " Run with --add-opens=java.base/sun.nio.ch=ALL-UNNAMED to avoid the copy", e.toString());
        }
        ATTACHMENT = attachment;
        ADDRESS = address;
    }

    private DirectMemory() {
    }

    /** Whether {@link #alias} can ever succeed in this JVM. */
    static boolean available() {
        return ATTACHMENT != null;
    }

    /**
     * A little-endian {@link ByteBuffer} over exactly the bytes of {@code buffer}'s
     * [position, limit), sharing its memory; null when that is not possible (heap buffer, big-endian
     * view, read-only buffer when {@code writable}, or no access to the JDK internals).
     */
    static ByteBuffer alias(Buffer buffer, boolean writable) {
        if (ATTACHMENT == null || !buffer.isDirect() || (writable && buffer.isReadOnly())) {
            return null;
        }
        ByteOrder order;
        if (buffer instanceof FloatBuffer fb) {
            order = fb.order();
        } else if (buffer instanceof IntBuffer ib) {
            order = ib.order();
        } else {
            return null;
        }
        if (order != ByteOrder.LITTLE_ENDIAN) {
            return null;
        }
        try {
            Object root = buffer;
            for (int depth = 0; depth < 16; depth++) {
                Object next = ATTACHMENT.invoke(root);
                if (next == null) {
                    break;
                }
                root = next;
            }
            if (!(root instanceof ByteBuffer rootBytes) || !rootBytes.isDirect()) {
                return null;
            }
            long offset = (long) ADDRESS.invoke(buffer) + 4L * buffer.position() - (long) ADDRESS.invoke(rootBytes);
            long length = 4L * buffer.remaining();
            if (offset < 0 || offset + length > rootBytes.capacity()) {
                return null;
            }
            ByteBuffer view = rootBytes.duplicate();
            view.clear().position((int) offset).limit((int) (offset + length));
            return view.slice().order(ByteOrder.LITTLE_ENDIAN);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }

    /**
     * Whether the [position, limit) ranges of two direct buffers may share memory; true when it cannot
     * be told (so that callers fall back to the safe order of copies).
     */
    static boolean mayOverlap(ByteBuffer a, ByteBuffer b) {
        if (ADDRESS == null || !a.isDirect() || !b.isDirect()) {
            return true;
        }
        try {
            long a0 = (long) ADDRESS.invoke(a) + a.position();
            long b0 = (long) ADDRESS.invoke(b) + b.position();
            return a0 < b0 + b.remaining() && b0 < a0 + a.remaining();
        } catch (ReflectiveOperationException | RuntimeException e) {
            return true;
        }
    }
}
