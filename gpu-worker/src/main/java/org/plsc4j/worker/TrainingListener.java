package org.plsc4j.worker;

/**
 * What a {@link Trainer} tells an observer on every rank while it trains: a generation began, a
 * step was done. The elastic worker turns these into its live report (ZooKeeper) and its
 * Prometheus metrics; the default does nothing.
 *
 * <p>Why a listener and not more lines in {@code metrics.jsonl}: that file is written by rank 0
 * only, every {@code log_period} steps; an operator wants every worker's own progress (a slow rank
 * shows as a lower steps/s), and monitoring must not change what the trainer writes. Calls come
 * from the training thread: implementations must be quick and must not throw.
 */
public interface TrainingListener {

    /** The listener that ignores everything. */
    TrainingListener NONE = new TrainingListener() {
    };

    /**
     * One training step, as this rank did it.
     *
     * @param generation the generation the step was done in
     * @param rank this rank
     * @param worldSize the number of ranks
     * @param epoch the epoch
     * @param globalStep the global step counter after the step
     * @param totalSteps the global step at which training ends (epochs × steps per epoch)
     * @param loss the step's loss
     * @param lr the step's learning rate
     * @param seconds the step's wall time on this rank (batch wait, forward, backward, collectives, update)
     * @param globalBatch the global batch size
     */
    record Step(long generation, int rank, int worldSize, int epoch, long globalStep, long totalSteps, double loss,
                double lr, double seconds, int globalBatch) {
    }

    /** This rank begins training in a generation, owning classes {@code [classStart, classEnd)}. */
    default void generationStarted(long generation, int rank, int worldSize, int classStart, int classEnd) {
    }

    /** This rank finished a step. */
    default void stepDone(Step step) {
    }
}
