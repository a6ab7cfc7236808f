package org.plsc4j.data;

import java.util.Objects;

/**
 * How a {@link BatchLoader} walks the plan for one rank.
 *
 * @param rank this rank, in [0, world_size)
 * @param start the first step produced (resume: the step after the checkpoint)
 * @param endEpoch produce batches until (excluding) this epoch
 * @param randomFlip horizontal flip augmentation, decided per (seed, epoch, sample index)
 * @param prefetch batches decoded ahead (bounded queue capacity), >= 1
 * @param decodeThreads threads decoding the images of one batch, >= 1
 */
public record LoaderConfig(int rank, GlobalBatchPlan.Position start, int endEpoch, boolean randomFlip,
                           int prefetch, int decodeThreads) {

    /** Validates; messages name the field, the value and what was expected. */
    public LoaderConfig {
        Objects.requireNonNull(start, "start");
        if (rank < 0) {
            throw new IllegalArgumentException("rank : " + rank + " (expected: >= 0)");
        }
        if (endEpoch < start.epoch()) {
            throw new IllegalArgumentException("end_epoch : " + endEpoch + " (expected: >= start epoch " + start.epoch() + ")");
        }
        if (prefetch < 1) {
            throw new IllegalArgumentException("prefetch : " + prefetch + " (expected: >= 1)");
        }
        if (decodeThreads < 1 || decodeThreads > 64) {
            throw new IllegalArgumentException("decode_threads : " + decodeThreads + " (expected: 1 <= n <= 64)");
        }
    }

    /** From epoch 0 step 0 to {@code epochs}, flip on, 4 batches ahead, 2 decode threads. */
    public static LoaderConfig of(int rank, int epochs) {
        return new LoaderConfig(rank, new GlobalBatchPlan.Position(0, 0), epochs, true, 4, 2);
    }
}
