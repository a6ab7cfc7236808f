package org.plsc4j.serving.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Objects;
import org.plsc4j.data.ImageShape;
import org.plsc4j.serving.EmbeddingEngine;
import org.plsc4j.serving.EngineProvider;
import org.plsc4j.serving.Engines;
import org.plsc4j.worker.InferenceModel;

/**
 * An exported model as the server uses it: the inference graph, the image shape its inputs are
 * resized to, the embedding size and the export's {@code model.json} (provenance, shown by
 * {@code GET /v1/model}).
 *
 * <p>{@link #embed} is called by the batcher's single thread only (a SameDiff graph is not made
 * for concurrent execution). The forward pass is the {@link EmbeddingEngine}'s.
 */
public final class ServedModel {

    /** The metadata file of an exported model (the layout {@code plsc4j export} writes). */
    public static final String MODEL_JSON = "model.json";

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path dir;
    private final EmbeddingEngine engine;
    private final ImageShape shape;
    private final int dim;
    private final String name;
    private final JsonNode metadata;

    /** A model already in memory, e.g. for tests and benchmarks, run by the SameDiff engine. */
    public ServedModel(Path dir, InferenceModel model, ImageShape shape, int dim, String name, JsonNode metadata) {
        this(dir, new SameDiffEngine(Objects.requireNonNull(model, "model")), shape, dim, name, metadata);
    }

    /** A model run by {@code engine}. */
    public ServedModel(Path dir, EmbeddingEngine engine, ImageShape shape, int dim, String name, JsonNode metadata) {
        this.dir = dir;
        this.engine = Objects.requireNonNull(engine, "engine");
        this.shape = Objects.requireNonNull(shape, "shape");
        this.dim = dim;
        this.name = Objects.requireNonNull(name, "name");
        this.metadata = metadata == null ? JSON.createObjectNode() : metadata;
    }

    /**
     * Loads an exported model directory ({@code model.json}, {@code model.fb}, {@code model.properties})
     * for the SameDiff engine.
     *
     * @throws IOException naming the file that is missing or malformed
     */
    public static ServedModel load(Path dir) throws IOException {
        return load(dir, Engines.DEFAULT);
    }

    /**
     * Loads an exported model directory for the engine called {@code engineName} ({@code samediff}
     * reads {@code model.fb}, {@code onnxruntime} {@code model.onnx}).
     *
     * @throws IOException naming the file that is missing or malformed
     * @throws IllegalArgumentException if no engine has that name
     */
    public static ServedModel load(Path dir, String engineName) throws IOException {
        EngineProvider provider = Engines.provider(engineName);
        Path json = dir.resolve(MODEL_JSON);
        if (!Files.isRegularFile(json)) {
            throw new NoSuchFileException(json.toString(), null, "model : " + dir
                    + " (expected: an exported model directory with " + MODEL_JSON + ", see plsc4j export)");
        }
        JsonNode meta;
        try {
            meta = JSON.readTree(json.toFile());
        } catch (IOException e) {
            throw new IOException(json + ": malformed JSON (" + e.getMessage() + ")", e);
        }
        JsonNode s = meta.path("image_shape");
        if (!s.isArray() || s.size() != 3 || !s.get(0).canConvertToInt() || !s.get(1).canConvertToInt()
                || !s.get(2).canConvertToInt()) {
            throw new IOException(json + ": image_shape : " + s + " (expected: [3, H, W])");
        }
        ImageShape shape;
        try {
            shape = new ImageShape(s.get(0).asInt(), s.get(1).asInt(), s.get(2).asInt());
        } catch (IllegalArgumentException e) {
            throw new IOException(json + ": " + e.getMessage(), e);
        }
        int dim = meta.path("emb_size").asInt(-1);
        if (dim < 1) {
            throw new IOException(json + ": emb_size : " + meta.path("emb_size") + " (expected: a positive integer)");
        }
        EmbeddingEngine engine = provider.open(dir);
        String name = meta.path("model_name").asText(dir.getFileName() == null ? "model" : dir.getFileName().toString());
        ServedModel served = new ServedModel(dir, engine, shape, dim, name, meta);
        float[][] probe;
        try {
            probe = served.embed(new float[shape.floatsPerImage()], 1);
        } catch (RuntimeException e) {
            engine.close();
            throw new IOException(dir + ": the " + engine.name() + " engine cannot run the model on one "
                    + shape + " image (" + e.getMessage() + ")", e);
        }
        if (probe[0].length != dim) {
            engine.close();
            throw new IOException(json + ": emb_size : " + dim + " (expected: " + probe[0].length
                    + ", the size the graph produces)");
        }
        return served;
    }

    /** Embeddings [n][D] of {@code n} preprocessed CHW images laid out one after the other in {@code chw}. */
    public float[][] embed(float[] chw, int n) {
        return engine.embed(chw, n, shape.channels(), shape.height(), shape.width());
    }

    /** The directory it was loaded from, or null. */
    public Path dir() {
        return dir;
    }

    /** The engine that runs the model. */
    public EmbeddingEngine engine() {
        return engine;
    }

    /** The input shape [3, H, W]. */
    public ImageShape shape() {
        return shape;
    }

    /** The embedding size D. */
    public int dim() {
        return dim;
    }

    /** The model's name ({@code model_name} of model.json). */
    public String name() {
        return name;
    }

    /** The export's model.json. */
    public JsonNode metadata() {
        return metadata;
    }
}
