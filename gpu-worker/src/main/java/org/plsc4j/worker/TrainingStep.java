package org.plsc4j.worker;

import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.plsc4j.core.LossScaler;
import org.plsc4j.core.PartialFc;
import org.plsc4j.core.TrainConfig;
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
    private MicroBatchPlan plan;
    private Map<String, INDArray> accumulated;

    TrainingStep(TrainConfig config, Backbone backbone, Optimizer optimizer, LossScaler scaler) {
        this.config = config;
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
     */
    MicroBatchPlan plan(Generation g, int sharers) {
        int local = config.trainBatchSize() / g.world();
        long perSample = backbone.trainingBytesPerSample();
        MicroBatchPlan mine = MicroBatchPlan.plan(local, config.microBatchSize(), perSample,
                ProcessMemory.availableBytes(sharers));
        int[] size = {-mine.size()};
        if (g.world() > 1) {
            g.collective().allReduce(size, ReduceOp.MAX);
        }
        plan = new MicroBatchPlan(-size[0], local, mine.bytesPerSample(), mine.availableBytes(), mine.chosen());
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
