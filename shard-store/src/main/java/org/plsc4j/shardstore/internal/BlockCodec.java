package org.plsc4j.shardstore.internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;
import org.plsc4j.shardstore.FcBlock;
import org.plsc4j.shardstore.ShardStoreException;

/**
 * The byte layout of a stored block, shared by every store so that a block read back is checked
 * the same way wherever it was kept.
 *
 * <p>Little-endian: {@code int magic "PFCB", int format 1, int block, int firstClass, int rows,
 * int dim, long version, float[rows*dim] weights, float[rows*dim] momentum, int CRC32C} of all
 * the bytes before it. The job is not stored: it is part of the key.
 */
public final class BlockCodec {

    static final int MAGIC = 0x42434650; // "PFCB" little-endian
    static final int FORMAT = 1;
    static final int HEADER = 32;

    private BlockCodec() {
    }

    /** Encoded size of a block of {@code rows * dim} floats. */
    public static int size(int rows, int dim) {
        return HEADER + 8 * rows * dim + 4;
    }

    /** Encodes a block. */
    public static byte[] encode(FcBlock b) {
        byte[] out = new byte[size(b.rows(), b.dim())];
        ByteBuffer buf = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
        buf.putInt(MAGIC).putInt(FORMAT).putInt(b.block()).putInt(b.firstClass()).putInt(b.rows()).putInt(b.dim())
                .putLong(b.version());
        buf.asFloatBuffer().put(b.weights());
        buf.position(buf.position() + 4 * b.weights().length);
        buf.asFloatBuffer().put(b.momentum());
        buf.position(buf.position() + 4 * b.momentum().length);
        CRC32C crc = new CRC32C();
        crc.update(out, 0, out.length - 4);
        buf.putInt((int) crc.getValue());
        return out;
    }

    /**
     * Decodes and checks a block.
     *
     * @param where names the file or key in error messages
     * @throws ShardStoreException if the bytes are truncated, not a block, or fail the checksum
     */
    public static FcBlock decode(String job, byte[] in, String where) {
        if (in.length < HEADER + 4) {
            throw new ShardStoreException("corrupt block " + where + ": " + in.length + " bytes, shorter than a header");
        }
        ByteBuffer buf = ByteBuffer.wrap(in).order(ByteOrder.LITTLE_ENDIAN);
        int magic = buf.getInt();
        int format = buf.getInt();
        if (magic != MAGIC || format != FORMAT) {
            throw new ShardStoreException("corrupt block " + where + ": not a block (magic 0x"
                    + Integer.toHexString(magic) + ", format " + format + ")");
        }
        int block = buf.getInt();
        int first = buf.getInt();
        int rows = buf.getInt();
        int dim = buf.getInt();
        long version = buf.getLong();
        if (rows < 1 || dim < 1 || (long) rows * dim > (in.length - HEADER - 4) / 8
                || size(rows, dim) != in.length) {
            throw new ShardStoreException("corrupt block " + where + ": " + in.length + " bytes for rows " + rows
                    + " and dim " + dim);
        }
        CRC32C crc = new CRC32C();
        crc.update(in, 0, in.length - 4);
        int want = ByteBuffer.wrap(in, in.length - 4, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
        if ((int) crc.getValue() != want) {
            throw new ShardStoreException("corrupt block " + where + ": checksum mismatch (CRC32C 0x"
                    + Integer.toHexString((int) crc.getValue()) + ", stored 0x" + Integer.toHexString(want) + ")");
        }
        float[] w = new float[rows * dim];
        float[] m = new float[rows * dim];
        buf.asFloatBuffer().get(w);
        buf.position(buf.position() + 4 * w.length);
        buf.asFloatBuffer().get(m);
        return new FcBlock(job, block, first, rows, dim, version, w, m);
    }
}
