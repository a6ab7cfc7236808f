package org.plsc4j.data;

import java.nio.file.Path;
import java.util.Objects;

/**
 * Where a training set is and how strictly it is read.
 *
 * @param dir PLSC's {@code dataset_dir}
 * @param format the layout inside {@code dir}
 * @param numClasses labels must lie in [0, numClasses)
 * @param imageShape every image is resized to this [3, H, W]
 * @param skipBadSamples false: the first bad sample is an error naming file and line; true: bad
 *     samples are dropped, counted and logged ({@link Dataset#badSamples()})
 * @param validateImages decode every image once at open, so that undecodable or missing images
 *     are found (and, with {@code skipBadSamples}, dropped) before training rather than in the
 *     middle of an epoch; costs one decode per sample
 */
public record DatasetConfig(Path dir, DatasetFormat format, int numClasses, ImageShape imageShape,
                            boolean skipBadSamples, boolean validateImages) {

    /** Validates; messages name the field, the value and what was expected. */
    public DatasetConfig {
        Objects.requireNonNull(dir, "dataset_dir");
        Objects.requireNonNull(format, "format");
        Objects.requireNonNull(imageShape, "image_shape");
        if (numClasses < 1) {
            throw new IllegalArgumentException("num_classes : " + numClasses + " (expected: >= 1)");
        }
    }

    /** A strict config (no skipping, no validation pass). */
    public static DatasetConfig strict(Path dir, DatasetFormat format, int numClasses, ImageShape imageShape) {
        return new DatasetConfig(dir, format, numClasses, imageShape, false, false);
    }

    /** This config with {@code skipBadSamples} set. */
    public DatasetConfig withSkipBadSamples(boolean v) {
        return new DatasetConfig(dir, format, numClasses, imageShape, v, validateImages);
    }

    /** This config with {@code validateImages} set. */
    public DatasetConfig withValidateImages(boolean v) {
        return new DatasetConfig(dir, format, numClasses, imageShape, skipBadSamples, v);
    }
}
