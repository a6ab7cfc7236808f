package org.plsc4j.data;

import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One rank's share of one global batch.
 *
 * <p>A sample whose image turns out unreadable at read time while {@code skipBadSamples} is on (only
 * possible without the {@code validateImages} pass, or if a file changed after open) is not replaced
 * by another sample — that would silently change the global batch. Its row is left all zeros and its
 * label is {@link #IGNORED} (-1); {@link #badSamples()} names it and the loader's {@link BadSampleLog}
 * counts it. A trainer must drop or mask rows labelled -1. Strict mode never produces such rows.
 *
 * @param epoch the epoch
 * @param step the step within the epoch
 * @param images [b, 3, H, W] float32, normalised
 * @param labels [b] labels in [0, num_classes), or -1 for a bad sample (see above)
 * @param indices [b] the dataset indices the rows came from
 * @param badSamples messages for rows labelled -1; empty normally
 */
public record Batch(int epoch, int step, INDArray images, int[] labels, int[] indices, List<String> badSamples) {

    /** The label of a row whose image could not be read (skip mode only). */
    public static final int IGNORED = -1;
}
