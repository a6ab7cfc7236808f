package org.plsc4j.shardstore;

import java.util.ArrayList;
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
 * <p>Writes of one block are last-writer-wins; {@link #writeRange} reads and rewrites the blocks it
 * covers only partially, so two writers of adjacent class ranges must not flush the boundary block
 * at the same time (workers flush their own ranges; the boundary block is the only one shared).
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
     * Writes the rows of classes {@code [start, end)} from row-major {@code [end - start, dim]}
     * arrays, split into blocks. Blocks covered only partially are merged with their stored
     * version (which must then be contiguous with the new rows and have the same {@code dim}).
     */
    default void writeRange(String job, int start, int end, int dim, float[] weights, float[] momentum,
                            long version) {
        checkJob(job);
        checkRange(start, end, dim, weights, momentum);
        int r = blockRows();
        List<FcBlock> out = new ArrayList<>();
        for (int b = blockOf(start); b <= blockOf(end - 1); b++) {
            int bs = blockStart(b);
            int lo = Math.max(start, bs);
            int hi = (int) Math.min(end, (long) bs + r);
            int first = lo;
            int last = hi;
            FcBlock old = null;
            if (lo != bs || hi - bs != r) {
                old = get(job, b).orElse(null);
                if (old != null) {
                    if (old.dim() != dim) {
                        throw new IllegalArgumentException("dim : " + dim + " (expected: " + old.dim()
                                + ", the dim of the stored " + old + ")");
                    }
                    if (old.endClass() < lo || old.firstClass() > hi) {
                        throw new IllegalArgumentException("classes [" + lo + ", " + hi + ") of block " + b
                                + " would leave a gap next to the stored " + old);
                    }
                    first = Math.min(first, old.firstClass());
                    last = Math.max(last, old.endClass());
                }
            }
            int rows = last - first;
            float[] w = new float[rows * dim];
            float[] m = new float[rows * dim];
            if (old != null) {
                int at = (old.firstClass() - first) * dim;
                System.arraycopy(old.weights(), 0, w, at, old.weights().length);
                System.arraycopy(old.momentum(), 0, m, at, old.momentum().length);
            }
            int src = (lo - start) * dim;
            int dst = (lo - first) * dim;
            int n = (hi - lo) * dim;
            System.arraycopy(weights, src, w, dst, n);
            System.arraycopy(momentum, src, m, dst, n);
            out.add(new FcBlock(job, b, first, rows, dim, version, w, m));
        }
        putAll(out);
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
