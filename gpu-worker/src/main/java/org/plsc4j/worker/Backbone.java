package org.plsc4j.worker;

import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The trainable feature extractor in front of the sharded FC layer, as the trainer drives it: a
 * training forward, a backward from the embedding gradient that {@code PartialFc.step} returns,
 * and named arrays for the optimizer, the gradient all-reduce and checkpoints.
 *
 * <p>Why the backward takes dL/d(embedding) instead of a loss: the loss lives in the sharded FC
 * layer, outside this graph and spread over the ranks. The backbone computes the parameter
 * gradients of {@code Σ emb ⊙ dEmbedding} for its last training batch, i.e. its local rows'
 * contribution to the global-batch gradient; summing them over ranks
 * ({@link DataParallel#allReduceGradients}) gives the gradient of the global batch.
 *
 * <p>Reproducibility: parameters are initialised from (seed, parameter name); dropout masks are
 * drawn in Java from (seed, dropout seed) and fed to the graph, so the backward pass reuses the
 * forward's exact mask. A backbone is used by one thread at a time.
 */
public interface Backbone {

    /** The configuration it was built with. */
    BackboneConfig config();

    /**
     * Embeddings [b, D] of images [b, C, H, W]. In training mode batch norm uses batch statistics
     * (and folds them into the running statistics), dropout masks are drawn from the seed and an
     * internal counter of training forwards, and the batch is kept for {@link #backward}. In
     * inference mode running statistics are used and dropout is off.
     */
    INDArray forward(INDArray images, boolean train);

    /**
     * A training forward whose dropout masks come from (config seed, {@code dropoutSeed}): lets the
     * trainer derive the masks from (step, rank) so that a run is reproducible.
     */
    INDArray forwardTrain(INDArray images, long dropoutSeed);

    /**
     * The same training forward as {@link #forwardTrain} with the same {@code dropoutSeed} (batch
     * statistics of {@code images}, the same dropout masks) that leaves the batch-norm running
     * statistics alone, and keeps the batch for {@link #backward}: the second pass of a micro-batched
     * step, whose first pass ({@code forwardTrain}) already folded this micro-batch's statistics in.
     *
     * <p>The default snapshots {@link #state()}, runs {@code forwardTrain} and restores the state;
     * engines that can skip the running-statistics update override it.
     */
    default INDArray recomputeTrain(INDArray images, long dropoutSeed) {
        Map<String, INDArray> saved = new java.util.LinkedHashMap<>();
        state().forEach((name, arr) -> saved.put(name, arr.dup()));
        INDArray emb = forwardTrain(images, dropoutSeed);
        state().forEach((name, arr) -> arr.assign(saved.get(name)));
        return emb;
    }

    /**
     * An estimate of the peak native bytes one image adds to a training step (training forward plus
     * {@link #backward}: activations kept for the backward, their gradients, temporaries), excluding
     * what does not grow with the batch (parameters, their gradients, optimizer state). The trainer
     * sizes micro-batches with it ({@code micro_batch_size}) and refuses at start a job whose
     * micro-batch of one image cannot fit; an estimate that is too low means an OutOfMemoryError
     * minutes into training, so err high.
     *
     * <p>(Default only until the engines all implement it; see the backbone-infra branch.)
     */
    default long trainingBytesPerSample() {
        throw new UnsupportedOperationException("trainingBytesPerSample of " + getClass().getSimpleName());
    }

    /**
     * Computes the parameter gradients of the last training forward for the upstream gradient
     * dL/d(embedding) [b, D] and stores them in {@link #gradients()} (overwriting, not accumulating).
     *
     * @throws IllegalStateException if there was no training forward
     * @throws IllegalArgumentException if the shape is not the last forward's [b, D]
     */
    void backward(INDArray dEmbedding);

    /** Trainable parameters, name → live array, in creation order. Update them in place. */
    Map<String, INDArray> parameters();

    /** Gradients of the last {@link #backward}, same names and shapes as {@link #parameters()}; live. */
    Map<String, INDArray> gradients();

    /** Non-trainable state (batch-norm running mean/variance), name → live array. */
    Map<String, INDArray> state();

    /**
     * Copies parameters and state from {@code values}, whose names must be exactly those of
     * {@link #parameters()} and {@link #state()} together (a checkpoint).
     *
     * @throws IllegalArgumentException naming a missing, unexpected or mis-shaped entry; nothing is
     *     copied then
     */
    void load(Map<String, INDArray> values);

    /** The inference view (running statistics, no dropout) sharing this backbone's arrays. */
    InferenceModel inference();
}
