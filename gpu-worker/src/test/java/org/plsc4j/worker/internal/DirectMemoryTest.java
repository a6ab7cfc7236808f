package org.plsc4j.worker.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import org.junit.jupiter.api.Test;

/** The zero-copy view must share exactly the buffer's window, and refuse what it cannot share. */
class DirectMemoryTest {

    @Test
    void isAvailableWithTheProjectJvmFlags() {
        assertTrue(DirectMemory.available(), "surefire runs with --add-opens=java.base/sun.nio.ch=ALL-UNNAMED");
    }

    @Test
    void aliasSharesTheWindowOfASlicedView() {
        ByteBuffer root = ByteBuffer.allocateDirect(400).order(ByteOrder.LITTLE_ENDIAN);
        root.position(8);
        FloatBuffer all = root.asFloatBuffer(); // starts at byte 8
        FloatBuffer view = all.duplicate().position(5).limit(15).slice().position(2); // floats 7..14 of `all`
        ByteBuffer alias = DirectMemory.alias(view, true);
        assertNotNull(alias);
        assertEquals(8 * 4, alias.remaining());
        assertEquals(ByteOrder.LITTLE_ENDIAN, alias.order());
        alias.putFloat(0, 42.5f);
        assertEquals(42.5f, all.get(7));
        assertEquals(42.5f, root.getFloat(8 + 7 * 4));
        all.put(14, -3f);
        assertEquals(-3f, alias.getFloat(7 * 4));
    }

    @Test
    void aliasOfIntBuffers() {
        IntBuffer ints = ByteBuffer.allocateDirect(64).order(ByteOrder.LITTLE_ENDIAN).asIntBuffer();
        ByteBuffer alias = DirectMemory.alias(ints, true);
        assertNotNull(alias);
        alias.putInt(12, 7);
        assertEquals(7, ints.get(3));
    }

    @Test
    void refusesWhatItCannotShare() {
        assertNull(DirectMemory.alias(FloatBuffer.allocate(4), false), "heap");
        assertNull(DirectMemory.alias(ByteBuffer.allocateDirect(16).order(ByteOrder.BIG_ENDIAN).asFloatBuffer(), false),
                "big-endian");
        FloatBuffer ro = ByteBuffer.allocateDirect(16).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().asReadOnlyBuffer();
        assertNull(DirectMemory.alias(ro, true), "read-only as a destination");
        assertNotNull(DirectMemory.alias(ro, false), "read-only as a source");
    }
}
