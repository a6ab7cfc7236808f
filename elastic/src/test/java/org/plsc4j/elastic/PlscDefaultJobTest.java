package org.plsc4j.elastic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.plsc4j.checkpoint.Checkpoint;
import org.plsc4j.core.TrainConfig;
import org.plsc4j.core.TrainConfigs;
import org.plsc4j.data.DatasetGenerator;
import org.plsc4j.data.GeneratorOptions;
import org.plsc4j.worker.Backbone;
import org.plsc4j.worker.BackboneConfig;
import org.plsc4j.worker.Backbones;
import org.plsc4j.worker.Trainer;
import org.plsc4j.worker.internal.NativeResNetBackbone;
import org.slf4j.LoggerFactory;

/**
 * PLSC's default job (ResNet50 on the native engine, global batch 128, every key at its default) at
 * a CI-sized image: one epoch of a generated set on one and on two workers, the global batch in
 * micro-batches of 32. The 112×112 job takes minutes per run and is measured in BENCHMARKS.md
 * ("PLSC-default job on the native engine"); this keeps the same path (data, micro-batch split and
 * recompute, sharded FC, all-reduce of the backbone's gradients, checkpoint) in CI, and checks
 * that the step ran split (4 micro-batches of 32 on one worker, 2 per rank on two).
 */
class PlscDefaultJobTest {

    private static final int CLASSES = 50;
    /** 8 → 4 → 2 → 1 → 1 through the four stride-2 stages: every layer runs, at the least cost. */
    private static final int SIZE = 8;

    @TempDir
    static Path dir;
    static Path data;

    @BeforeAll
    static void generate() throws Exception {
        data = dir.resolve("data");
        // 150 images: one global batch of 128 per epoch (the 22 left over do not form one)
        DatasetGenerator.generate(GeneratorOptions.of(data, CLASSES, 3).withImageSize(SIZE).withSeed(3));
    }

    private static TrainConfig config(String name) {
        Map<String, Object> m = new java.util.HashMap<>(Map.of(
                "dataset_dir", data.toString(),
                "model_save_dir", dir.resolve(name).toString(),
                "num_classes", CLASSES,
                "image_shape", List.of(3, SIZE, SIZE),
                "micro_batch_size", 32,
                "train_epochs", 1,
                "with_test", false,
                "log_period", 1));
        return TrainConfigs.bind(TrainConfigs.merged(m), "test");
    }

    @Test
    void resNet50GlobalBatch128TrainsAnEpochOnOneAndTwoWorkers() throws Exception {
        TrainConfig one = config("one");
        assertEquals("ResNet50", one.modelName());
        assertEquals(128, one.trainBatchSize());
        assertEquals(512, one.embSize());
        Backbone fresh = Backbones.create(one.modelName(), BackboneConfig.of(512, 3, SIZE, SIZE, 1));
        assertInstanceOf(NativeResNetBackbone.class, fresh, "the default engine");
        // the checkpoint's backbone: parameters and batch-norm running statistics
        long expectedParams = fresh.parameters().values().stream().mapToLong(INDArray::length).sum()
                + fresh.state().values().stream().mapToLong(INDArray::length).sum();
        Map<String, INDArray> initial = null;
        for (int workers = 1; workers <= 2; workers++) {
            String what = workers + " worker(s)";
            Trainer.Summary s;
            // rank 0 logs the micro-batch plan every rank agreed on
            Logger log = (Logger) LoggerFactory.getLogger("org.plsc4j.worker.TrainingStep");
            Level level = log.getLevel();
            ListAppender<ILoggingEvent> capture = new ListAppender<>();
            capture.start();
            log.setLevel(Level.INFO);
            log.addAppender(capture);
            try {
                s = ThreadRanks.run(config(workers == 1 ? "one" : "two"), workers);
            } finally {
                log.detachAppender(capture);
                log.setLevel(level);
            }
            List<String> plans = capture.list.stream().map(ILoggingEvent::getFormattedMessage)
                    .filter(m -> m.startsWith("micro-batches: ")).toList();
            int local = 128 / workers;
            assertEquals(1, plans.size(), what + ": " + plans);
            assertTrue(plans.get(0).startsWith("micro-batches: micro_batch_size: 32 of " + local
                    + " local images per micro-batch (" + local / 32 + " per step;"), what + ": " + plans.get(0));
            assertEquals(1, s.losses().size(), what + ": one step per epoch");
            double loss = s.losses().get(0);
            // arcface logits of scale 64 at initialisation: far above ln(50) = 3.9, but finite
            assertTrue(Double.isFinite(loss) && loss > Math.log(CLASSES), what + ": loss " + loss);
            Checkpoint c = Checkpoint.open(s.lastCheckpoint());
            Map<String, INDArray> backbone = c.readBackbone();
            long params = backbone.values().stream().mapToLong(INDArray::length).sum();
            assertEquals(expectedParams, params, what + ": backbone values");
            if (initial == null) {
                initial = backbone;
            } else {
                assertEquals(initial.keySet(), backbone.keySet());
            }
            for (Map.Entry<String, INDArray> e : backbone.entrySet()) {
                assertTrue(Double.isFinite(e.getValue().sumNumber().doubleValue()), what + ": " + e.getKey());
            }
        }
    }
}
