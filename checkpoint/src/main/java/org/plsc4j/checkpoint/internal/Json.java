package org.plsc4j.checkpoint.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.type.LogicalType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.plsc4j.checkpoint.CheckpointException;

/**
 * The strict JSON codec of manifests and sidecars: missing fields, nulls, and values of the wrong type
 * (a string where a number belongs, 1.5 for an integer) are errors whose message names the file and
 * the field path, e.g. {@code manifest.json: field shards[2].class_end : missing}. Unknown fields are
 * ignored, so that later format-1 writers may add some.
 */
public final class Json {

    private static final ObjectMapper MAPPER = build();
    private static final Pattern PROPERTY = Pattern.compile("property '([^']+)'");

    private Json() {
    }

    /** The configured mapper (thread-safe). */
    public static ObjectMapper mapper() {
        return MAPPER;
    }

    private static ObjectMapper build() {
        ObjectMapper m = JsonMapper.builder()
                .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
                .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
                // an absent optional field arrives as null; explicit nulls of required ones are caught by ManifestValidator
                .disable(DeserializationFeature.FAIL_ON_NULL_CREATOR_PROPERTIES)
                // required fields are marked @JsonProperty(required = true); optional ones (extra, arrays) may be absent
                .disable(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES)
                .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
                .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .enable(SerializationFeature.INDENT_OUTPUT)
                .build();
        for (LogicalType t : new LogicalType[] {LogicalType.Textual, LogicalType.Integer, LogicalType.Float,
            LogicalType.Boolean}) {
            m.coercionConfigFor(t)
                    .setCoercion(CoercionInputShape.Integer, t == LogicalType.Integer || t == LogicalType.Float
                            ? CoercionAction.TryConvert : CoercionAction.Fail)
                    .setCoercion(CoercionInputShape.Float, t == LogicalType.Float ? CoercionAction.TryConvert : CoercionAction.Fail)
                    .setCoercion(CoercionInputShape.Boolean, t == LogicalType.Boolean ? CoercionAction.TryConvert : CoercionAction.Fail)
                    .setCoercion(CoercionInputShape.String, t == LogicalType.Textual ? CoercionAction.TryConvert : CoercionAction.Fail);
        }
        return m;
    }

    /** Reads {@code file} as {@code type}; {@code name} (how to call the file in messages) prefixes errors. */
    public static <T> T read(Path file, String name, Class<T> type) throws IOException {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new CheckpointException(name + " : missing (expected: a file at " + file + ")", e);
        }
        try {
            return MAPPER.readValue(bytes, type);
        } catch (JsonMappingException e) {
            throw new CheckpointException(name + ": " + describe(e, MAPPER.readTree(bytes)), e);
        } catch (JsonProcessingException e) {
            throw new CheckpointException(name + ": not valid JSON: " + firstLine(e.getOriginalMessage())
                    + " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr(), e);
        }
    }

    /** Parses {@code bytes} as {@code type}; {@code name} (how to call the file in messages) prefixes errors. */
    public static <T> T read(byte[] bytes, String name, Class<T> type) throws IOException {
        try {
            return MAPPER.readValue(bytes, type);
        } catch (JsonMappingException e) {
            throw new CheckpointException(name + ": " + describe(e, MAPPER.readTree(bytes)), e);
        } catch (JsonProcessingException e) {
            throw new CheckpointException(name + ": not valid JSON: " + firstLine(e.getOriginalMessage())
                    + " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr(), e);
        }
    }

    /** {@code value} as indented UTF-8 JSON. */
    public static byte[] bytes(Object value) throws JsonProcessingException {
        return MAPPER.writeValueAsBytes(value);
    }

    /** "field a.b[2].c : what (expected: ...)" from Jackson's path and message. */
    static String describe(JsonMappingException e, JsonNode tree) {
        StringBuilder path = new StringBuilder();
        JsonNode found = tree;
        for (JsonMappingException.Reference r : e.getPath()) {
            if (r.getFieldName() != null) {
                if (path.length() > 0) {
                    path.append('.');
                }
                path.append(r.getFieldName());
                found = found == null ? null : found.get(r.getFieldName());
            } else if (r.getIndex() >= 0) {
                path.append('[').append(r.getIndex()).append(']');
                found = found == null ? null : found.get(r.getIndex());
            }
        }
        String msg = firstLine(e.getOriginalMessage());
        if (msg.startsWith("Missing required creator property")) {
            Matcher m = PROPERTY.matcher(msg);
            if (m.find()) {
                String p = path.toString();
                String field = p.equals(m.group(1)) || p.endsWith("." + m.group(1)) ? p
                        : (p.isEmpty() ? "" : p + ".") + m.group(1);
                return "field " + field + " : missing (expected: a value)";
            }
        }
        if (msg.startsWith("Null value for creator property") || msg.startsWith("Cannot map `null`")) {
            return "field " + path + " : null (expected: a value)";
        }
        if (e instanceof InvalidFormatException ife) {
            return "field " + path + " : " + quote(ife.getValue()) + " (expected: " + typeName(ife.getTargetType()) + ")";
        }
        if (e instanceof MismatchedInputException mie && mie.getTargetType() != null) {
            return "field " + path + " : " + (found == null ? "wrong type" : abbreviate(found.toString()))
                    + " (expected: " + typeName(mie.getTargetType()) + ")";
        }
        return "field " + path + " : " + msg;
    }

    private static String typeName(Class<?> t) {
        if (t == int.class || t == Integer.class || t == long.class || t == Long.class) {
            return "an integer";
        }
        if (t == String.class) {
            return "a string";
        }
        if (com.fasterxml.jackson.databind.node.ObjectNode.class.isAssignableFrom(t) || java.util.Map.class.isAssignableFrom(t)
                || t.isRecord()) {
            return "a JSON object";
        }
        if (java.util.List.class.isAssignableFrom(t)) {
            return "a JSON array";
        }
        return t.getSimpleName();
    }

    private static String quote(Object v) {
        return v instanceof String s ? "\"" + s + "\"" : String.valueOf(v);
    }

    private static String abbreviate(String s) {
        return s.length() > 60 ? s.substring(0, 60) + "..." : s;
    }

    private static String firstLine(String s) {
        return s == null ? "" : s.strip().lines().findFirst().orElse("");
    }
}
