package org.plsc4j.elastic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.plsc4j.checkpoint.Checkpoint;
import org.plsc4j.core.TrainConfig;
import org.plsc4j.core.TrainConfigs;
import org.plsc4j.data.DatasetGenerator;
import org.plsc4j.data.GeneratorOptions;
import org.plsc4j.worker.Trainer;

/**
 * PLSC's {@code dist_softmax} (plain FC with a bias sharded with the weight rows) through the trainer:
 * the loss curve does not depend on the worker count, and a warm start on another worker count from a
 * checkpoint continues the same run (the bias and its momentum are saved per shard and re-partitioned).
 */
class PlainSoftmaxTrainingTest {

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

    static TrainConfig config(Path save, String checkpoint, int epochs) {
        Map<String, Object> m = TrainerInvarianceTest.tinyMlp(data, save, epochs);
        m.put("loss_type", "dist_softmax");
        m.put("checkpoint_dir", checkpoint);
        return TrainConfigs.bind(TrainConfigs.merged(m), "test");
    }

    @Test
    void distSoftmaxLearnsTheSameCurveOnAnyWorkerCountAndResumesFromItsBias() throws Exception {
        Trainer.Summary full = ThreadRanks.run(config(dir.resolve("full"), "", 2), 1);
        assertEquals(2 * EPOCH, full.losses().size());
        assertTrue(full.losses().get(2 * EPOCH - 1) < 0.8 * full.losses().get(0), "it learns: " + full.losses());
        Trainer.Summary two = ThreadRanks.run(config(dir.resolve("two"), "", 2), 2);
        TrainerInvarianceTest.assertSameCurve(full.losses(), two.losses(), "2 workers vs 1");
        Checkpoint ck = Checkpoint.open(dir.resolve("two").resolve("0"));
        assertTrue(ck.hasFcBias(), "the checkpoint carries the bias");
        assertTrue(ck.readFcBias(0, 30, false).norm2Number().doubleValue() > 0, "a trained bias");
        // epoch 1 on 3 workers from the 2-worker checkpoint of epoch 0 continues the 1-worker run
        Trainer.Summary resumed = ThreadRanks.run(config(dir.resolve("resumed"),
                dir.resolve("two").resolve("0").toString(), 2), 3);
        assertEquals(EPOCH, resumed.firstStep());
        TrainerInvarianceTest.assertSameCurve(full.losses().subList(EPOCH, 2 * EPOCH), resumed.losses(),
                "resumed 2 -> 3 workers");
    }
}
