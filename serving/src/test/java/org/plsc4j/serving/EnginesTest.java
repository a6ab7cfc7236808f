package org.plsc4j.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.plsc4j.core.TestSeed;
import org.plsc4j.worker.OnnxExport;

/**
 * The same export served by the SameDiff engine and by ONNX Runtime gives the same embeddings
 * (max |Δ| ≤ 1e-4 after L2 normalisation, as the server returns them), batched or not; engine
 * selection errors name the value and the choices.
 */
@ExtendWith(TestSeed.class)
class EnginesTest {

    @Test
    void onnxRuntimeServesWhatSameDiffServes(@TempDir Path tmp) throws Exception {
        Path model = TinyExport.write(tmp.resolve("export"), TestSeed.of("model"));
        List<byte[]> images = TinyExport.images(9, TestSeed.of("images"));
        float[][] reference = TinyExport.reference(model, images, true);
        float[][] sameDiff;
        float[][] ort;
        try (EmbeddingServer a = EmbeddingServer.builder().withModel(model).engine("samediff").build();
             EmbeddingServer b = EmbeddingServer.builder().withModel(model).engine("onnxruntime").build()) {
            int pa = a.start(0);
            int pb = b.start(0);
            try (EmbeddingClient ca = EmbeddingClient.connect("127.0.0.1:" + pa);
                 EmbeddingClient cb = EmbeddingClient.connect("127.0.0.1:" + pb)) {
                sameDiff = ca.encode(images);
                ort = cb.encode(images);
                assertEquals("onnxruntime", cb.model().get("engine").asText());
                assertEquals("samediff", ca.model().get("engine").asText());
            }
        }
        assertClose(reference, sameDiff, 1e-6);
        assertClose(sameDiff, ort, 1e-4);
    }

    @Test
    void onnxRuntimeNeedsModelOnnx(@TempDir Path tmp) throws Exception {
        Path model = TinyExport.write(tmp.resolve("export"), TestSeed.of("model"));
        Files.delete(model.resolve(OnnxExport.ONNX_FILE));
        try (EmbeddingServer s = EmbeddingServer.builder().withModel(model).engine("onnxruntime").build()) {
            NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> s.start(0));
            assertTrue(e.getMessage().contains("engine : onnxruntime (expected: model.onnx in " + model
                    + ", written by plsc4j export --format onnx)"), e.getMessage());
        }
    }

    @Test
    void unknownEnginesAreNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> EmbeddingServer.builder().engine("tensorrt"));
        assertEquals("engine : tensorrt (expected one of [samediff, onnxruntime])", e.getMessage());
        assertEquals(List.of("samediff", "onnxruntime"), Engines.names());
    }

    private static void assertClose(float[][] expected, float[][] actual, double tol) {
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i].length, actual[i].length);
            for (int j = 0; j < expected[i].length; j++) {
                assertEquals(expected[i][j], actual[i][j], tol, "image " + i + " embedding[" + j + "] (seed "
                        + TestSeed.BASE + ")");
            }
        }
    }
}
