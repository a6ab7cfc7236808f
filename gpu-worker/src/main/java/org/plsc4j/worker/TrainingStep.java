package org.plsc4j.worker;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.IntToLongFunction;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.plsc4j.core.LossScaler;
import org.plsc4j.core.PartialFc;
import org.plsc4j.core.TrainConfig;
import org.plsc4j.core.collective.CollectiveException;
import org.plsc4j.core.collective.ReduceOp;
import org.plsc4j.data.Batch;
import org.plsc4j.worker.internal.ProcessMemory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One training step of one rank: backbone forward → {@link PartialFc#forwardBackward} (all-gather,
 * sharded margin softmax) → backbone backward with the returned feature gradient → gradients
 * all-reduced (SUM: the FC gradient already carries the 1/B of the global mean) → the agreed
 * update decision → FC update and optimizer.
 *
 * <p>Micro-batches ({@link MicroBatchPlan}): the sharded FC step needs all local embeddings at once,
 * so a split step runs in two passes. Pass 1 runs each micro-batch's training forward (which folds
 * its batch statistics into the running statistics, once per micro-batch as PyTorch's gradient
 * accumulation does) and keeps only its embeddings; the FC step runs on the whole local batch;
 * pass 2 re-runs each micro-batch's training forward ({@link Backbone#recomputeTrain}: same batch
 * statistics and dropout masks, running statistics untouched) and its backward, summing the
 * parameter gradients. Without batch norm the result equals the unsplit step up to float rounding;
 * with batch norm, normalisation uses each micro-batch's statistics. An unsplit step recomputes nothing.
 */
final class TrainingStep {

    private static final Logger LOG = LoggerFactory.getLogger(TrainingStep.class);

    private final TrainConfig config;
    private final Backbone backbone;
    private final Optimizer optimizer;
    private final LossScaler scaler;
    private final IntToLongFunction freeMemory;
    /** The current generation's plan; the previous one's while the next is planned. */
    private MicroBatchPlan plan;
    private Map<String, INDArray> accumulated;

    TrainingStep(TrainConfig config, Backbone backbone, Optimizer optimizer, LossScaler scaler) {
        this(config, backbone, optimizer, scaler, ProcessMemory::availableBytes);
    }

    /**
     * @param freeMemory bytes this process may still allocate, given the processes sharing the
     *        machine's free memory ({@link ProcessMemory#availableBytes}; -1 when unknown)
     */
    TrainingStep(TrainConfig config, Backbone backbone, Optimizer optimizer, LossScaler scaler,
                 IntToLongFunction freeMemory) {
        this.config = config;
        this.freeMemory = freeMemory;
        this.backbone = backbone;
        this.optimizer = optimizer;
        this.scaler = scaler;
    }

    /** The dynamic loss scaler (use_fp16), or null. */
    LossScaler scaler() {
        return scaler;
    }

    /**
     * Plans micro-batches for a generation of {@code world} ranks (before its first step). The ranks
     * agree on the smallest size any of them can afford, so that batch statistics are alike everywhere.
     *
     * <p>Only the process's first plan may fail for memory. Free memory read at a generation change
     * is often briefly short (the previous generation's buffers not yet returned, another process's
     * passing use), and an elastic job must not die of that minutes in. So a later plan never goes
     * below the size this process already planned (capped at the new local batch): that size's
     * buffers are either still this process's, to be reused, or back in the free memory. Below it a
     * warning names the reading; above it (more memory now) the larger size is taken. The garbage
     * holding the previous generation's native buffers is collected before the reading.
     *
     * <p>A rank that cannot plan (its first plan, e.g. a joiner's) makes every rank stop here rather
     * than wait in a collective for it: with an exception naming the numbers on that rank, and on the
     * others the same failure at the job's first generation, or a {@link CollectiveException} when
     * some rank planned before (an elastic job's later generation: the trainer waits for the next
     * generation, without the rank that failed).
     *
     * @param sharers processes on this machine planning from the same free memory
     * @throws IllegalStateException at the first plan, when this rank (or another rank, then named so)
     *         cannot fit even one image per micro-batch or its configured {@code micro_batch_size}
     * @throws CollectiveException when another rank cannot plan and some rank planned before
     */
    MicroBatchPlan plan(Generation g, int sharers) {
        int local = config.trainBatchSize() / g.world();
        long perSample = backbone.trainingBytesPerSample();
        releaseGarbage();
        long available = freeMemory.applyAsLong(sharers);
        MicroBatchPlan mine;
        IllegalStateException refused = null;
        try {
            mine = MicroBatchPlan.plan(local, config.microBatchSize(), perSample, available);
        } catch (IllegalStateException e) {
            mine = null;
            refused = e;
        }
        MicroBatchPlan kept = plan == null ? null : plan.keep(local, available);
        MicroBatchPlan afford = kept != null && (mine == null || mine.size() < kept.size()) ? kept : mine;
        // the smallest size wins; 0 (a rank that cannot plan) makes every rank stop now, not in a collective
        // waiting for it; and whether any rank planned before (then this is an elastic job's later generation)
        int[] agreed = {afford == null ? 0 : -afford.size(), plan == null ? 0 : 1};
        if (g.world() > 1) {
            g.collective().allReduce(agreed, ReduceOp.MAX);
        }
        if (agreed[0] == 0) {
            if (afford == null) {
                throw refused;
            }
            String why = "another worker of generation " + g.number() + " cannot fit even one image per"
                    + " micro-batch (or its micro_batch_size) in its memory; see its log";
            if (agreed[1] != 0) {
                // a joiner that cannot fit fails alone; the job goes on in the next generation without it
                throw new CollectiveException(why);
            }
            throw new IllegalStateException("train_batch_size : " + why + " (expected: more free memory, fewer"
                    + " workers on this machine, a smaller image_shape or model_name)");
        }
        if (kept != null && afford == kept) {
            LOG.warn("rank {} of generation {}: free memory reads {} ({}); keeping at most the {} images per"
                    + " micro-batch this process planned before, whose buffers it reuses", g.rank(), g.number(),
                    kept.availableBytes() < 0 ? "unknown" : (kept.availableBytes() >> 20) + " MiB",
                    refused != null ? refused.getMessage() : "room for " + mine.size() + " images per micro-batch",
                    plan.size());
        }
        plan = new MicroBatchPlan(-agreed[0], local, afford.bytesPerSample(), afford.availableBytes(),
                afford.chosen());
        if (g.rank() == 0) {
            LOG.info("micro-batches: {}", plan);
        }
        return plan;
    }

    /**
     * Runs one step on {@code b}.
     *
     * @return the FC step's result (loss, accuracy)
     * @throws IllegalStateException when the loss or a gradient is not finite and no loss scaler may skip the step
     */
    PartialFc.StepResult run(Generation g, Batch b, int epoch, long globalStep, double lr) {
        PartialFc fc = g.fc();
        long dropoutSeed = globalStep * 1_000_003L + g.rank();
        double lossScale = scaler == null ? 1.0 : scaler.scale();
        PartialFc.StepResult r;
        if (plan == null || !plan.split() || b.images().size(0) <= plan.size()) {
            INDArray emb = backbone.forwardTrain(b.images(), dropoutSeed);
            r = fc.forwardBackward(emb, b.labels(), globalStep, config.calcAcc(), lossScale);
            backbone.backward(r.featureGrad());
        } else {
            r = runSplit(fc, b, globalStep, dropoutSeed, lossScale);
        }
        DataParallel.allReduceGradients(backbone.gradients(), g.collective());
        // the update decision comes before any update: every rank's FC and backbone gradients
        int[] bad = {r.gradsFinite() && Trainer.allFinite(backbone.gradients()) ? 0 : 1};
        if (g.world() > 1) {
            g.collective().allReduce(bad, ReduceOp.MAX);
        }
        if (bad[0] != 0 && (scaler == null || !scaler.dynamic())) {
            fc.discardUpdate();
            throw new IllegalStateException("loss : " + r.loss() + " at epoch " + epoch + " step " + globalStep
                    + " (expected: finite loss and gradients; nothing of this step was applied and no"
                    + " checkpoint is written; lower lr = " + config.lr() + ", check the data, or use"
                    + " use_fp16 with use_dynamic_loss_scaling)");
        }
        boolean apply = scaler == null || scaler.update(bad[0] != 0);
        if (apply) {
            fc.applyUpdate(lr);
            if (lossScale != 1.0) {
                for (INDArray grad : backbone.gradients().values()) {
                    grad.divi(lossScale);
                }
            }
            optimizer.step(backbone.parameters(), backbone.gradients(), lr);
        } else {
            fc.discardUpdate();
            LOG.warn("epoch {} step {}: Inf/NaN gradients at loss scale {}; step skipped, next scale {}",
                    epoch, globalStep, lossScale, scaler.scale());
        }
        return r;
    }

    /** The two-pass step over micro-batches; leaves the summed gradients in the backbone's gradient arrays. */
    private PartialFc.StepResult runSplit(PartialFc fc, Batch b, long globalStep, long dropoutSeed,
                                          double lossScale) {
        INDArray images = b.images();
        int n = (int) images.size(0);
        int m = plan.size();
        int count = (n + m - 1) / m;
        INDArray emb = null;
        for (int k = 0; k < count; k++) {
            INDArray e = backbone.forwardTrain(rows(images, k * m, Math.min(n, (k + 1) * m)), microSeed(dropoutSeed, k));
            if (emb == null) {
                emb = Nd4j.create(e.dataType(), n, e.size(1));
            }
            emb.get(NDArrayIndex.interval(k * m, Math.min(n, (k + 1) * m)), NDArrayIndex.all()).assign(e);
            releaseGarbage();
        }
        PartialFc.StepResult r = fc.forwardBackward(emb, b.labels(), globalStep, config.calcAcc(), lossScale);
        if (accumulated == null) {
            accumulated = new LinkedHashMap<>();
            backbone.gradients().forEach((name, grad) -> accumulated.put(name, grad.ulike()));
        }
        accumulated.values().forEach(a -> a.assign(0));
        INDArray dEmb = r.featureGrad();
        for (int k = 0; k < count; k++) {
            int lo = k * m;
            int hi = Math.min(n, lo + m);
            backbone.recomputeTrain(rows(images, lo, hi), microSeed(dropoutSeed, k));
            backbone.backward(rows(dEmb, lo, hi));
            backbone.gradients().forEach((name, grad) -> accumulated.get(name).addi(grad));
            releaseGarbage();
        }
        backbone.gradients().forEach((name, grad) -> grad.assign(accumulated.get(name)));
        return r;
    }

    /**
     * Frees the previous micro-batch's native buffers before the next one allocates its own. ND4J
     * releases off-heap buffers when their Java objects are collected, and a small heap holding
     * handles to gigabytes of activations sees no pressure to collect: without this, a split
     * ResNet50 step grew past the machine's memory over its micro-batches (OOM-killed at 19.9 GB
     * with micro-batches planned for ~13 GB). One collection per micro-batch costs milliseconds
     * against seconds of backbone work.
     */
    private static void releaseGarbage() {
        System.gc();
    }

    /** Dropout seed of micro-batch k (an unsplit step uses the step's seed itself). */
    private static long microSeed(long seed, int k) {
        return seed ^ ((k + 1) * 0x9E3779B97F4A7C15L);
    }

    /** Rows [lo, hi) of the first dimension, as a contiguous copy. */
    private static INDArray rows(INDArray a, int lo, int hi) {
        if (a.rank() == 2) {
            return a.get(NDArrayIndex.interval(lo, hi), NDArrayIndex.all()).dup('c');
        }
        return a.get(NDArrayIndex.interval(lo, hi), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all())
                .dup('c');
    }
}
