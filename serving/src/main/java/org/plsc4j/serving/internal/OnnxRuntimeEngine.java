package org.plsc4j.serving.internal;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.plsc4j.serving.EmbeddingEngine;
import org.plsc4j.serving.EngineProvider;
import org.plsc4j.worker.OnnxExport;

/**
 * The export's {@code model.onnx} run by ONNX Runtime (CPU execution provider): the same model an
 * ONNX deployment runs, behind the same HTTP front end, so its embeddings and speed can be compared
 * with the SameDiff engine's.
 */
public final class OnnxRuntimeEngine implements EmbeddingEngine {

    /** The engine's name. */
    public static final String NAME = "onnxruntime";

    private final OrtEnvironment env;
    private final OrtSession session;
    private final AtomicBoolean closed = new AtomicBoolean();

    private OnnxRuntimeEngine(OrtEnvironment env, OrtSession session) {
        this.env = env;
        this.session = session;
    }

    /**
     * Opens {@code file} (a {@code model.onnx} as {@code plsc4j export --format onnx} writes it).
     *
     * @throws IOException if the file is missing or ONNX Runtime rejects it
     */
    public static OnnxRuntimeEngine open(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "engine : " + NAME + " (expected: "
                    + file.getFileName() + " in " + file.getParent() + ", written by plsc4j export --format onnx)");
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            // idle pool threads must not spin between batches: they would take the cores from the
            // decoders and Netty (as OMP_WAIT_POLICY=PASSIVE does for ND4J)
            opts.addConfigEntry("session.intra_op.allow_spinning", "0");
            return new OnnxRuntimeEngine(env, env.createSession(file.toString(), opts));
        } catch (OrtException e) {
            throw new IOException(file + ": ONNX Runtime cannot load it (" + e.getMessage() + ")", e);
        }
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public float[][] embed(float[] chw, int n, int channels, int height, int width) {
        long[] shape = {n, channels, height, width};
        int len = n * channels * height * width;
        try (OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(chw, 0, len), shape);
             OrtSession.Result r = session.run(Map.of("input", x))) {
            return (float[][]) r.get(0).getValue();
        } catch (OrtException e) {
            throw new IllegalStateException("onnxruntime : " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            try {
                session.close();
            } catch (OrtException e) {
                throw new IllegalStateException("onnxruntime : closing the session failed (" + e.getMessage() + ")", e);
            }
        }
    }

    /** Its {@link EngineProvider}. */
    public static final class Provider implements EngineProvider {
        @Override
        public String name() {
            return NAME;
        }

        @Override
        public EmbeddingEngine open(Path dir) throws IOException {
            return OnnxRuntimeEngine.open(dir.resolve(OnnxExport.ONNX_FILE));
        }
    }
}
