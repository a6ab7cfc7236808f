package org.plsc4j.worker;

import java.util.List;
import java.util.Objects;

/**
 * PLSC's learning-rate schedule: piecewise-constant decay after an optional linear warmup, i.e.
 * Paddle's {@code LinearWarmup(PiecewiseDecay(boundaries, values), warmup_steps, start_lr, end_lr)}
 * as set up in PLSC's {@code plsc/entry.py} ({@code Entry._get_optimizer}):
 * <pre>
 *   step &lt; warmupSteps:  lr = warmupStartLr + (baseLr − warmupStartLr)·step/warmupSteps
 *   otherwise:           lr = baseLr·decayFactor^k, k = #{ boundaries ≤ step − warmupSteps }
 * </pre>
 * Paddle's {@code LinearWarmup} steps the wrapped {@code PiecewiseDecay} with
 * {@code last_epoch − warmup_steps}, so the boundaries count from the end of the warmup; a step
 * equal to a boundary already gets the next value (Paddle: {@code last_epoch < boundaries[i]}).
 * Steps count optimizer updates from 0 (the first update uses {@code lr(0)}).
 *
 * @param baseLr the learning rate after warmup (PLSC: {@code lr · global_batch / 1024})
 * @param boundaries strictly increasing step counts (> 0) where the rate is multiplied by decayFactor
 * @param decayFactor multiplier per boundary, in (0, 1] (PLSC's {@code lr_decay_factor}, default 0.1)
 * @param warmupSteps steps of linear warmup, >= 0 (PLSC: {@code warmup_epochs · steps_per_epoch})
 * @param warmupStartLr the rate at step 0 of the warmup (PLSC: the unscaled {@code lr})
 */
public record LrSchedule(double baseLr, List<Long> boundaries, double decayFactor, long warmupSteps,
                         double warmupStartLr) {

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
        long s = step - warmupSteps;
        int k = 0;
        while (k < boundaries.size() && boundaries.get(k) <= s) {
            k++;
        }
        return baseLr * Math.pow(decayFactor, k);
    }
}
