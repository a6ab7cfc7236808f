package org.plsc4j.worker.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Properties;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.plsc4j.worker.BackboneConfig;
import org.plsc4j.worker.InferenceModel;

/** An inference graph, either built from a live backbone (sharing its arrays) or loaded from a directory. */
public final class SameDiffInferenceModel implements InferenceModel {

    /** The graph file inside a saved model directory. */
    public static final String GRAPH_FILE = "model.fb";
    /** The metadata file inside a saved model directory. */
    public static final String META_FILE = "model.properties";
    private static final String FORMAT = "plsc4j-inference-1";

    private final SameDiff sd;
    private final BackboneConfig config;

    /** Wraps {@code sd}, whose placeholder {@code input} and output {@code embedding} follow {@code config}. */
    public SameDiffInferenceModel(SameDiff sd, BackboneConfig config) {
        this.sd = sd;
        this.config = config;
    }

    @Override
    public INDArray embed(INDArray images) {
        INDArray x = Shapes.checkImages(images, config);
        return sd.outputSingle(Map.of(SameDiffBackbone.INPUT, x), SameDiffBackbone.EMBEDDING);
    }

    @Override
    public SameDiff graph() {
        return sd;
    }

    /** The sizes this model expects and produces. */
    public BackboneConfig config() {
        return config;
    }

    @Override
    public void save(Path dir) throws IOException {
        Files.createDirectories(dir);
        sd.save(dir.resolve(GRAPH_FILE).toFile(), false);
        Properties p = new Properties();
        p.setProperty("format", FORMAT);
        p.setProperty("emb_size", Integer.toString(config.embSize()));
        p.setProperty("channels", Integer.toString(config.channels()));
        p.setProperty("height", Integer.toString(config.height()));
        p.setProperty("width", Integer.toString(config.width()));
        p.setProperty("seed", Long.toString(config.seed()));
        p.setProperty("data_type", config.dataType().name());
        p.setProperty("input", SameDiffBackbone.INPUT);
        p.setProperty("output", SameDiffBackbone.EMBEDDING);
        try (OutputStream out = Files.newOutputStream(dir.resolve(META_FILE))) {
            p.store(out, "plsc4j inference model");
        }
    }

    /**
     * Loads a model written by {@link #save(Path)}.
     *
     * @throws IOException if a file is missing or unreadable, or the metadata is not ours
     */
    public static SameDiffInferenceModel load(Path dir) throws IOException {
        Path meta = dir.resolve(META_FILE);
        Path graph = dir.resolve(GRAPH_FILE);
        for (Path f : new Path[] {meta, graph}) {
            if (!Files.isRegularFile(f)) {
                throw new NoSuchFileException(f.toString(), null, "inference model directory " + dir
                        + " lacks " + f.getFileName() + " (expected: " + Arrays.asList(GRAPH_FILE, META_FILE) + ")");
            }
        }
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(meta)) {
            p.load(in);
        }
        if (!FORMAT.equals(p.getProperty("format"))) {
            throw new IOException("format : " + p.getProperty("format") + " in " + meta + " (expected: " + FORMAT + ")");
        }
        BackboneConfig config;
        try {
            config = new BackboneConfig(Integer.parseInt(p.getProperty("emb_size")),
                    Integer.parseInt(p.getProperty("channels")), Integer.parseInt(p.getProperty("height")),
                    Integer.parseInt(p.getProperty("width")), Long.parseLong(p.getProperty("seed")),
                    DataType.valueOf(p.getProperty("data_type")));
        } catch (RuntimeException e) {
            throw new IOException("malformed " + meta + ": " + e.getMessage(), e);
        }
        return new SameDiffInferenceModel(SameDiff.load(graph.toFile(), false), config);
    }
}
