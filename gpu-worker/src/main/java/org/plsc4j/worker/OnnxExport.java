package org.plsc4j.worker;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.plsc4j.worker.internal.OnnxGraphTranslator;
import org.plsc4j.worker.internal.SameDiffBackbone;
import org.plsc4j.worker.internal.SameDiffInferenceModel;

/**
 * Writes an inference model as ONNX ({@code model.onnx}), the format ONNX Runtime, Triton,
 * TensorRT, OpenVINO and DJL load, so a backbone trained here can be deployed outside ND4J.
 *
 * <p>The ONNX graph is a translation of the SameDiff inference graph, op by op, so it covers the
 * built-in backbones and any custom {@link BaseModel} whose ops have an ONNX mapping; the first op
 * without one fails the export with an {@link OnnxExportException} naming it. Everything that does
 * not depend on the input image (batch-norm scale and shift from the running statistics, reshaped
 * parameters, PReLU's {@code 1 − α}) is evaluated once by SameDiff and stored as initializers, so
 * inference batch norm becomes one {@code Mul} and one {@code Add} per layer. Convolution weights
 * are transposed from SameDiff's [kH, kW, in, out] to ONNX's [out, in, kH, kW].
 *
 * <p>The ONNX model has one input {@code input} [batch, C, H, W] (float32 for FLOAT models, a
 * dynamic batch dimension named {@code batch}) and one output {@code embedding} [batch, D]. The
 * input is the same preprocessed image as for the SameDiff graph: normalisation is <em>not</em>
 * folded in (see {@code normalization} in the export's {@code model.json}).
 */
public final class OnnxExport {

    /** The ONNX file inside an exported model directory. */
    public static final String ONNX_FILE = "model.onnx";
    /** The ONNX operator set the graph uses. */
    public static final int OPSET = OnnxGraphTranslator.OPSET;

    private OnnxExport() {
    }

    /**
     * The serialized ONNX {@code ModelProto} of {@code model}'s inference graph.
     *
     * @throws OnnxExportException naming the first op without an ONNX mapping
     */
    public static byte[] toBytes(InferenceModel model) {
        long[] outShape = model instanceof SameDiffInferenceModel s ? new long[] {-1, s.config().embSize()}
                : new long[] {-1, -1};
        return OnnxGraphTranslator.translate(model.graph(), SameDiffBackbone.INPUT, SameDiffBackbone.EMBEDDING,
                outShape).toByteArray();
    }

    /**
     * Writes {@link #ONNX_FILE} into {@code dir} (created if absent), through a temporary file, and
     * returns its path.
     *
     * @throws OnnxExportException naming the first op without an ONNX mapping (nothing is written)
     */
    public static Path write(InferenceModel model, Path dir) throws IOException {
        byte[] bytes = toBytes(model);
        Files.createDirectories(dir);
        Path file = dir.resolve(ONNX_FILE);
        Path tmp = dir.resolve(ONNX_FILE + ".tmp");
        Files.write(tmp, bytes);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return file;
    }
}
