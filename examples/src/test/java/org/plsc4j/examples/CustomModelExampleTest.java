package org.plsc4j.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.data.ImagePreprocessor;
import org.plsc4j.data.ImageShape;
import org.plsc4j.worker.Backbones;
import org.plsc4j.worker.MetricsLog;

/**
 * The custom-model example runs in CI with tiny settings, on two worker processes, and learns; its
 * ONNX export, run by ONNX Runtime on the data set's images preprocessed as {@code model.json}
 * says, gives plsc4j's embeddings (max |Δ| ≤ 1e-4 after L2 normalisation).
 */
class CustomModelExampleTest {

    @Test
    void trainsTheCustomBackboneOnTwoWorkersAndVerifiesAboveChance(@TempDir Path dir) throws Exception {
        Map<String, MetricsLog.EvalResult> r = CustomModelExample.run(dir, 24, 6, 2, 2);
        assertTrue(r.get("synth").accuracy() > 0.6, "verification accuracy " + r.get("synth").accuracy());

        Path inf = dir.resolve("output/inference");
        JsonNode meta = new ObjectMapper().readTree(inf.resolve("model.json").toFile());
        assertEquals("model.onnx", meta.get("onnx").get("file").asText());
        assertTrue(!meta.get("onnx").get("normalization_folded").asBoolean(), meta.toString());
        int n = 4;
        ImagePreprocessor pre = new ImagePreprocessor(ImageShape.square(32));
        float[] chw = new float[n * 3 * 32 * 32];
        try (var files = Files.list(dir.resolve("data/images"))) {
            var jpegs = files.sorted().limit(n).toList();
            for (int i = 0; i < n; i++) {
                pre.toChw(Files.readAllBytes(jpegs.get(i)), jpegs.get(i).toString(), false, chw, i * 3 * 32 * 32);
            }
        }
        long[] shape = {n, 3, 32, 32};
        float[][] expected = Backbones.loadInference(inf).embed(Nd4j.create(chw, shape, DataType.FLOAT))
                .toFloatMatrix();
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        float[][] actual;
        try (OrtSession s = env.createSession(inf.resolve("model.onnx").toString(), new OrtSession.SessionOptions());
             OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(chw), shape);
             OrtSession.Result out = s.run(Map.of("input", x))) {
            actual = (float[][]) out.get("embedding").orElseThrow().getValue();
        }
        assertEquals(n, actual.length);
        for (int i = 0; i < n; i++) {
            double ne = norm(expected[i]);
            double na = norm(actual[i]);
            for (int j = 0; j < expected[i].length; j++) {
                assertEquals(expected[i][j] / ne, actual[i][j] / na, 1e-4, "image " + i + " embedding[" + j + "]");
            }
        }
    }

    private static double norm(float[] v) {
        double s = 0;
        for (float x : v) {
            s += (double) x * x;
        }
        return Math.sqrt(s);
    }
}
