package org.plsc4j.serving.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Objects;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.data.ImageShape;
import org.plsc4j.worker.Backbones;
import org.plsc4j.worker.InferenceModel;

/**
 * An exported model as the server uses it: the inference graph, the image shape its inputs are
 * resized to, the embedding size and the export's {@code model.json} (provenance, shown by
 * {@code GET /v1/model}).
 *
 * <p>{@link #embed} is called by the batcher's single thread only (a SameDiff graph is not made
 * for concurrent execution).
 */
public final class ServedModel {

    /** The metadata file of an exported model (the layout {@code plsc4j export} writes). */
    public static final String MODEL_JSON = "model.json";

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path dir;
    private final InferenceModel model;
    private final ImageShape shape;
    private final int dim;
    private final String name;
    private final JsonNode metadata;

    /** A model already in memory, e.g. for tests and benchmarks. */
    public ServedModel(Path dir, InferenceModel model, ImageShape shape, int dim, String name, JsonNode metadata) {
        this.dir = dir;
        this.model = Objects.requireNonNull(model, "model");
        this.shape = Objects.requireNonNull(shape, "shape");
        this.dim = dim;
        this.name = Objects.requireNonNull(name, "name");
        this.metadata = metadata == null ? JSON.createObjectNode() : metadata;
    }

    /**
     * Loads an exported model directory ({@code model.json}, {@code model.fb}, {@code model.properties}).
     *
     * @throws IOException naming the file that is missing or malformed
     */
    public static ServedModel load(Path dir) throws IOException {
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
        InferenceModel model = Backbones.loadInference(dir);
        String name = meta.path("model_name").asText(dir.getFileName() == null ? "model" : dir.getFileName().toString());
        ServedModel served = new ServedModel(dir, model, shape, dim, name, meta);
        float[][] probe = served.embed(new float[shape.floatsPerImage()], 1);
        if (probe[0].length != dim) {
            throw new IOException(json + ": emb_size : " + dim + " (expected: " + probe[0].length
                    + ", the size the graph produces)");
        }
        return served;
    }

    /** Embeddings [n][D] of {@code n} preprocessed CHW images laid out one after the other in {@code chw}. */
    public float[][] embed(float[] chw, int n) {
        INDArray x = Nd4j.create(chw, new long[] {n, shape.channels(), shape.height(), shape.width()}, DataType.FLOAT);
        INDArray out = model.embed(x);
        return (out.dataType() == DataType.FLOAT ? out : out.castTo(DataType.FLOAT)).toFloatMatrix();
    }

    /** The directory it was loaded from, or null. */
    public Path dir() {
        return dir;
    }

    /** The inference model. */
    public InferenceModel model() {
        return model;
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
