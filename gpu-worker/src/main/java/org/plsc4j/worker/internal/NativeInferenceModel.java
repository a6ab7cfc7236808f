package org.plsc4j.worker.internal;

import java.io.IOException;
import java.nio.file.Path;
import java.util.function.Supplier;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.plsc4j.worker.InferenceModel;

/**
 * The inference view of a {@link NativeResNetBackbone}: embeds through the native engine (running
 * statistics, no dropout) and, for export, builds SameDiff's inference graph over the same arrays
 * on first use of {@link #graph()} or {@link #save(Path)}, so the saved format stays the one
 * {@link SameDiffInferenceModel#load} reads.
 */
final class NativeInferenceModel implements InferenceModel {

    private final NativeResNetBackbone engine;
    private final Supplier<SameDiffInferenceModel> graphFactory;
    private SameDiffInferenceModel graph;

    NativeInferenceModel(NativeResNetBackbone engine, Supplier<SameDiffInferenceModel> graphFactory) {
        this.engine = engine;
        this.graphFactory = graphFactory;
    }

    @Override
    public INDArray embed(INDArray images) {
        return engine.infer(images);
    }

    private synchronized SameDiffInferenceModel sameDiff() {
        if (graph == null) {
            graph = graphFactory.get();
        }
        return graph;
    }

    @Override
    public SameDiff graph() {
        return sameDiff().graph();
    }

    @Override
    public void save(Path dir) throws IOException {
        sameDiff().save(dir);
    }
}
