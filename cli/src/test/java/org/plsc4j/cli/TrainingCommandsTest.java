package org.plsc4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.data.ImagePreprocessor;
import org.plsc4j.data.ImageShape;
import org.plsc4j.serving.EmbeddingClient;
import org.plsc4j.serving.EmbeddingServer;
import org.plsc4j.worker.Backbones;

/**
 * gen-data → train (YAML + --set, 2 worker processes) → export → test → serve, and the demo with tiny
 * settings: the README's path through the CLI, in-process.
 */
class TrainingCommandsTest {



    @Test
    void genDataTrainExportTest(@TempDir Path dir) throws Exception {
        Path data = dir.resolve("data");
        CliRun g = CliRun.of("gen-data", "--out", data.toString(), "--classes", "20", "--per-class", "6", "--image-size", "16",
                "--pairs", "60");
        assertEquals(0, g.code(), g.err());
        Path job = dir.resolve("job.yaml");
        Files.writeString(job, String.join("\n",
                "dataset_dir: " + data,
                "model_save_dir: " + dir.resolve("out"),
                "num_classes: 20",
                "emb_size: 16",
                "image_shape: [3, 16, 16]",
                "model_name: mlp",
                "train_batch_size: 12",
                "train_epochs: 1",
                "val_targets: synth",
                "lr: 0.1",
                "scale_lr_by_batch: false",
                ""));
        CliRun t = CliRun.of("train", "--config", job.toString(), "--set", "scale=16", "--workers", "2");
        assertEquals(0, t.code(), t.err());
        assertTrue(t.out().startsWith("trained: checkpoint " + dir.resolve("out").resolve("0")), t.out());
        JsonNode manifest = new ObjectMapper().readTree(dir.resolve("out/0/manifest.json").toFile());
        assertEquals(16.0, manifest.get("config").get("scale").asDouble(), "--set reached the workers");
        assertEquals(2, manifest.get("world_size").asInt());

        CliRun e = CliRun.of("export", "--checkpoint-dir", dir.resolve("out").toString(), "--out", dir.resolve("inf").toString(),
                "--format", "onnx");
        assertEquals(0, e.code(), e.err());
        assertTrue(Files.size(dir.resolve("inf/model.onnx")) > 3 * 16 * 16 * 128 * 4, "model.onnx holds the weights");
        JsonNode exported = new ObjectMapper().readTree(dir.resolve("inf/model.json").toFile());
        assertEquals("[\"samediff\",\"onnx\"]", exported.get("formats").toString());
        assertEquals("[\"batch\",3,16,16]", exported.get("onnx").get("input_shape").toString());
        CliRun badFormat = CliRun.of("export", "--checkpoint-dir", dir.resolve("out").toString(), "--out",
                dir.resolve("inf2").toString(), "--format", "tflite");
        assertEquals(Main.EXIT_FAILURE, badFormat.code());
        assertTrue(badFormat.err().contains("format : tflite (expected: samediff or onnx)"), badFormat.err());
        CliRun test = CliRun.of("test", "--config", job.toString(), "--checkpoint-dir", dir.resolve("inf").toString(), "--json");
        assertEquals(0, test.code(), test.err());
        JsonNode r = new ObjectMapper().readTree(test.out()).get("synth");
        assertEquals(60, r.get("pairs").asInt());
        assertTrue(r.get("accuracy").asDouble() > 0.5, test.out());

        // the export served over HTTP gives what the exported model gives in-process
        byte[] jpeg = Files.readAllBytes(data.resolve("images/00000000.jpg"));
        float[] chw = new float[3 * 16 * 16];
        new ImagePreprocessor(ImageShape.square(16)).toChw(jpeg, "image 0", false, chw, 0);
        float[] expected = Backbones.loadInference(dir.resolve("inf"))
                .embed(Nd4j.create(chw, new long[] {1, 3, 16, 16}, DataType.FLOAT)).toFloatVector();
        try (EmbeddingServer server = EmbeddingServer.builder().withModel(dir.resolve("inf")).build();
                EmbeddingClient client = EmbeddingClient.connect("127.0.0.1:" + server.start(0))) {
            float[] served = client.encode(List.of(jpeg), false)[0];
            assertEquals(expected.length, served.length);
            for (int i = 0; i < served.length; i++) {
                assertEquals(expected[i], served[i], 1e-6, "embedding[" + i + "]");
            }
        }

        CliRun bad = CliRun.of("train", "--config", job.toString(), "--set", "num_clases=3");
        assertEquals(Main.EXIT_FAILURE, bad.code());
        assertTrue(bad.err().contains("unknown key 'num_clases'"), bad.err());
    }

    @Test
    void demoRunsWithTinySettings(@TempDir Path dir) {
        CliRun d = CliRun.of("demo", "--out", dir.toString(), "--classes", "30", "--per-class", "4", "--image-size", "16",
                "--pairs", "40", "--epochs", "1", "--workers", "2");
        assertEquals(0, d.code(), d.err());
        assertTrue(d.out().contains("verification (synth.bin, 40 pairs): accuracy"), d.out());
        assertTrue(Files.isRegularFile(dir.resolve("output/metrics.jsonl")));
        assertTrue(Files.isRegularFile(dir.resolve("inference/model.json")));
    }
}
