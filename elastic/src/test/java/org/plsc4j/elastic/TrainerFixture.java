package org.plsc4j.elastic;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.plsc4j.core.TrainConfig;
import org.plsc4j.core.TrainConfigs;
import org.plsc4j.data.DatasetGenerator;
import org.plsc4j.data.GeneratorOptions;

/**
 * Writes the committed trainer checkpoint fixture ({@code src/test/resources/fixtures/trainer-v1/0}):
 * one epoch of a tiny mlp job. Kept so the fixture can be understood and remade; the test reads the
 * committed files, so checkpoints written by this version keep loading in later ones.
 * Run: {@code java -cp <test class path> org.plsc4j.elastic.TrainerFixture <out-dir>}.
 */
public final class TrainerFixture {

    private TrainerFixture() {
    }

    /** The data set the fixture was trained on (the generator is deterministic). */
    static Path data(Path dir) throws Exception {
        Path data = dir.resolve("fixture-data");
        DatasetGenerator.generate(GeneratorOptions.of(data, 10, 4).withImageSize(8).withPairs(10).withSeed(21));
        return data;
    }

    /** The fixture's job. */
    static TrainConfig config(Path data, Path save, String checkpoint, int epochs) {
        return TrainConfigs.bind(TrainConfigs.merged(Map.ofEntries(
                Map.entry("dataset_dir", data.toString()), Map.entry("model_save_dir", save.toString()),
                Map.entry("checkpoint_dir", checkpoint), Map.entry("num_classes", 10), Map.entry("emb_size", 8),
                Map.entry("image_shape", List.of(3, 8, 8)), Map.entry("model_name", "mlp"),
                Map.entry("train_batch_size", 8), Map.entry("train_epochs", epochs), Map.entry("with_test", false),
                Map.entry("scale", 8.0), Map.entry("lr", 0.1), Map.entry("scale_lr_by_batch", false),
                Map.entry("seed", 21))), "fixture");
    }

    /** Writes the fixture into {@code args[0]} (its checkpoint is {@code args[0]/0}). */
    public static void main(String[] args) throws Exception {
        Path out = Path.of(args[0]);
        Path tmp = java.nio.file.Files.createTempDirectory("fixture");
        Jobs.trainInProcess(config(data(tmp), out, "", 1), null, null);
    }
}
