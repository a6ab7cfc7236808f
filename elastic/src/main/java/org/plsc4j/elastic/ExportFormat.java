package org.plsc4j.elastic;

import java.util.Locale;

/**
 * What an export writes besides {@code model.json}: the SameDiff graph only (ND4J readers: {@code
 * plsc4j test}, the SameDiff serving engine), or that plus {@code model.onnx} for ONNX Runtime,
 * Triton, TensorRT, OpenVINO, DJL.
 */
public enum ExportFormat {
    /** {@code model.fb} + {@code model.properties}. */
    SAMEDIFF,
    /** {@code model.fb} + {@code model.properties} + {@code model.onnx}. */
    ONNX;

    /**
     * The format called {@code name} (case-insensitive).
     *
     * @throws IllegalArgumentException naming the value and the accepted ones
     */
    public static ExportFormat parse(String name) {
        for (ExportFormat f : values()) {
            if (f.name().equalsIgnoreCase(name)) {
                return f;
            }
        }
        throw new IllegalArgumentException("format : " + name + " (expected: samediff or onnx)");
    }

    /** The lower-case name used on the command line and in model.json. */
    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
