package org.plsc4j.worker;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.ServiceLoader;
import java.util.function.Supplier;
import org.plsc4j.worker.internal.MlpModel;
import org.plsc4j.worker.internal.NativeResNetBackbone;
import org.plsc4j.worker.internal.ResNetModel;
import org.plsc4j.worker.internal.SameDiffBackbone;
import org.plsc4j.worker.internal.SameDiffInferenceModel;
import org.plsc4j.worker.internal.SmallCnnModel;

/**
 * The built-in backbones by PLSC's {@code model_name}, and the way in for custom {@link BaseModel}s:
 * the trainer only ever sees a {@link Backbone}, whichever built it.
 *
 * <ul>
 *   <li>{@code ResNet50}, {@code ResNet100}, {@code ResNet101}, {@code ResNet152}: PLSC's face ResNets
 *       (stages [3, 4, 14, 3], [3, 13, 30, 3], [3, 4, 23, 3], [3, 8, 36, 3] of IR blocks);</li>
 *   <li>{@code small}: a four-layer CNN for CPU runs;</li>
 *   <li>{@code mlp}: flatten, FC, tanh, FC; no batch statistics, no dropout (exactness tests);</li>
 *   <li>any {@link ModelProvider} on the class path, by its name.</li>
 * </ul>
 */
public final class Backbones {

    /** System property choosing the engine of the built-in ResNets: {@code native} (default) or {@code samediff}. */
    public static final String ENGINE_PROPERTY = "plsc4j.backbone.engine";

    private static final Map<String, Supplier<BaseModel>> MODELS = new LinkedHashMap<>();

    static {
        MODELS.put("ResNet50", () -> new ResNetModel("ResNet50", 3, 4, 14, 3));
        MODELS.put("ResNet100", () -> new ResNetModel("ResNet100", 3, 13, 30, 3));
        MODELS.put("ResNet101", () -> new ResNetModel("ResNet101", 3, 4, 23, 3));
        MODELS.put("ResNet152", () -> new ResNetModel("ResNet152", 3, 8, 36, 3));
        MODELS.put("small", SmallCnnModel::new);
        MODELS.put("mlp", MlpModel::new);
    }

    private Backbones() {
    }

    /** The built-in model names, then those of {@link ModelProvider}s on the class path. */
    public static List<String> names() {
        List<String> out = new ArrayList<>(MODELS.keySet());
        for (ModelProvider p : ServiceLoader.load(ModelProvider.class)) {
            if (!out.contains(p.name())) {
                out.add(p.name());
            }
        }
        return out;
    }

    /**
     * The built-in model called {@code modelName} (case-sensitive, as PLSC's {@code model_name}).
     *
     * @throws IllegalArgumentException listing the known names
     */
    public static BaseModel model(String modelName) {
        Supplier<BaseModel> s = MODELS.get(modelName);
        if (s == null) {
            for (ModelProvider p : ServiceLoader.load(ModelProvider.class)) {
                if (p.name().equals(modelName)) {
                    return p.create();
                }
            }
            throw new IllegalArgumentException("model_name : " + modelName + " (expected one of " + names()
                    + ", or a custom BaseModel)");
        }
        return s.get();
    }

    /** Builds the built-in model {@code modelName} (its training graph) with parameters initialised from the seed. */
    public static Backbone create(String modelName, BackboneConfig config) {
        return create(model(modelName), config);
    }

    /**
     * Builds a model: the built-in ResNets on {@link NativeResNetBackbone} (layer by layer through
     * libnd4j's oneDNN-backed ops), every other model on SameDiff. The system property
     * {@value #ENGINE_PROPERTY}{@code =samediff} forces SameDiff for the ResNets too (the reference).
     */
    public static Backbone create(BaseModel model, BackboneConfig config) {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(config, "config");
        String engine = System.getProperty(ENGINE_PROPERTY, "native");
        if (!engine.equals("native") && !engine.equals("samediff")) {
            throw new IllegalArgumentException(ENGINE_PROPERTY + " : " + engine + " (expected: native or samediff)");
        }
        if (model instanceof ResNetModel resnet && engine.equals("native")) {
            return new NativeResNetBackbone(resnet, config);
        }
        return new SameDiffBackbone(model, config);
    }

    /** Loads an inference model written by {@link InferenceModel#save(Path)}. */
    public static InferenceModel loadInference(Path dir) throws IOException {
        return SameDiffInferenceModel.load(dir);
    }
}
