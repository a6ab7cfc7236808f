package org.plsc4j.serving;

/**
 * What runs an exported model's forward pass for the server: preprocessed images in, embeddings
 * out. The server does not care which runtime it is, so the same export can be served by SameDiff
 * (the reference, {@code model.fb}) or by ONNX Runtime ({@code model.onnx}) and the two compared.
 * Called by the batcher's single thread; {@link #close()} is idempotent.
 */
public interface EmbeddingEngine extends AutoCloseable {

    /** The engine's name as {@code --engine} spells it. */
    String name();

    /** Embeddings [n][D] of {@code n} preprocessed CHW images laid out one after the other in {@code chw}. */
    float[][] embed(float[] chw, int n, int channels, int height, int width);

    /** Releases native resources. */
    @Override
    void close();
}
