package org.plsc4j.core;

/**
 * Dynamic loss scaling with the semantics of Paddle's {@code update_loss_scaling} op (what PLSC's
 * {@code set_mixed_precision} uses): the loss, hence every gradient, is multiplied by {@link #scale()};
 * after each step the caller reports whether any gradient on any rank was Inf/NaN.
 * <ul>
 *   <li>bad step: the good-step counter resets to 0 and the bad-step counter counts up; when it reaches
 *       {@code decr_every_n_nan_or_inf} the scale is multiplied by {@code decr_ratio} (never below 1)
 *       and the bad-step counter resets. The step must be skipped.</li>
 *   <li>good step: the bad-step counter resets to 0 and the good-step counter counts up; when it reaches
 *       {@code incr_every_n_steps} the scale is multiplied by {@code incr_ratio} (kept unchanged if the
 *       product is not finite) and the good-step counter resets.</li>
 * </ul>
 * Without dynamic scaling the scale stays {@code init_loss_scaling} and the counters still count.
 * The scale is a float32, as Paddle's loss-scaling variable.
 *
 * <p>Why a class of its own: it has no device, array or collective in it, so the state machine is
 * unit-tested step by step; the trainer does the all-reduce that makes {@code foundInf} agree.
 */
public final class LossScaler {

    private final boolean dynamic;
    private final int incrEveryNSteps;
    private final int decrEveryNNanOrInf;
    private final float incrRatio;
    private final float decrRatio;
    private float scale;
    private int good;
    private int bad;
    private long skipped;

    /**
     * A scaler starting at {@code initLossScaling}.
     *
     * @throws IllegalArgumentException naming the parameter when one is out of range
     */
    public LossScaler(double initLossScaling, int incrEveryNSteps, int decrEveryNNanOrInf, double incrRatio,
                      double decrRatio, boolean dynamic) {
        if (!(initLossScaling > 0) || Double.isInfinite(initLossScaling)) {
            throw new IllegalArgumentException("init_loss_scaling : " + initLossScaling + " (expected: a finite value > 0)");
        }
        if (incrEveryNSteps < 1) {
            throw new IllegalArgumentException("incr_every_n_steps : " + incrEveryNSteps + " (expected: > 0)");
        }
        if (decrEveryNNanOrInf < 1) {
            throw new IllegalArgumentException("decr_every_n_nan_or_inf : " + decrEveryNNanOrInf + " (expected: > 0)");
        }
        if (!(incrRatio > 1)) {
            throw new IllegalArgumentException("incr_ratio : " + incrRatio + " (expected: > 1)");
        }
        if (!(decrRatio > 0 && decrRatio < 1)) {
            throw new IllegalArgumentException("decr_ratio : " + decrRatio + " (expected: 0 < x < 1)");
        }
        this.scale = (float) initLossScaling;
        this.incrEveryNSteps = incrEveryNSteps;
        this.decrEveryNNanOrInf = decrEveryNNanOrInf;
        this.incrRatio = (float) incrRatio;
        this.decrRatio = (float) decrRatio;
        this.dynamic = dynamic;
    }

    /** The scaler of a job's settings. */
    public static LossScaler of(TrainConfig c) {
        return new LossScaler(c.initLossScaling(), c.incrEveryNSteps(), c.decrEveryNNanOrInf(), c.incrRatio(),
                c.decrRatio(), c.useDynamicLossScaling());
    }

    /** The factor the loss (and so every gradient) is multiplied by in the next step. */
    public float scale() {
        return scale;
    }

    /** Whether the scale adapts (use_dynamic_loss_scaling). */
    public boolean dynamic() {
        return dynamic;
    }

    /** Consecutive good steps since the last increase or bad step. */
    public int goodSteps() {
        return good;
    }

    /** Consecutive bad steps since the last decrease or good step. */
    public int badSteps() {
        return bad;
    }

    /** Bad steps so far (each one skipped). */
    public long skippedSteps() {
        return skipped;
    }

    /**
     * Records one step's outcome (agreed by all ranks) and adapts the scale.
     *
     * @param foundInf whether any gradient of the step was Inf or NaN on any rank
     * @return true when the step's update must be applied, false when it must be skipped
     */
    public boolean update(boolean foundInf) {
        if (foundInf) {
            skipped++;
            good = 0;
            bad++;
            if (bad == decrEveryNNanOrInf) {
                if (dynamic) {
                    float s = scale * decrRatio;
                    scale = s < 1f ? 1f : s;
                }
                bad = 0;
            }
            return false;
        }
        bad = 0;
        good++;
        if (good == incrEveryNSteps) {
            if (dynamic) {
                float s = scale * incrRatio;
                scale = Float.isFinite(s) ? s : scale;
            }
            good = 0;
        }
        return true;
    }

    /** Restores a state saved with {@link #scale()}, {@link #goodSteps()}, {@link #badSteps()} (checkpoints, resync). */
    public void restore(float scale, int goodSteps, int badSteps, long skippedSteps) {
        if (!(scale > 0) || !Float.isFinite(scale)) {
            throw new IllegalArgumentException("loss_scale : " + scale + " (expected: a finite value > 0)");
        }
        this.scale = scale;
        this.good = goodSteps;
        this.bad = badSteps;
        this.skipped = skippedSteps;
    }
}
