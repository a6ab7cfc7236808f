package org.plsc4j.worker;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.checkpoint.Checkpoint;
import org.plsc4j.core.PartialFc;
import org.plsc4j.core.TrainConfig;
import org.plsc4j.core.TrainConfigs;
import org.plsc4j.core.collective.Collective;
import org.plsc4j.core.collective.CollectiveConfig;
import org.plsc4j.core.collective.Collectives;

/**
 * A trainer's checkpoint of PLSC's plain softmax carries the bias and its momentum and a warm start
 * restores them bit for bit; a checkpoint without a bias (a margin loss's, or any older one) still
 * warm-starts a softmax job, whose bias then starts at 0 (Paddle's default bias initialiser).
 */
class CheckpointIoBiasTest {

    @TempDir
    Path dir;

    private TrainConfig job(String lossType) {
        return TrainConfigs.bind(TrainConfigs.merged(Map.of("num_classes", 10, "emb_size", 8, "image_shape",
                List.of(3, 8, 8), "model_name", "mlp", "loss_type", lossType, "model_save_dir",
                dir.resolve("out").toString(), "seed", 4)), "test");
    }

    private static Backbone backbone(TrainConfig cfg) {
        return Backbones.create(cfg.modelName(), BackboneConfig.of(cfg.embSize(), 3, 8, 8, cfg.seed()));
    }

    @Test
    void theBiasRoundTripsAndABiaslessCheckpointStartsItAtZero() throws Exception {
        TrainConfig softmax = job("softmax");
        try (Collective c = Collectives.join("inprocess", CollectiveConfig.builder().jobId("ckio-" + UUID.randomUUID())
                .timeout(Duration.ofSeconds(30)).build())) {
            PartialFc fc = PartialFc.create(softmax.fcConfig(), c);
            fc.step(Nd4j.randn(DataType.FLOAT, 4, 8), new int[] {1, 3, 3, 7}, 0.5, 0);
            assertTrue(fc.bias().norm2Number().doubleValue() > 0);
            Backbone b = backbone(softmax);
            Path saved = CheckpointIo.save(dir.resolve("sm"), 0, 1, "run", softmax, fc, b,
                    new MomentumSgd(0.9, 5e-4), c);
            PartialFc back = PartialFc.create(softmax.fcConfig(), c);
            CheckpointIo.load(Checkpoint.open(saved), softmax, back, backbone(softmax), new MomentumSgd(0.9, 5e-4));
            assertArrayEquals(fc.bias().data().asInt(), back.bias().data().asInt());
            assertArrayEquals(fc.biasMomentum().data().asInt(), back.biasMomentum().data().asInt());
            assertEquals(fc.weights(), back.weights());

            TrainConfig arcface = job("dist_arcface");
            PartialFc cos = PartialFc.create(arcface.fcConfig(), c);
            Path noBias = CheckpointIo.save(dir.resolve("arc"), 0, 1, "run", arcface, cos, backbone(arcface),
                    new MomentumSgd(0.9, 5e-4), c);
            assertFalse(Checkpoint.open(noBias).hasFcBias());
            PartialFc warm = PartialFc.create(softmax.fcConfig(), c);
            warm.loadBias(Nd4j.ones(DataType.FLOAT, 10), Nd4j.ones(DataType.FLOAT, 10));
            CheckpointIo.load(Checkpoint.open(noBias), softmax, warm, backbone(softmax), new MomentumSgd(0.9, 5e-4));
            assertEquals(cos.weights(), warm.weights(), "the weights come from the checkpoint");
            assertEquals(0.0, warm.bias().norm1Number().doubleValue(), 0, "no bias in the checkpoint: 0");
            assertEquals(0.0, warm.biasMomentum().norm1Number().doubleValue(), 0);
        }
    }
}
