package org.plsc4j.worker;

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
 */
public interface FcRowStore {

    /**
     * What a {@link #read} found.
     *
     * @param missingRows rows of the range the store did not have (left untouched in the arrays)
     * @param minVersion the smallest version among the rows found, or -1 when none
     * @param maxVersion the largest version among the rows found, or -1 when none
     */
    record ReadResult(int missingRows, long minVersion, long maxVersion) {
    }

    /**
     * Writes the rows of classes {@code [start, end)} from row-major {@code [end - start, dim]}
     * arrays, tagged with {@code version} (the number of training steps they reflect).
     */
    void write(int start, int end, int dim, float[] weights, float[] momentum, long version);

    /** Reads the rows of classes {@code [start, end)} into row-major {@code [end - start, dim]} arrays. */
    ReadResult read(int start, int end, int dim, float[] weights, float[] momentum);
}
