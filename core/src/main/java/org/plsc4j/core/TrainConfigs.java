package org.plsc4j.core;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Builds {@link TrainConfig}s from the defaults, a YAML job file and {@code key=value} overrides, in
 * that order, one code path for the CLI and {@code org.plsc4j.Entry}.
 *
 * <p>Why a tree merge: every source speaks the same snake_case keys, so each is a layer of key →
 * value over the committed defaults ({@code train-defaults.yaml}); only the merged result is bound
 * to the record, whose constructor validates. Unknown keys and values of the wrong type are errors
 * naming the key (and the file and line when they come from a file).
 */
public final class TrainConfigs {

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT);
    private static final ObjectMapper JSON = new ObjectMapper();

    private TrainConfigs() {
    }

    /** The defaults as a tree (a fresh copy). */
    public static ObjectNode defaults() {
        try (InputStream in = TrainConfigs.class.getResourceAsStream("train-defaults.yaml")) {
            if (in == null) {
                throw new IllegalStateException("train-defaults.yaml missing from the plsc4j-core jar");
            }
            return (ObjectNode) YAML.readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The default configuration. */
    public static TrainConfig defaultConfig() {
        return bind(defaults(), "defaults");
    }

    /**
     * Reads a YAML job file into a tree of keys (not yet merged or validated).
     *
     * @throws IllegalArgumentException naming the file (and line) when it is missing, not YAML, or not a mapping
     */
    public static ObjectNode readYaml(Path file) {
        JsonNode node;
        try {
            node = YAML.readTree(Files.readString(file));
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("config : " + file + " (no such file)", e);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(file + where(e.getLocation()) + ": not valid YAML: "
                    + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
        if (node == null || node.isMissingNode() || node.isNull()) {
            return JSON.createObjectNode();
        }
        if (!node.isObject()) {
            throw new IllegalArgumentException(file + ": expected a mapping of keys to values, got a "
                    + node.getNodeType().toString().toLowerCase(java.util.Locale.ROOT));
        }
        return (ObjectNode) node;
    }

    /**
     * Applies {@code key=value} overrides (values in YAML syntax: {@code lr_steps=[10,20]},
     * {@code checkpoint_dir=}) onto {@code tree}.
     *
     * @throws IllegalArgumentException naming the override when it has no '=' or its value is not YAML
     */
    public static ObjectNode applySets(ObjectNode tree, List<String> sets) {
        for (String s : sets) {
            int eq = s.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("--set : " + s + " (expected: key=value)");
            }
            String key = s.substring(0, eq).trim();
            String raw = s.substring(eq + 1);
            JsonNode value;
            try {
                value = raw.isEmpty() ? JSON.getNodeFactory().textNode("") : YAML.readTree(raw);
            } catch (JsonProcessingException e) {
                throw new IllegalArgumentException("--set : " + s + " (the value is not valid YAML: "
                        + e.getOriginalMessage() + ")", e);
            }
            tree.set(key, value == null || value.isMissingNode() ? JSON.getNodeFactory().nullNode() : value);
        }
        return tree;
    }

    /** Defaults, then the file (may be null), then the overrides; bound and validated. */
    public static TrainConfig load(Path file, List<String> sets) {
        ObjectNode merged = defaults();
        if (file != null) {
            ObjectNode user = readYaml(file);
            checkKnown(user, file.toString());
            merged.setAll(normalise(user));
        }
        ObjectNode overrides = applySets(JSON.createObjectNode(), sets);
        checkKnown(overrides, "--set");
        merged.setAll(normalise(overrides));
        return bind(merged, file == null ? "--set" : file.toString());
    }

    /**
     * Binds a merged tree (every key present or defaulted) to a validated {@link TrainConfig}.
     *
     * @param source what to name in messages ("job.yaml", "--set", "Entry")
     */
    public static TrainConfig bind(ObjectNode merged, String source) {
        try {
            return YAML.treeToValue(merged, TrainConfig.class);
        } catch (UnrecognizedPropertyException e) {
            throw new IllegalArgumentException(source + ": unknown key '" + e.getPropertyName() + "' (known keys: "
                    + knownKeys() + ")", e);
        } catch (ValueInstantiationException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            throw new IllegalArgumentException(source + ": " + cause.getMessage(), cause);
        } catch (MismatchedInputException e) {
            String key = e.getPath().isEmpty() ? "?" : e.getPath().get(0).getFieldName();
            JsonNode value = key == null ? null : merged.get(key);
            throw new IllegalArgumentException(source + ": " + key + " : " + value + " (expected: "
                    + expectedType(e.getTargetType()) + ")", e);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(source + ": " + e.getOriginalMessage(), e);
        }
    }

    /**
     * A configuration saved by an earlier version (a checkpoint manifest's {@code config}): keys are
     * only ever added, so missing ones take today's defaults.
     */
    public static TrainConfig fromSaved(ObjectNode saved, String source) {
        ObjectNode merged = defaults();
        merged.setAll(saved.deepCopy());
        return bind(merged, source);
    }

    /**
     * The job as {@code workers} workers train it: with {@code batch_size_per_worker} set (PLSC's per-GPU
     * batch), {@code train_batch_size} becomes {@code batch_size_per_worker × workers}, the global batch
     * (which then stays fixed, also when an elastic job loses or gains workers); otherwise {@code config}.
     */
    public static TrainConfig withWorkers(TrainConfig config, int workers) {
        int global = config.globalBatchSize(workers);
        if (config.batchSizePerWorker() == null || global == config.trainBatchSize()) {
            return config;
        }
        org.slf4j.LoggerFactory.getLogger(TrainConfigs.class).info("batch_size_per_worker {} x {} worker(s):"
                + " train_batch_size (the global batch) = {}", config.batchSizePerWorker(), workers, global);
        ObjectNode tree = toTree(config);
        tree.put("train_batch_size", global);
        return bind(tree, "batch_size_per_worker");
    }

    /** The configuration as a JSON tree with the public key names (for manifests and logs). */
    public static ObjectNode toTree(TrainConfig config) {
        return JSON.valueToTree(config);
    }

    /** The public key names, in the order of the defaults file. */
    public static List<String> knownKeys() {
        return iterable(defaults().fieldNames());
    }

    private static void checkKnown(ObjectNode user, String source) {
        List<String> known = knownKeys();
        for (String key : iterable(user.fieldNames())) {
            if (!known.contains(key)) {
                String hint = known.stream().filter(k -> similar(k, key)).collect(Collectors.joining(", "));
                throw new IllegalArgumentException(source + ": unknown key '" + key + "'"
                        + (hint.isEmpty() ? "" : " (did you mean " + hint + "?)") + " (known keys: " + known + ")");
            }
        }
    }

    /** PLSC spellings that differ only in form: val_targets "lfw,cfp_fp" as a list; an image_shape as a string. */
    private static ObjectNode normalise(ObjectNode user) {
        JsonNode vt = user.get("val_targets");
        if (vt != null && vt.isTextual()) {
            var arr = JSON.createArrayNode();
            for (String t : vt.asText().split(",")) {
                if (!t.isBlank()) {
                    arr.add(t.trim());
                }
            }
            user.set("val_targets", arr);
        }
        JsonNode shape = user.get("image_shape");
        if (shape != null && shape.isTextual()) {
            // PLSC's set_image_shape takes a tuple or list; a job file may quote it: "3,112,112" or "(3, 112, 112)"
            var arr = JSON.createArrayNode();
            for (String t : shape.asText().replaceAll("[\\[\\]()\\s]", "").split(",")) {
                if (t.isEmpty()) {
                    continue;
                }
                try {
                    arr.add(Integer.parseInt(t));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("image_shape : \"" + shape.asText()
                            + "\" (expected: [3, H, W], a list or a string such as \"3,112,112\")", e);
                }
            }
            user.set("image_shape", arr);
        }
        return user;
    }

    private static boolean similar(String a, String b) {
        return a.replace("_", "").equalsIgnoreCase(b.replace("_", "").replace("-", ""))
                || (a.length() > 4 && b.startsWith(a.substring(0, 4)) && Math.abs(a.length() - b.length()) <= 3);
    }

    private static String expectedType(Class<?> t) {
        if (t == int.class || t == Integer.class || t == long.class || t == Long.class) {
            return "an integer";
        }
        if (t == double.class || t == Double.class) {
            return "a number";
        }
        if (t == boolean.class || t == Boolean.class) {
            return "true or false";
        }
        if (t != null && List.class.isAssignableFrom(t)) {
            return "a list";
        }
        return t == null ? "another type" : "a " + t.getSimpleName().toLowerCase(java.util.Locale.ROOT);
    }

    private static String where(JsonLocation loc) {
        return loc == null || loc.getLineNr() < 1 ? "" : ":" + loc.getLineNr();
    }

    private static List<String> iterable(Iterator<String> it) {
        List<String> out = new java.util.ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }

    /** For tests and Entry: the merged tree of defaults and {@code values}. */
    public static ObjectNode merged(Map<String, ?> values) {
        ObjectNode merged = defaults();
        ObjectNode user = JSON.valueToTree(values);
        checkKnown(user, "Entry");
        merged.setAll(normalise(user));
        return merged;
    }
}
