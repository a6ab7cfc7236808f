package org.plsc4j.elastic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.plsc4j.core.TrainConfig;
import org.plsc4j.core.TrainConfigs;
import org.plsc4j.data.DatasetGenerator;
import org.plsc4j.data.GeneratorOptions;
import org.plsc4j.worker.Trainer;

/**
 * The invariants the design promises: the loss curve does not depend on the worker count, and a
 * warm start with another worker count continues exactly where the old run was.
 */
class TrainerInvarianceTest {

    /** Steps per epoch: 30 classes x 10 training images over a global batch of 12. */
    static final int EPOCH = 25;

    @TempDir
    static Path dir;
    static Path data;

    @BeforeAll
    static void generate() throws Exception {
        data = dir.resolve("data");
        DatasetGenerator.generate(GeneratorOptions.of(data, 30, 10).withImageSize(16).withPairs(20).withSeed(7));
    }

    /** mlp (no batch statistics), a global batch of 12: 25 steps per epoch of the 300 samples. */
    static TrainConfig config(Path save, String checkpoint, int epochs) {
        Map<String, Object> m = tinyMlp(data, save, epochs);
        m.put("checkpoint_dir", checkpoint);
        return TrainConfigs.bind(TrainConfigs.merged(m), "test");
    }

    /**
     * The settings of the tiny mlp job the elastic tests compare curves with (30 classes, emb 16,
     * global batch 12, seed 11), as a mutable map for a test's own additions.
     */
    static Map<String, Object> tinyMlp(Path data, Path save, int epochs) {
        return new java.util.HashMap<>(Map.ofEntries(
                Map.entry("dataset_dir", data.toString()),
                Map.entry("model_save_dir", save.toString()),
                Map.entry("num_classes", 30),
                Map.entry("emb_size", 16),
                Map.entry("image_shape", List.of(3, 16, 16)),
                Map.entry("model_name", "mlp"),
                Map.entry("train_batch_size", 12),
                Map.entry("train_epochs", epochs),
                Map.entry("lr", 0.05),
                Map.entry("scale_lr_by_batch", false),
                Map.entry("lr_steps", List.of(15)),
                Map.entry("loss_type", "dist_arcface"),
                Map.entry("scale", 16.0),
                Map.entry("with_test", false),
                Map.entry("log_period", 5),
                Map.entry("seed", 11)));
    }

    static Trainer.Summary run(TrainConfig cfg, int n) throws Exception {
        return ThreadRanks.run(cfg, n);
    }

    static void assertSameCurve(List<Double> expected, List<Double> actual, String what) {
        assertEquals(expected.size(), actual.size(), what + ": steps");
        for (int i = 0; i < expected.size(); i++) {
            double e = expected.get(i);
            double a = actual.get(i);
            assertTrue(Math.abs(e - a) <= 1e-4 * Math.max(1, Math.abs(e)), what + ": step " + i + " loss " + a
                    + " (expected " + e + ")");
        }
    }

    @Test
    void lossCurveDoesNotDependOnTheWorkerCount() throws Exception {
        Trainer.Summary one = run(config(dir.resolve("w1"), "", 2), 1);
        assertEquals(2 * EPOCH, one.losses().size());
        assertTrue(one.losses().get(2 * EPOCH - 1) < one.losses().get(0), "it learns: " + one.losses());
        for (int n : new int[] {2, 3}) {
            Trainer.Summary many = run(config(dir.resolve("w" + n), "", 2), n);
            assertSameCurve(one.losses(), many.losses(), n + " workers vs 1");
        }
    }

    @Test
    void warmStartWithAnotherWorkerCountContinuesTheSameRun() throws Exception {
        // the reference: 2 epochs on 2 workers; then epoch 0 alone on 2 (3) workers, resumed on 3 (2)
        Trainer.Summary full = run(config(dir.resolve("full"), "", 2), 2);
        for (int[] nm : new int[][] {{2, 3}, {3, 2}}) {
            Path first = dir.resolve("first-" + nm[0] + "-" + nm[1]);
            Trainer.Summary a = run(config(first, "", 1), nm[0]);
            assertSameCurve(full.losses().subList(0, EPOCH), a.losses(), "epoch 0 on " + nm[0]);
            Trainer.Summary b = run(config(dir.resolve("second-" + nm[0] + "-" + nm[1]), first.resolve("0").toString(), 2),
                    nm[1]);
            assertEquals(EPOCH, b.firstStep());
            assertSameCurve(full.losses().subList(EPOCH, 2 * EPOCH), b.losses(), "resumed " + nm[0] + " -> " + nm[1]);
        }
    }
}
