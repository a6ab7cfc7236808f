package org.plsc4j.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import org.plsc4j.data.internal.Base64Dataset;
import org.plsc4j.data.internal.LabelTxtDataset;

/**
 * A training set with random access by sample index, as the epoch plan needs it: the plan decides
 * which indices a rank reads, the dataset only answers "label of i" (from memory, checked at open)
 * and "image of i" (read and decoded on demand). Samples dropped at open (with
 * {@code skipBadSamples}) are not part of the index range. Thread-safe.
 */
public interface Dataset extends AutoCloseable {

    /** Opens the dataset {@code config} describes; labels are checked here, images when read or when {@code validateImages}. */
    static Dataset open(DatasetConfig config) throws IOException {
        return switch (config.format()) {
            case LABEL_TXT -> LabelTxtDataset.open(config);
            case BASE64 -> Base64Dataset.open(config);
        };
    }

    /** Number of usable samples. */
    int size();

    /** The config it was opened with. */
    DatasetConfig config();

    /** The label of sample {@code i}, in [0, num_classes). */
    int label(int i);

    /** Where sample {@code i} is written, {@code file:line}, for messages. */
    String source(int i);

    /**
     * The encoded image bytes of sample {@code i}.
     *
     * @throws BadDataException when the image is missing or not decodable as its storage format
     *     (e.g. invalid base64); the message names the file and line of the sample
     * @throws UncheckedIOException on other I/O failures
     */
    byte[] encoded(int i);

    /** Samples dropped at open because {@code skipBadSamples} is on. */
    BadSampleLog badSamples();

    /**
     * Reads sample {@code i} as a normalised CHW float image into {@code dst[offset ..)}.
     *
     * @throws BadDataException when the image is missing or undecodable (message names file and line)
     */
    default void read(int i, boolean flip, float[] dst, int offset) {
        new ImagePreprocessor(config().imageShape()).toChw(encoded(i), source(i), flip, dst, offset);
    }

    /** Reads sample {@code i} into a new float[3·H·W]. */
    default float[] read(int i, boolean flip) {
        float[] out = new float[config().imageShape().floatsPerImage()];
        read(i, flip, out, 0);
        return out;
    }

    /** Releases open files. */
    @Override
    void close() throws IOException;
}
