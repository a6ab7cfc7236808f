package org.plsc4j.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.plsc4j.core.TrainConfig;
import org.plsc4j.core.TrainConfigs;
import org.slf4j.LoggerFactory;

/**
 * The learning-rate schedule a PLSC job file trains with here is PLSC's. Each test quotes the PLSC line
 * it follows: the seed README (000, "备注：set_warmup_epochs和set_image_num函数的附加说明") and PLSC's
 * {@code Entry._get_optimizer}.
 */
class PlscScheduleTest {

    private static TrainConfig job(Map<String, ?> keys) {
        return TrainConfigs.bind(TrainConfigs.merged(keys), "test");
    }

    /**
     * "为了实现warmup过程，我们需要根据训练数据集中图像的数量计算每轮的训练步数" (the warmup needs the steps per
     * epoch from the number of training images); PLSC: {@code images_per_trainer =
     * int(math.ceil(train_image_num * 1.0 / self.num_trainers))}, {@code steps_per_pass =
     * int(math.ceil(images_per_trainer * 1.0 / self.train_batch_size))}, {@code warmup_steps = steps_per_pass
     * * self.warmup_epochs}.
     */
    @Test
    void trainImageNumDrivesStepsPerEpochAndTheWarmupLength() {
        // PLSC's defaults on 8 GPUs x 128: ceil(ceil(5822653 / 8) / 128) = 5687 steps per epoch
        TrainConfig plsc = job(Map.of("train_image_num", 5_822_653, "batch_size_per_worker", 128, "warmup_epochs", 2));
        TrainConfig on8 = TrainConfigs.withWorkers(plsc, 8);
        assertEquals(1024, on8.trainBatchSize());
        assertEquals(LrSchedule.plscStepsPerEpoch(5_822_653, 8, 128), LrSchedule.stepsPerEpoch(5_822_653, 1024));
        LrSchedule s = LrSchedule.forJob(on8, 1000);
        assertEquals(2 * 5687, s.warmupSteps(), "train_image_num, not the data set's 1000 images");
        // unset: the data set's size
        LrSchedule own = LrSchedule.forJob(job(Map.of("train_batch_size", 100, "warmup_epochs", 3)), 1001);
        assertEquals(3 * 11, own.warmupSteps());
    }

    /** README: "train_image_num ... a mismatch is logged": the warning names the key, both sizes and the effect. */
    @Test
    void aTrainImageNumOtherThanTheDataSetsSizeIsLogged() {
        TrainConfig cfg = job(Map.of("train_image_num", 5000, "train_batch_size", 100, "dataset_dir", "/data/x"));
        assertNull(LrSchedule.trainImageNumMismatch(cfg, 5000));
        assertNull(LrSchedule.trainImageNumMismatch(job(Map.of()), 5000), "unset: nothing to compare");
        Logger log = (Logger) LoggerFactory.getLogger(LrSchedule.class);
        ListAppender<ILoggingEvent> capture = new ListAppender<>();
        capture.start();
        log.addAppender(capture);
        try {
            LrSchedule.forJob(cfg, 1234);
        } finally {
            log.detachAppender(capture);
        }
        List<ILoggingEvent> warnings = capture.list.stream().filter(e -> e.getLevel() == Level.WARN).toList();
        assertEquals(1, warnings.size(), String.valueOf(capture.list));
        assertEquals("train_image_num : 5000 (the data set in /data/x has 1234 images; as in PLSC, train_image_num"
                + " sets the LR schedule's steps per epoch (50 instead of 13) and so the warmup length; an epoch still"
                + " reads the whole data set)", warnings.get(0).getFormattedMessage());
    }

    /**
     * "在最初的warmup_epochs轮训练中，学习率有一个较小的值逐步增长到初始学习率" (the rate grows from a smaller value to
     * the initial rate); PLSC: {@code lr_warmup(fluid.layers.piecewise_decay(boundaries=bd, values=lr),
     * warmup_steps, start_lr, base_lr)} with {@code start_lr = self.lr} and {@code decayed_lr = start_lr +
     * linear_step * (global_step / float(warmup_steps))}: linear per step from the unscaled lr.
     */
    @Test
    void warmupStartsAtTheUnscaledLrAndIsLinearPerStep() {
        // lr 0.1, global batch 2048: base 0.2; 1000 images / 2048 = 1 step per epoch... use 10000 images: 5 steps
        TrainConfig cfg = job(Map.of("lr", 0.1, "train_batch_size", 2048, "warmup_epochs", 2,
                "train_image_num", 10_000, "lr_steps", List.of(100_000)));
        LrSchedule s = LrSchedule.forJob(cfg, 10_000);
        assertEquals(10, s.warmupSteps());
        for (int step = 0; step < 10; step++) {
            assertEquals(0.1 + (0.2 - 0.1) * step / 10.0, s.lr(step), 1e-15, "step " + step);
        }
        assertEquals(0.2, s.lr(10), 1e-15);
    }

    /**
     * lr_steps "学习率衰减的步数" (steps where the rate decays): PLSC's {@code piecewise_decay} reads the same
     * global step counter as the warmup ({@code with switch.case(global_step < warmup_steps)} ... default
     * {@code learning_rate}), so the boundaries are optimizer steps from 0, warmup included; values
     * {@code lr = [base_lr * (0.1 ** i) for i in range(len(bd) + 1)]}.
     */
    @Test
    void lrStepsAreOptimizerStepsFromZeroWarmupIncluded() {
        TrainConfig cfg = job(Map.of("lr", 0.1, "train_batch_size", 1024, "warmup_epochs", 1,
                "train_image_num", 10_240, "lr_steps", List.of(15, 25)));
        LrSchedule s = LrSchedule.forJob(cfg, 10_240);
        assertEquals(10, s.warmupSteps());
        assertEquals(0.1, s.lr(14), 1e-15);
        assertEquals(0.01, s.lr(15), 1e-15, "15 optimizer steps after step 0, not after the warmup");
        assertEquals(0.01, s.lr(24), 1e-15);
        assertEquals(0.001, s.lr(25), 1e-15);
    }

    /**
     * "当训练过程中总的batch size不等于1024时，需要根据batch size调整初始学习率的大小，即：lr = total_batch_size /
     * 1024 * lr" and "当使用8张GPU时，每张GPU卡上的batch size为128": PLSC's per-GPU batch, via
     * batch_size_per_worker, gives the same global batch and so the same schedule as train_batch_size.
     */
    @Test
    void batchSizePerWorkerGivesPlscsScheduleForTheSameEffectiveBatch() {
        TrainConfig perWorker = TrainConfigs.withWorkers(job(Map.of("batch_size_per_worker", 64, "lr", 0.1,
                "warmup_epochs", 1, "train_image_num", 100_000)), 4);
        TrainConfig global = job(Map.of("train_batch_size", 256, "lr", 0.1, "warmup_epochs", 1,
                "train_image_num", 100_000));
        assertEquals(256, perWorker.trainBatchSize());
        assertEquals(0.1 * 256 / 1024, perWorker.baseLr(), 1e-17);
        LrSchedule a = LrSchedule.forJob(perWorker, 100_000);
        LrSchedule b = LrSchedule.forJob(global, 100_000);
        assertEquals(b, a);
        // PLSC on 4 GPUs x 64: ceil(ceil(100000 / 4) / 64) = 391 steps per epoch
        assertEquals(LrSchedule.plscStepsPerEpoch(100_000, 4, 64), a.warmupSteps());
        assertTrue(TrainConfigs.withWorkers(global, 4) == global, "without batch_size_per_worker the global batch stays");
    }
}
