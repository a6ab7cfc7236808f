package org.plsc4j.serving.internal;

import java.io.IOException;
import java.nio.file.Path;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.serving.EmbeddingEngine;
import org.plsc4j.serving.EngineProvider;
import org.plsc4j.worker.Backbones;
import org.plsc4j.worker.InferenceModel;

/** The reference engine: the export's SameDiff graph ({@code model.fb}) run by ND4J. */
public final class SameDiffEngine implements EmbeddingEngine {

    /** The engine's name. */
    public static final String NAME = "samediff";

    private final InferenceModel model;

    /** Runs {@code model}. */
    public SameDiffEngine(InferenceModel model) {
        this.model = model;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public float[][] embed(float[] chw, int n, int channels, int height, int width) {
        INDArray x = Nd4j.create(chw, new long[] {n, channels, height, width}, DataType.FLOAT);
        INDArray out = model.embed(x);
        return (out.dataType() == DataType.FLOAT ? out : out.castTo(DataType.FLOAT)).toFloatMatrix();
    }

    /** The inference model it runs. */
    public InferenceModel model() {
        return model;
    }

    @Override
    public void close() {
        // ND4J arrays are released by the garbage collector
    }

    /** Its {@link EngineProvider}. */
    public static final class Provider implements EngineProvider {
        @Override
        public String name() {
            return NAME;
        }

        @Override
        public EmbeddingEngine open(Path dir) throws IOException {
            return new SameDiffEngine(Backbones.loadInference(dir));
        }
    }
}
