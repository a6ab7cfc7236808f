package org.plsc4j.serving;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A serving engine, found with {@link java.util.ServiceLoader} by its {@link #name()}: the
 * built-in {@code samediff} and {@code onnxruntime}, or one a user adds to the class path.
 */
public interface EngineProvider {

    /** The name {@code plsc4j serve --engine} selects it by. */
    String name();

    /**
     * Opens the model exported to {@code dir} ({@code plsc4j export}'s layout).
     *
     * @throws IOException naming the file this engine needs when it is missing or unreadable
     */
    EmbeddingEngine open(Path dir) throws IOException;
}
