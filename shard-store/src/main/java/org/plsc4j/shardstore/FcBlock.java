package org.plsc4j.shardstore;

import java.util.Objects;

/**
 * One stored block of the FC layer: the weights and momentum rows of the classes
 * {@code [firstClass, firstClass + rows)}, all inside block {@code block} (classes
 * {@code [block * blockRows, (block + 1) * blockRows)}).
 *
 * <p>Arrays are row-major {@code float32 [rows, dim]}: row {@code j} is class {@code firstClass + j},
 * the same layout as a worker's shard. A block usually covers its whole class range; it covers
 * less at the end of the class space or when only part of it was ever written. The arrays are not
 * copied: do not change them after handing them to a store.
 *
 * @param job the job the block belongs to ({@link ShardStore#JOB_NAME})
 * @param block the block index ({@code classId / blockRows})
 * @param firstClass the first class of the block's rows
 * @param rows number of classes (rows), at least 1
 * @param dim embedding size D, at least 1
 * @param version the writer's version, usually the training step of the flush
 * @param weights {@code rows * dim} floats
 * @param momentum {@code rows * dim} floats
 */
public record FcBlock(String job, int block, int firstClass, int rows, int dim, long version,
                      float[] weights, float[] momentum) {

    /** Validates everything that does not depend on the store's block size. */
    public FcBlock {
        ShardStore.checkJob(job);
        if (block < 0) {
            throw new IllegalArgumentException("block : " + block + " (expected: >= 0)");
        }
        if (firstClass < 0) {
            throw new IllegalArgumentException("firstClass : " + firstClass + " (expected: >= 0)");
        }
        if (rows < 1) {
            throw new IllegalArgumentException("rows : " + rows + " (expected: >= 1)");
        }
        if (dim < 1) {
            throw new IllegalArgumentException("dim : " + dim + " (expected: >= 1)");
        }
        Objects.requireNonNull(weights, "weights");
        Objects.requireNonNull(momentum, "momentum");
        long n = (long) rows * dim;
        if (n > Integer.MAX_VALUE / 8 - 64) {
            throw new IllegalArgumentException("rows * dim : " + n + " (expected: < 2^28 floats per block)");
        }
        if (weights.length != n) {
            throw new IllegalArgumentException(
                    "weights.length : " + weights.length + " (expected: rows * dim = " + n + ")");
        }
        if (momentum.length != n) {
            throw new IllegalArgumentException(
                    "momentum.length : " + momentum.length + " (expected: rows * dim = " + n + ")");
        }
    }

    /** One past the last class of the block's rows. */
    public int endClass() {
        return firstClass + rows;
    }

    @Override
    public String toString() {
        return "FcBlock[" + job + "/" + block + ", classes [" + firstClass + ", " + endClass() + "), dim " + dim
                + ", version " + version + "]";
    }
}
