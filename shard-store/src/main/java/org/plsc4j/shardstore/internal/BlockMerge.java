package org.plsc4j.shardstore.internal;

import org.plsc4j.shardstore.FcBlock;
import org.plsc4j.shardstore.ShardStore;

/**
 * The union of a stored block and a piece, as {@link ShardStore#merge} defines it: one pure
 * function shared by every store (each runs it under its own per-block atomicity), so that all
 * stores merge alike.
 */
public final class BlockMerge {

    private BlockMerge() {
    }

    /**
     * The stored rows and the piece's rows (the piece winning where they overlap), the higher
     * version of both; {@code piece} itself if there is no stored block.
     *
     * @param stored the stored block, or null
     * @param piece the rows to merge in, of the same job and block
     * @throws IllegalArgumentException if the dims differ or the union would not be contiguous,
     *     naming the block and both ranges
     */
    public static FcBlock merge(FcBlock stored, FcBlock piece) {
        if (stored == null) {
            return piece;
        }
        if (stored.block() != piece.block() || !stored.job().equals(piece.job())) {
            throw new IllegalArgumentException("piece " + piece + " (expected: of the stored " + stored + ")");
        }
        if (stored.dim() != piece.dim()) {
            throw new IllegalArgumentException("dim : " + piece.dim() + " (expected: " + stored.dim()
                    + ", the dim of the stored " + stored + ")");
        }
        if (stored.endClass() < piece.firstClass() || piece.endClass() < stored.firstClass()) {
            throw new IllegalArgumentException("classes [" + piece.firstClass() + ", " + piece.endClass()
                    + ") of block " + piece.block() + " would leave a gap next to the stored classes ["
                    + stored.firstClass() + ", " + stored.endClass() + ") of " + stored);
        }
        int first = Math.min(stored.firstClass(), piece.firstClass());
        int end = Math.max(stored.endClass(), piece.endClass());
        int dim = piece.dim();
        int rows = end - first;
        float[] w = new float[rows * dim];
        float[] m = new float[rows * dim];
        int at = (stored.firstClass() - first) * dim;
        System.arraycopy(stored.weights(), 0, w, at, stored.weights().length);
        System.arraycopy(stored.momentum(), 0, m, at, stored.momentum().length);
        at = (piece.firstClass() - first) * dim;
        System.arraycopy(piece.weights(), 0, w, at, piece.weights().length);
        System.arraycopy(piece.momentum(), 0, m, at, piece.momentum().length);
        return new FcBlock(piece.job(), piece.block(), first, rows, dim, Math.max(stored.version(), piece.version()),
                w, m);
    }
}
