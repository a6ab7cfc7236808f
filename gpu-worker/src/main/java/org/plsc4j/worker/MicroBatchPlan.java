package org.plsc4j.worker;

import java.util.Locale;

/**
 * How a rank splits its local batch for the backbone ({@code micro_batch_size}): the whole local
 * batch when it fits, else the fewest micro-batches that fit in the memory this process may take,
 * of one size with a last one short of it by less than their number (128 images of which 123 fit run
 * as 64 + 64, not 123 + 5: the same passes, less memory, and no remainder micro-batch whose batch
 * norms see a handful of images, or one, where the embedding's batch norm degenerates to β). Decided once per generation, before the
 * first step, so a job that cannot fit even one image per micro-batch fails at start with the numbers
 * instead of an OutOfMemoryError minutes in. A later generation of the same process keeps at least
 * the size it already planned ({@link #keep}), whatever the free memory reads then: see
 * {@link TrainingStep#plan}.
 *
 * @param size images per micro-batch (the local batch when it is not split)
 * @param localBatch images per rank and step
 * @param bytesPerSample the backbone's estimate ({@link Backbone#trainingBytesPerSample()})
 * @param availableBytes what this process may still allocate, or -1 when unknown
 * @param chosen whether {@code size} was chosen from memory (micro_batch_size: null) rather than configured
 */
record MicroBatchPlan(int size, int localBatch, long bytesPerSample, long availableBytes, boolean chosen) {

    /** Share of the available memory a step may plan with (the rest: FC step temporaries, data loader, JVM). */
    static final double USABLE = 0.8;

    /**
     * Plans micro-batches for {@code localBatch} images.
     *
     * @param configured {@code micro_batch_size}, or null to choose from memory
     * @throws IllegalStateException when even one image (or the configured size) needs more than is available
     */
    static MicroBatchPlan plan(int localBatch, Integer configured, long bytesPerSample, long availableBytes) {
        long usable = availableBytes < 0 ? Long.MAX_VALUE : (long) (availableBytes * USABLE);
        long fits = bytesPerSample <= 0 ? Long.MAX_VALUE : usable / bytesPerSample;
        if (configured != null) {
            int size = Math.min(configured, localBatch);
            if (size > fits) {
                throw new IllegalStateException(String.format(Locale.ROOT, "micro_batch_size : %d (a training step"
                        + " of %d images needs about %s of memory for the backbone and %s is available to this worker;"
                        + " expected: at most %d)", configured, size, mib(size * bytesPerSample),
                        mib(availableBytes), fits));
            }
            return new MicroBatchPlan(size, localBatch, bytesPerSample, availableBytes, false);
        }
        if (fits < 1) {
            throw new IllegalStateException(String.format(Locale.ROOT, "train_batch_size : a training step of even"
                    + " one image needs about %s of memory for the backbone and only %s is available to this worker"
                    + " (expected: more free memory, fewer workers on this machine, a smaller image_shape or"
                    + " model_name)", mib(bytesPerSample), mib(availableBytes)));
        }
        return new MicroBatchPlan(even(localBatch, (int) Math.min(localBatch, fits)), localBatch, bytesPerSample,
                availableBytes, true);
    }

    /**
     * This plan carried into a generation whose local batch is {@code localBatch} (the world size
     * changed): at most the images per micro-batch this plan had, split evenly, so never more memory
     * than this process already planned for.
     *
     * @param availableNow the free-memory reading of the new generation (logged)
     */
    MicroBatchPlan keep(int localBatch, long availableNow) {
        return new MicroBatchPlan(even(localBatch, Math.min(size, localBatch)), localBatch, bytesPerSample,
                availableNow, chosen);
    }

    /** The smallest size that splits {@code localBatch} into as few micro-batches as {@code largest} does. */
    static int even(int localBatch, int largest) {
        int count = (localBatch + largest - 1) / largest;
        return (localBatch + count - 1) / count;
    }

    /** Whether the local batch runs in more than one micro-batch (then the forward is recomputed). */
    boolean split() {
        return size < localBatch;
    }

    /** Number of micro-batches per step. */
    int count() {
        return (localBatch + size - 1) / size;
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%s %d of %d local images per micro-batch (%d per step; ~%s per image,"
                + " %s available)", chosen ? "chose" : "micro_batch_size:", size, localBatch, count(),
                mib(bytesPerSample), mib(availableBytes));
    }

    private static String mib(long bytes) {
        return bytes < 0 ? "unknown" : String.format(Locale.ROOT, "%d MiB", bytes >> 20);
    }
}
