package org.plsc4j.worker;

/**
 * Thrown when an inference graph cannot be written as ONNX, typically because a custom
 * {@link BaseModel} uses an op that has no ONNX mapping: the message names the first such op, the
 * variable it produces and what is supported, so the model can be changed (or the SameDiff format
 * kept).
 */
public final class OnnxExportException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    private final String opName;
    private final String output;

    /** A failure at the op {@code opName} producing {@code output} (both may be null for graph-level problems). */
    public OnnxExportException(String message, String opName, String output) {
        super(message);
        this.opName = opName;
        this.output = output;
    }

    /** The SameDiff op name (e.g. {@code "maxpool2d"}) that could not be mapped, or null. */
    public String opName() {
        return opName;
    }

    /** The graph variable that op produces, or null. */
    public String output() {
        return output;
    }
}
