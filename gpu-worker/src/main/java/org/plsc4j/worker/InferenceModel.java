package org.plsc4j.worker;

import java.io.IOException;
import java.nio.file.Path;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The deployable half of a backbone: images in, embeddings out, batch norm on running statistics,
 * no dropout. Evaluation (verification sets) and serving use it; it is also what gets saved as "the
 * model" at the end of training, since the FC layer is not needed to compare faces.
 */
public interface InferenceModel {

    /** Embeddings [b, D] of images [b, C, H, W]. */
    INDArray embed(INDArray images);

    /** The SameDiff graph (input placeholder {@code input}, output {@code embedding}). */
    SameDiff graph();

    /**
     * Writes the graph with its current parameter values to {@code dir} (created if absent): the
     * SameDiff FlatBuffers file {@code model.fb} and {@code model.properties}.
     */
    void save(Path dir) throws IOException;
}
