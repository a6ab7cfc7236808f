package org.plsc4j.worker;

import java.util.List;
import java.util.Objects;

/**
 * PLSC's learning-rate schedule: piecewise-constant decay with an optional linear warmup, as PLSC's
 * {@code Entry._get_optimizer} sets it up ({@code lr_warmup(fluid.layers.piecewise_decay(boundaries=bd,
 * values=lr), warmup_steps, start_lr, base_lr)}):
 * <pre>
 *   step &lt; warmupSteps:  lr = warmupStartLr + (baseLr − warmupStartLr)·step/warmupSteps
 *   otherwise:           lr = baseLr·decayFactor^k, k = #{ boundaries ≤ step }
 * </pre>
 * PLSC's {@code lr_warmup} switches on one global step counter ({@code global_step < warmup_steps}),
 * and the wrapped {@code piecewise_decay} reads the same counter, so the boundaries ({@code lr_steps},
 * "学习率衰减的步数") count optimizer steps from 0, warmup included; a step equal to a boundary already
 * gets the next value ({@code global_step < boundaries[i]}). Steps count optimizer updates from 0 (the
 * first update uses {@code lr(0)}). The record can also count the boundaries from the end of the warmup
 * ({@code boundariesFromWarmupEnd}), as Paddle 2.x's {@code LinearWarmup} does to a wrapped scheduler.
 *
 * @param baseLr the learning rate after warmup (PLSC: {@code lr · global_batch / 1024})
 * @param boundaries strictly increasing step counts (> 0) where the rate is multiplied by decayFactor
 * @param decayFactor multiplier per boundary, in (0, 1] (PLSC's {@code lr_decay_factor}, default 0.1)
 * @param warmupSteps steps of linear warmup, >= 0 (PLSC: {@code warmup_epochs · steps_per_epoch})
 * @param warmupStartLr the rate at step 0 of the warmup (PLSC: the unscaled {@code lr})
 * @param boundariesFromWarmupEnd whether the boundaries count from the end of the warmup (Paddle 2.x
 *     {@code LinearWarmup}) instead of from step 0 (PLSC's {@code lr_warmup})
 */
public record LrSchedule(double baseLr, List<Long> boundaries, double decayFactor, long warmupSteps,
                         double warmupStartLr, boolean boundariesFromWarmupEnd) {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(LrSchedule.class);

    /** PLSC's schedule: boundaries counted from step 0, warmup included. */
    public LrSchedule(double baseLr, List<Long> boundaries, double decayFactor, long warmupSteps,
                      double warmupStartLr) {
        this(baseLr, boundaries, decayFactor, warmupSteps, warmupStartLr, false);
    }

    /**
     * A job's schedule as PLSC computes it: {@code base = lr · global_batch / 1024} (with
     * scale_lr_by_batch), values {@code base · 0.1^i} at the lr_steps boundaries, and a linear warmup from
     * the unscaled lr over {@code warmup_epochs · steps_per_epoch} steps, where steps_per_epoch comes from
     * {@code train_image_num} (PLSC: {@code ceil(ceil(train_image_num / num_trainers) / train_batch_size)},
     * which is {@code ceil(train_image_num / global batch)}), or from the data set's size when it is unset.
     * A train_image_num other than the data set's size is logged: as in PLSC it shapes the schedule only,
     * an epoch still reads the whole data set.
     */
    public static LrSchedule forJob(org.plsc4j.core.TrainConfig config, long datasetSize) {
        String mismatch = trainImageNumMismatch(config, datasetSize);
        if (mismatch != null) {
            LOG.warn(mismatch);
        }
        long images = config.trainImageNum() != null ? config.trainImageNum() : datasetSize;
        long steps = stepsPerEpoch(images, config.trainBatchSize());
        long warmup = Math.round(config.warmupEpochs() * steps);
        // PLSC: lr_warmup(..., warmup_steps, start_lr, base_lr) with start_lr = self.lr, the unscaled rate
        LrSchedule s = new LrSchedule(config.baseLr(), config.lrSteps(), 0.1, warmup, config.lr());
        LOG.info("LR schedule: {} steps per epoch ({} images / global batch {}), warmup {} steps from {} to {},"
                + " boundaries {} (optimizer steps from 0), values {}", steps, images, config.trainBatchSize(), warmup,
                s.warmupStartLr(), s.baseLr(), s.boundaries(), s.values());
        return s;
    }

    /**
     * The warning for a {@code train_image_num} that differs from the data set's size, or null when it is
     * unset or equal.
     */
    public static String trainImageNumMismatch(org.plsc4j.core.TrainConfig config, long datasetSize) {
        Integer n = config.trainImageNum();
        if (n == null || n == datasetSize) {
            return null;
        }
        return "train_image_num : " + n + " (the data set in " + config.datasetDir() + " has " + datasetSize
                + " images; as in PLSC, train_image_num sets the LR schedule's steps per epoch ("
                + stepsPerEpoch(n, config.trainBatchSize()) + " instead of " + stepsPerEpoch(datasetSize,
                config.trainBatchSize()) + ") and so the warmup length; an epoch still reads the whole data set)";
    }

    /** {@code ceil(images / globalBatch)}: PLSC's steps per epoch for any split of the global batch. */
    public static long stepsPerEpoch(long images, int globalBatch) {
        if (images < 1 || globalBatch < 1) {
            throw new IllegalArgumentException("steps per epoch inputs : images " + images + ", global batch "
                    + globalBatch + " (expected: both >= 1)");
        }
        return (images + globalBatch - 1) / globalBatch;
    }

    /** The rates between the boundaries: {@code baseLr · decayFactor^i}, i = 0..boundaries. */
    public List<Double> values() {
        List<Double> v = new java.util.ArrayList<>();
        for (int i = 0; i <= boundaries.size(); i++) {
            v.add(baseLr * Math.pow(decayFactor, i));
        }
        return v;
    }

    /** Validates every field and copies the boundaries. */
    public LrSchedule {
        Objects.requireNonNull(boundaries, "boundaries");
        boundaries = List.copyOf(boundaries);
        if (!(baseLr > 0) || !Double.isFinite(baseLr)) {
            throw new IllegalArgumentException("lr : " + baseLr + " (expected: a finite value > 0)");
        }
        long prev = 0;
        for (int i = 0; i < boundaries.size(); i++) {
            long b = boundaries.get(i);
            if (b <= prev) {
                throw new IllegalArgumentException("lr_steps : " + boundaries + " (expected: strictly increasing, > 0;"
                        + " entry " + i + " = " + b + ")");
            }
            prev = b;
        }
        if (!(decayFactor > 0 && decayFactor <= 1)) {
            throw new IllegalArgumentException("lr_decay_factor : " + decayFactor + " (expected: 0 < x <= 1)");
        }
        if (warmupSteps < 0) {
            throw new IllegalArgumentException("warmup_steps : " + warmupSteps + " (expected: >= 0)");
        }
        if (!(warmupStartLr >= 0) || !Double.isFinite(warmupStartLr)) {
            throw new IllegalArgumentException("warmup_start_lr : " + warmupStartLr + " (expected: a finite value >= 0)");
        }
    }

    /**
     * The schedule exactly as PLSC's {@code Entry._get_optimizer} builds it: base rate
     * {@code lr · globalBatch / 1024}, values {@code base · decayFactor^i} at the {@code lrSteps}
     * boundaries, and, when {@code warmupEpochs > 0}, a linear warmup from the unscaled {@code lr} to the
     * base rate over {@code warmupEpochs · stepsPerEpoch} steps.
     */
    public static LrSchedule plsc(double lr, int globalBatch, List<Long> lrSteps, double decayFactor,
                                  int warmupEpochs, long stepsPerEpoch) {
        if (globalBatch < 1) {
            throw new IllegalArgumentException("global_batch_size : " + globalBatch + " (expected: >= 1)");
        }
        if (warmupEpochs < 0) {
            throw new IllegalArgumentException("warmup_epochs : " + warmupEpochs + " (expected: >= 0)");
        }
        if (stepsPerEpoch < 1) {
            throw new IllegalArgumentException("steps_per_epoch : " + stepsPerEpoch + " (expected: >= 1)");
        }
        if (!(lr > 0) || !Double.isFinite(lr)) {
            throw new IllegalArgumentException("lr : " + lr + " (expected: a finite value > 0)");
        }
        double base = lr * globalBatch / 1024;
        return new LrSchedule(base, lrSteps, decayFactor, (long) warmupEpochs * stepsPerEpoch, lr);
    }

    /**
     * PLSC's steps per epoch: {@code ceil(ceil(trainImageNum / numTrainers) / perTrainerBatch)}.
     */
    public static long plscStepsPerEpoch(long trainImageNum, int numTrainers, int perTrainerBatch) {
        if (trainImageNum < 1 || numTrainers < 1 || perTrainerBatch < 1) {
            throw new IllegalArgumentException("steps per epoch inputs : train_image_num " + trainImageNum
                    + ", trainers " + numTrainers + ", batch " + perTrainerBatch + " (expected: all >= 1)");
        }
        long perTrainer = (trainImageNum + numTrainers - 1) / numTrainers;
        return (perTrainer + perTrainerBatch - 1) / perTrainerBatch;
    }

    /** The learning rate of optimizer step {@code step} (0-based). */
    public double lr(long step) {
        if (step < 0) {
            throw new IllegalArgumentException("step : " + step + " (expected: >= 0)");
        }
        if (step < warmupSteps) {
            return warmupStartLr + (baseLr - warmupStartLr) * ((double) step / warmupSteps);
        }
        long s = boundariesFromWarmupEnd ? step - warmupSteps : step;
        int k = 0;
        while (k < boundaries.size() && boundaries.get(k) <= s) {
            k++;
        }
        return baseLr * Math.pow(decayFactor, k);
    }
}
