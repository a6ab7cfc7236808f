package org.plsc4j.worker;

import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Updates the backbone's (replicated) parameters from the all-reduced gradients. Every rank runs
 * the same optimizer on the same gradients, so replicas stay identical without a broadcast; the
 * state is per parameter name so it can be checkpointed next to the parameters. Users can plug in
 * their own (PLSC's {@code set_optimizer}).
 *
 * <p>Scope, unlike PLSC's: it updates the backbone only. The sharded FC (and the plain softmax's bias)
 * is updated inside its fused step with PLSC's default momentum SGD, {@code momentum} and
 * {@code weight_decay} / {@code fc_weight_decay}, at the job's learning rate ({@link LrSchedule}); a
 * custom optimizer changes neither.
 */
public interface Optimizer {

    /**
     * One update, in place, of every parameter in {@code params} with its gradient in {@code grads}.
     *
     * @throws IllegalArgumentException if the names or shapes of params and grads differ
     */
    void step(Map<String, INDArray> params, Map<String, INDArray> grads, double lr);

    /** The optimizer state (e.g. velocity per parameter name), live; empty before the first step. */
    Map<String, INDArray> state();

    /** Replaces the state with a copy of {@code state} (a checkpoint). */
    void loadState(Map<String, INDArray> state);
}
