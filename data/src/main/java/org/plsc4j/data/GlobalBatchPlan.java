package org.plsc4j.data;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.plsc4j.data.internal.Seeds;

/**
 * Which samples form each global batch, and which rows of it each rank reads.
 *
 * <p>Why it exists: PLSC's loss curve must not depend on the worker count. Epoch {@code e}'s order
 * is a permutation drawn from a {@link SplittableRandom} seeded by (seed, e) alone; step {@code t}'s
 * global batch is positions {@code [t·B, (t+1)·B)} of that order (the tail that does not fill a
 * batch is dropped, as PLSC's {@code drop_last}); rank {@code r} of {@code N} reads rows
 * {@code [r·b, (r+1)·b)} of it, {@code b = B / N}. The global batch — and therefore the all-gathered
 * embeddings and labels — is the same for every N. Immutable and thread-safe.
 */
public final class GlobalBatchPlan {

    /** A point in training: step {@code step} (0-based) of epoch {@code epoch}. */
    public record Position(int epoch, int step) {
        /** Validates non-negativity. */
        public Position {
            if (epoch < 0) {
                throw new IllegalArgumentException("epoch : " + epoch + " (expected: >= 0)");
            }
            if (step < 0) {
                throw new IllegalArgumentException("step : " + step + " (expected: >= 0)");
            }
        }
    }

    private final int size;
    private final int globalBatch;
    private final int worldSize;
    private final long seed;

    /**
     * @param size samples in the dataset
     * @param globalBatch B, samples per step over all ranks
     * @param worldSize N, ranks; must divide B
     * @param seed seeds every epoch's permutation
     */
    public GlobalBatchPlan(int size, int globalBatch, int worldSize, long seed) {
        if (globalBatch < 1) {
            throw new IllegalArgumentException("global_batch : " + globalBatch + " (expected: >= 1)");
        }
        if (worldSize < 1) {
            throw new IllegalArgumentException("world_size : " + worldSize + " (expected: >= 1)");
        }
        if (globalBatch % worldSize != 0) {
            throw new IllegalArgumentException("global_batch : " + globalBatch
                    + " (expected: divisible by world_size = " + worldSize + ")");
        }
        if (size < globalBatch) {
            throw new IllegalArgumentException("dataset size : " + size
                    + " (expected: >= global_batch = " + globalBatch + ", else an epoch has no step)");
        }
        this.size = size;
        this.globalBatch = globalBatch;
        this.worldSize = worldSize;
        this.seed = seed;
    }

    /** Samples in the dataset. */
    public int size() {
        return size;
    }

    /** B. */
    public int globalBatch() {
        return globalBatch;
    }

    /** N. */
    public int worldSize() {
        return worldSize;
    }

    /** b = B / N, rows per rank per step. */
    public int localBatch() {
        return globalBatch / worldSize;
    }

    /** The seed. */
    public long seed() {
        return seed;
    }

    /** Steps per epoch: size / B rounded down. */
    public int stepsPerEpoch() {
        return size / globalBatch;
    }

    /** Global step number of {@code p}: epoch·stepsPerEpoch + step. */
    public long globalStep(Position p) {
        checkStep(p.step());
        return (long) p.epoch() * stepsPerEpoch() + p.step();
    }

    /** The position of global step {@code globalStep} (for resuming from a checkpoint's step counter). */
    public Position position(long globalStep) {
        if (globalStep < 0) {
            throw new IllegalArgumentException("global_step : " + globalStep + " (expected: >= 0)");
        }
        long epoch = globalStep / stepsPerEpoch();
        if (epoch > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("global_step : " + globalStep + " (expected: epoch < 2^31)");
        }
        return new Position((int) epoch, (int) (globalStep % stepsPerEpoch()));
    }

    /** Epoch {@code epoch}'s permutation of [0, size): Fisher–Yates driven by SplittableRandom(seed, epoch). */
    public int[] epochOrder(int epoch) {
        if (epoch < 0) {
            throw new IllegalArgumentException("epoch : " + epoch + " (expected: >= 0)");
        }
        SplittableRandom rng = new SplittableRandom(Seeds.mix(seed, epoch));
        int[] order = new int[size];
        for (int i = 0; i < size; i++) {
            order[i] = i;
        }
        for (int i = size - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }

    /** The B sample indices of step {@code step} of an epoch whose order is {@code order}. */
    public int[] globalBatch(int[] order, int step) {
        checkStep(step);
        return Arrays.copyOfRange(order, step * globalBatch, (step + 1) * globalBatch);
    }

    /** The b sample indices rank {@code rank} reads at {@code step} of an epoch whose order is {@code order}. */
    public int[] rankBatch(int[] order, int step, int rank) {
        checkStep(step);
        if (rank < 0 || rank >= worldSize) {
            throw new IllegalArgumentException("rank : " + rank + " (expected: 0 <= rank < world_size = " + worldSize + ")");
        }
        int from = step * globalBatch + rank * localBatch();
        return Arrays.copyOfRange(order, from, from + localBatch());
    }

    /** As {@link #rankBatch(int[], int, int)}, computing the epoch's order (O(size): cache it for many steps). */
    public int[] rankBatch(Position p, int rank) {
        return rankBatch(epochOrder(p.epoch()), p.step(), rank);
    }

    private void checkStep(int step) {
        if (step < 0 || step >= stepsPerEpoch()) {
            throw new IllegalArgumentException("step : " + step + " (expected: 0 <= step < steps_per_epoch = "
                    + stepsPerEpoch() + ")");
        }
    }

    @Override
    public String toString() {
        return "GlobalBatchPlan[size=" + size + ", global_batch=" + globalBatch + ", world_size=" + worldSize
                + ", steps_per_epoch=" + stepsPerEpoch() + ", seed=" + seed + "]";
    }
}
