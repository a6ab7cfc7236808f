package org.plsc4j.worker;

import java.util.List;
import java.util.Objects;

/**
 * Where an elastic job keeps the FC rows (weights and momentum) of every class between
 * generations: each worker writes the rows it owns every {@code shard_sync_steps} steps and when it
 * leaves a generation, and reads the rows of its new range when it joins one. A worker that dies
 * loses only the updates since its last write.
 *
 * <p>Why an interface here: the trainer must not depend on a particular store (the
 * {@code shard-store} module's local files or Apache Ignite); module {@code elastic} adapts one.
 * Implementations must be safe for concurrent writers of adjacent ranges (the block at a range
 * boundary is shared).
 *
 * <p>The trainer never hands a whole shard to {@link #write} or {@link #read}: it moves rows in
 * ranges of at most {@link #transferRows} classes, aligned to multiples of it, between ND4J native
 * memory and the store, so a shard of millions of classes never needs a heap copy of itself.
 */
public interface FcRowStore {

    /** Floats per array of one transfer when the store does not say ({@link #transferRows}): 16 MiB. */
    int DEFAULT_TRANSFER_FLOATS = 1 << 22;

    /** Classes {@code [start, end)}. */
    record Range(int start, int end) {
        /** Validates that the range is not empty. */
        public Range {
            if (start < 0 || end <= start) {
                throw new IllegalArgumentException("range : [" + start + ", " + end + ") (expected: 0 <= start < end)");
            }
        }

        /** Number of classes. */
        public int size() {
            return end - start;
        }

        @Override
        public String toString() {
            return "[" + start + ", " + end + ")";
        }
    }

    /**
     * What a {@link #read} found.
     *
     * @param missingRows rows of the range the store did not have (left untouched in the arrays)
     * @param minVersion the smallest version among the rows found, or -1 when none
     * @param maxVersion the largest version among the rows found, or -1 when none
     * @param missing the classes not found, ascending and disjoint (empty when the store cannot say
     *     which they are; then only {@code missingRows} counts them)
     */
    record ReadResult(int missingRows, long minVersion, long maxVersion, List<Range> missing) {
        /** Copies {@code missing}. */
        public ReadResult {
            missing = List.copyOf(Objects.requireNonNull(missing, "missing"));
        }

        /** A result that counts the missing rows without naming them. */
        public ReadResult(int missingRows, long minVersion, long maxVersion) {
            this(missingRows, minVersion, maxVersion, List.of());
        }
    }

    /**
     * Writes the rows of classes {@code [start, end)} from row-major {@code [end - start, dim]}
     * arrays, tagged with {@code version} (the number of training steps they reflect).
     */
    void write(int start, int end, int dim, float[] weights, float[] momentum, long version);

    /** Reads the rows of classes {@code [start, end)} into row-major {@code [end - start, dim]} arrays. */
    ReadResult read(int start, int end, int dim, float[] weights, float[] momentum);

    /**
     * The most classes the trainer moves in one {@link #write} or {@link #read} of rows {@code dim}
     * floats wide; its ranges are aligned to multiples of it (a store with fixed class blocks returns
     * a multiple of its block size, so every call covers whole blocks except at a shard's ends).
     * Default: 16 MiB of floats per array.
     */
    default int transferRows(int dim) {
        return Math.max(1, DEFAULT_TRANSFER_FLOATS / Math.max(1, dim));
    }

    /** What this store is, for messages ("ignite shard store, job j, 2 backups"). */
    default String describe() {
        return getClass().getSimpleName();
    }
}
