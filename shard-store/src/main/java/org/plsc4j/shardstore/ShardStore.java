package org.plsc4j.shardstore;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A parameter-server-style hot store of FC blocks: the weights and momentum of fixed-size class
 * blocks ({@link #blockRows()} classes each), keyed by (job, block index). Workers flush their
 * shard's rows to it so that, when a worker dies, its classes come back as of its last flush
 * (whatever the new class layout is: blocks do not depend on the worker count).
 *
 * <p>Block {@code b} holds classes {@code [b * blockRows, (b + 1) * blockRows)}; a stored
 * {@link FcBlock} may cover only a contiguous part of that range. Arrays are plain row-major
 * {@code float[]} (no ND4J here, so that the store can be used without native libraries).
 *
 * <p>Writes of one block: {@link #put} replaces it (last writer wins); {@link #merge} atomically
 * adds rows to it, so that the writers of adjacent class ranges, which share the boundary block,
 * may flush at the same time without losing each other's rows. {@link #writeRange} puts the blocks
 * it covers whole and merges the ones it covers only partially. A {@code put} and a {@code merge}
 * of the same block at the same time may lose the put on some stores: use {@code put} only for
 * blocks that one writer owns whole (as {@code writeRange} does for writers of disjoint ranges).
 *
 * <p>Implementations: "local" (files on one machine) and "ignite" (Apache Ignite nodes, blocks
 * replicated to {@code backups} other nodes). Open them with {@link ShardStores#open}.
 */
public interface ShardStore extends AutoCloseable {

    /**
     * Allowed job names: they become directory names and key prefixes, so no '/' and no leading
     * '.' (".." would escape the local store's directory).
     */
    Pattern JOB_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

    /** The implementation's name ("local", "ignite"). */
    String name();

    /** The settings this store was opened with. */
    ShardStoreConfig config();

    /** Classes per block. */
    default int blockRows() {
        return config().blockRows();
    }

    /** The block that holds {@code classId}. */
    default int blockOf(int classId) {
        if (classId < 0) {
            throw new IllegalArgumentException("classId : " + classId + " (expected: >= 0)");
        }
        return classId / blockRows();
    }

    /** The first class of block {@code block}. */
    default int blockStart(int block) {
        if (block < 0) {
            throw new IllegalArgumentException("block : " + block + " (expected: >= 0)");
        }
        long s = (long) block * blockRows();
        if (s > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("block : " + block + " (expected: its first class to fit an int)");
        }
        return (int) s;
    }

    /**
     * Stores a block, replacing any stored version of it.
     *
     * @throws IllegalArgumentException if its rows are not inside its block
     * @throws ShardStoreException if it could not be written
     */
    void put(FcBlock block);

    /** The stored block, or empty if none. */
    Optional<FcBlock> get(String job, int block);

    /** Stores several blocks (implementations may batch them); not atomic as a whole. */
    default void putAll(Collection<FcBlock> blocks) {
        Objects.requireNonNull(blocks, "blocks");
        for (FcBlock b : blocks) {
            put(b);
        }
    }

    /** The stored blocks among {@code blocks}, by block index; missing ones are absent from the map. */
    default Map<Integer, FcBlock> getAll(String job, Collection<Integer> blocks) {
        checkJob(job);
        Objects.requireNonNull(blocks, "blocks");
        Map<Integer, FcBlock> out = new LinkedHashMap<>();
        for (Integer b : blocks) {
            get(job, Objects.requireNonNull(b, "block")).ifPresent(x -> out.put(b, x));
        }
        return out;
    }

    /** Removes every block of {@code job}; returns how many there were. */
    int remove(String job);

    /**
     * Merges rows into a stored block, atomically: the block {@code piece.block()} becomes the
     * union of its stored rows and the piece's rows, the piece's rows winning where they overlap,
     * with the higher of both versions. With no stored block the piece is stored as it is.
     * Concurrent merges of one block (from any thread, process or node using the same store) all
     * take effect, one after the other; running one twice gives the same block (so a store may
     * retry it).
     *
     * <p>A stored block is one contiguous class range, so the union must be one too: if the stored
     * rows and the piece neither overlap nor touch, nothing is written and an
     * {@link IllegalArgumentException} names the block and both ranges (filling the gap would
     * make classes that nobody wrote read as present; dropping the stored rows would lose them).
     * For writers whose ranges split the class space, this happens only when three writers share
     * a block (some writer's range is shorter than {@code blockRows}) and the middle one has not
     * flushed to it yet; retrying after it did succeeds.
     *
     * @throws IllegalArgumentException if the piece's rows are not inside its block, if the stored
     *     block has another {@code dim}, or if the union would not be contiguous
     * @throws ShardStoreException if it could not be read or written
     */
    void merge(FcBlock piece);

    /**
     * Writes the rows of classes {@code [start, end)} from row-major {@code [end - start, dim]}
     * arrays, split into blocks: blocks covered whole are {@link #put} (replaced), blocks covered
     * only partially are {@link #merge}d with their stored version (which must then be contiguous
     * with the new rows and have the same {@code dim}), so that the writers of adjacent ranges may
     * call it at the same time. Not atomic as a whole: a failure may leave some blocks written.
     */
    default void writeRange(String job, int start, int end, int dim, float[] weights, float[] momentum,
                            long version) {
        checkJob(job);
        checkRange(start, end, dim, weights, momentum);
        int r = blockRows();
        List<FcBlock> whole = new ArrayList<>();
        List<FcBlock> partial = new ArrayList<>();
        for (int b = blockOf(start); b <= blockOf(end - 1); b++) {
            int bs = blockStart(b);
            int lo = Math.max(start, bs);
            int hi = (int) Math.min(end, (long) bs + r);
            int from = (lo - start) * dim;
            int to = (hi - start) * dim;
            FcBlock piece = new FcBlock(job, b, lo, hi - lo, dim, version, Arrays.copyOfRange(weights, from, to),
                    Arrays.copyOfRange(momentum, from, to));
            (lo == bs && hi - bs == r ? whole : partial).add(piece);
        }
        if (!whole.isEmpty()) {
            putAll(whole);
        }
        for (FcBlock piece : partial) {
            merge(piece);
        }
    }

    /**
     * Reads the rows of classes {@code [start, end)} into row-major {@code [end - start, dim]}
     * arrays.
     *
     * @return false if some class in the range is not stored (the arrays are then partly filled)
     * @throws IllegalArgumentException if a stored block has another {@code dim}
     */
    default boolean readRange(String job, int start, int end, int dim, float[] weights, float[] momentum) {
        checkJob(job);
        checkRange(start, end, dim, weights, momentum);
        List<Integer> ids = new ArrayList<>();
        for (int b = blockOf(start); b <= blockOf(end - 1); b++) {
            ids.add(b);
        }
        Map<Integer, FcBlock> got = getAll(job, ids);
        boolean complete = true;
        for (int b : ids) {
            int bs = blockStart(b);
            int lo = Math.max(start, bs);
            int hi = (int) Math.min(end, (long) bs + blockRows());
            FcBlock x = got.get(b);
            if (x == null) {
                complete = false;
                continue;
            }
            if (x.dim() != dim) {
                throw new IllegalArgumentException(
                        "dim : " + dim + " (expected: " + x.dim() + ", the dim of the stored " + x + ")");
            }
            int cl = Math.max(lo, x.firstClass());
            int ch = Math.min(hi, x.endClass());
            if (cl != lo || ch != hi) {
                complete = false;
            }
            if (ch > cl) {
                System.arraycopy(x.weights(), (cl - x.firstClass()) * dim, weights, (cl - start) * dim, (ch - cl) * dim);
                System.arraycopy(x.momentum(), (cl - x.firstClass()) * dim, momentum, (cl - start) * dim,
                        (ch - cl) * dim);
            }
        }
        return complete;
    }

    /** Stops the store's resources (nodes, files); idempotent. Blocks stay wherever the store keeps them. */
    @Override
    void close();

    /** Checks a job name, naming it in the message. */
    static String checkJob(String job) {
        Objects.requireNonNull(job, "job");
        if (!JOB_NAME.matcher(job).matches()) {
            throw new IllegalArgumentException("job : \"" + job + "\" (expected: 1-128 of [A-Za-z0-9._-], starting with a letter or digit)");
        }
        return job;
    }

    /** Checks that a block's rows lie inside its block for {@code blockRows}. */
    static void checkInBlock(FcBlock b, int blockRows) {
        Objects.requireNonNull(b, "block");
        long bs = (long) b.block() * blockRows;
        if (b.firstClass() < bs || b.endClass() > bs + blockRows) {
            throw new IllegalArgumentException("classes [" + b.firstClass() + ", " + b.endClass() + ") : "
                    + "(expected: inside block " + b.block() + " = [" + bs + ", " + (bs + blockRows)
                    + ") with blockRows " + blockRows + ")");
        }
    }

    private static void checkRange(int start, int end, int dim, float[] weights, float[] momentum) {
        if (start < 0) {
            throw new IllegalArgumentException("start : " + start + " (expected: >= 0)");
        }
        if (end <= start) {
            throw new IllegalArgumentException("end : " + end + " (expected: > start = " + start + ")");
        }
        if (dim < 1) {
            throw new IllegalArgumentException("dim : " + dim + " (expected: >= 1)");
        }
        long n = (long) (end - start) * dim;
        Objects.requireNonNull(weights, "weights");
        Objects.requireNonNull(momentum, "momentum");
        if (weights.length != n) {
            throw new IllegalArgumentException(
                    "weights.length : " + weights.length + " (expected: (end - start) * dim = " + n + ")");
        }
        if (momentum.length != n) {
            throw new IllegalArgumentException(
                    "momentum.length : " + momentum.length + " (expected: (end - start) * dim = " + n + ")");
        }
    }
}
