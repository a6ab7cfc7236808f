package org.plsc4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * gen-data → train (YAML + --set, 2 worker processes) → export → test, and the demo with tiny
 * settings: the README's path through the CLI, in-process.
 */
class TrainingCommandsTest {

    private record Run(int code, String out, String err) {
    }

    private static Run run(String... args) {
        CommandLine cl = Main.newCommandLine(false);
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void genDataTrainExportTest(@TempDir Path dir) throws Exception {
        Path data = dir.resolve("data");
        Run g = run("gen-data", "--out", data.toString(), "--classes", "20", "--per-class", "6", "--image-size", "16",
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
        Run t = run("train", "--config", job.toString(), "--set", "scale=16", "--workers", "2");
        assertEquals(0, t.code(), t.err());
        assertTrue(t.out().startsWith("trained: checkpoint " + dir.resolve("out").resolve("0")), t.out());
        JsonNode manifest = new ObjectMapper().readTree(dir.resolve("out/0/manifest.json").toFile());
        assertEquals(16.0, manifest.get("config").get("scale").asDouble(), "--set reached the workers");
        assertEquals(2, manifest.get("world_size").asInt());

        Run e = run("export", "--checkpoint-dir", dir.resolve("out").toString(), "--out", dir.resolve("inf").toString());
        assertEquals(0, e.code(), e.err());
        Run test = run("test", "--config", job.toString(), "--checkpoint-dir", dir.resolve("inf").toString(), "--json");
        assertEquals(0, test.code(), test.err());
        JsonNode r = new ObjectMapper().readTree(test.out()).get("synth");
        assertEquals(60, r.get("pairs").asInt());
        assertTrue(r.get("accuracy").asDouble() > 0.5, test.out());

        Run bad = run("train", "--config", job.toString(), "--set", "num_clases=3");
        assertEquals(Main.EXIT_FAILURE, bad.code());
        assertTrue(bad.err().contains("unknown key 'num_clases'"), bad.err());
    }

    @Test
    void demoRunsWithTinySettings(@TempDir Path dir) {
        Run d = run("demo", "--out", dir.toString(), "--classes", "30", "--per-class", "4", "--image-size", "16",
                "--pairs", "40", "--epochs", "1", "--workers", "2");
        assertEquals(0, d.code(), d.err());
        assertTrue(d.out().contains("verification (synth.bin, 40 pairs): accuracy"), d.out());
        assertTrue(Files.isRegularFile(dir.resolve("output/metrics.jsonl")));
        assertTrue(Files.isRegularFile(dir.resolve("inference/model.json")));
    }
}
