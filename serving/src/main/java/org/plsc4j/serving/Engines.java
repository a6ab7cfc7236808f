package org.plsc4j.serving;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

/**
 * The serving engines on the class path, by name. {@value #DEFAULT} is the default: it reads the
 * SameDiff graph every export has; {@code onnxruntime} needs an export made with
 * {@code --format onnx}.
 */
public final class Engines {

    /** The engine used unless one is named. */
    public static final String DEFAULT = "samediff";

    private Engines() {
    }

    /** The names of the engines found, built-ins first. */
    public static List<String> names() {
        List<String> out = new ArrayList<>();
        for (EngineProvider p : ServiceLoader.load(EngineProvider.class)) {
            out.add(p.name());
        }
        return out;
    }

    /**
     * The provider called {@code name}.
     *
     * @throws IllegalArgumentException listing the known names
     */
    public static EngineProvider provider(String name) {
        for (EngineProvider p : ServiceLoader.load(EngineProvider.class)) {
            if (p.name().equals(name)) {
                return p;
            }
        }
        throw new IllegalArgumentException("engine : " + name + " (expected one of " + names() + ")");
    }

    /** Opens the model exported to {@code dir} with the engine called {@code name}. */
    public static EmbeddingEngine open(String name, Path dir) throws IOException {
        return provider(name).open(dir);
    }
}
