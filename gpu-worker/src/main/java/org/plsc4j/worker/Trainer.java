package org.plsc4j.worker;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.plsc4j.checkpoint.Checkpoint;
import org.plsc4j.core.PartialFc;
import org.plsc4j.core.TrainConfig;
import org.plsc4j.core.collective.Collective;
import org.plsc4j.data.Batch;
import org.plsc4j.data.BatchLoader;
import org.plsc4j.data.Dataset;
import org.plsc4j.data.DatasetConfig;
import org.plsc4j.data.DatasetFormat;
import org.plsc4j.data.GlobalBatchPlan;
import org.plsc4j.data.ImageShape;
import org.plsc4j.data.LoaderConfig;
import org.plsc4j.worker.internal.CurvePlot;
import org.plsc4j.worker.internal.ProgressBar;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One rank's training loop: data-parallel backbone, sharded (Partial) FC, checkpoints, evaluation.
 *
 * <p>Every rank of a job runs one Trainer over the same {@link Collective}. A step: this rank's
 * slice of global batch t ({@link GlobalBatchPlan}: the same global batch whatever the worker count)
 * → backbone forward → {@link PartialFc#step} (all-gather, sharded margin softmax, FC update) →
 * backbone backward with the returned feature gradient → gradients all-reduced (SUM: the FC
 * gradient already carries the 1/B of the global mean) → optimizer. Epoch ends write a checkpoint
 * ({@link CheckpointIo}) and, with {@code with_test}, evaluate the verification sets on rank 0.
 * Rank 0 alone writes {@code metrics.jsonl}, the progress bar and the curves PNG.
 *
 * <p>Why the loop is not configurable beyond {@link TrainConfig} and the two plug points
 * ({@link BaseModel}, {@link Optimizer}): those are PLSC's; everything else follows from the config,
 * so a run is reproducible from its manifest.
 */
public final class Trainer {

    private static final Logger LOG = LoggerFactory.getLogger(Trainer.class);

    /** File name of the curves picture in model_save_dir. */
    public static final String CURVES_PNG = "training_curves.png";

    /**
     * What a run did (on this rank).
     *
     * @param losses the loss of every step this run executed, in order (identical on every rank)
     * @param firstStep the global step of {@code losses[0]}
     * @param lastCheckpoint the last checkpoint written, or null
     * @param lastEval the last evaluation (target → result), empty when none ran
     */
    public record Summary(List<Double> losses, long firstStep, Path lastCheckpoint,
                          Map<String, MetricsLog.EvalResult> lastEval) {
    }

    private final TrainConfig config;
    private final Collective collective;
    private final BaseModel customModel;
    private final Optimizer customOptimizer;
    private final String runId;
    private final int rank;
    private final int world;

    /**
     * @param config the job
     * @param collective the group this rank trains in
     * @param customModel a user model (PLSC's {@code set_model}), or null for {@code model_name}
     * @param customOptimizer a user optimizer (PLSC's {@code set_optimizer}), or null for SGD momentum
     * @param runId identifies this run on every rank (names checkpoint staging directories)
     */
    public Trainer(TrainConfig config, Collective collective, BaseModel customModel, Optimizer customOptimizer,
                   String runId) {
        this.config = Objects.requireNonNull(config, "config");
        this.collective = Objects.requireNonNull(collective, "collective");
        this.customModel = customModel;
        this.customOptimizer = customOptimizer;
        this.runId = Objects.requireNonNull(runId, "runId");
        this.rank = collective.rank();
        this.world = collective.worldSize();
    }

    /** Trains {@code train_epochs} epochs (from the warm start's next epoch when checkpoint_dir is set). */
    public Summary train() throws IOException {
        int batch = config.trainBatchSize();
        if (batch % world != 0) {
            throw new IllegalArgumentException("train_batch_size : " + batch + " (expected: divisible by the number of"
                    + " workers " + world + "; it is the global batch)");
        }
        Path saveDir = Path.of(config.modelSaveDir());
        ImageShape shape = new ImageShape(3, config.imageHeight(), config.imageWidth());
        Evaluator evaluator = config.withTest() ? Evaluator.open(config, shape) : null;
        try (Dataset data = Dataset.open(new DatasetConfig(Path.of(config.datasetDir()),
                DatasetFormat.parse(config.datasetFormat()), config.numClasses(), shape, config.skipBadSamples(),
                config.skipBadSamples()))) {
            GlobalBatchPlan plan = new GlobalBatchPlan(data.size(), batch, world, config.seed());
            int stepsPerEpoch = plan.stepsPerEpoch();
            if (config.trainImageNum() != null && config.trainImageNum() != data.size() && rank == 0) {
                LOG.warn("train_image_num : {} differs from the data set's {} samples in {}; using the data set's",
                        config.trainImageNum(), data.size(), config.datasetDir());
            }
            Backbone backbone = customModel != null
                    ? Backbones.create(customModel, backboneConfig())
                    : Backbones.create(config.modelName(), backboneConfig());
            PartialFc fc = PartialFc.create(config.fcConfig(), collective);
            Optimizer optimizer = customOptimizer != null ? customOptimizer
                    : new MomentumSgd(config.momentum(), config.weightDecay());
            LrSchedule schedule = new LrSchedule(config.baseLr(), config.lrSteps(), 0.1,
                    Math.round(config.warmupEpochs() * stepsPerEpoch), 0.0);

            int startEpoch = 0;
            long globalStep = 0;
            if (!config.checkpointDir().isEmpty()) {
                Checkpoint ck = CheckpointIo.resolve(Path.of(config.checkpointDir()));
                CheckpointIo.load(ck, config, fc, backbone, optimizer);
                startEpoch = ck.epoch() + 1;
                globalStep = ck.step();
                if (rank == 0) {
                    LOG.info("warm start from {} (epoch {}, step {}, {} ranks {} -> {} ranks {})", ck.dir(), ck.epoch(),
                            ck.step(), ck.layout().worldSize(), ck.layout().kind(), world, fc.layout().kind());
                }
            }
            if (rank == 0) {
                LOG.info("training {} classes x {} over {} worker(s): {} samples, global batch {}, {} steps per epoch,"
                        + " epochs {}..{}, loss {}, model {}", config.numClasses(), config.embSize(), world,
                        data.size(), batch, stepsPerEpoch, startEpoch, config.trainEpochs() - 1, config.lossType(),
                        customModel != null ? customModel.getClass().getSimpleName() : config.modelName());
            }
            List<Double> losses = new ArrayList<>();
            long firstStep = globalStep;
            Path lastCheckpoint = null;
            Map<String, MetricsLog.EvalResult> lastEval = Map.of();
            try (MetricsLog metrics = rank == 0 ? MetricsLog.open(saveDir) : null) {
                for (int epoch = startEpoch; epoch < config.trainEpochs(); epoch++) {
                    globalStep = runEpoch(data, plan, epoch, globalStep, backbone, fc, optimizer, schedule, metrics,
                            losses, evaluator);
                    lastCheckpoint = CheckpointIo.save(saveDir, epoch, globalStep, runId, config, fc, backbone,
                            optimizer, collective);
                    if (metrics != null) {
                        metrics.event("checkpoint", Map.of("epoch", epoch, "step", globalStep, "dir",
                                lastCheckpoint.toString()));
                    }
                    if (evaluator != null && config.testPeriod() == 0) {
                        lastEval = evaluate(evaluator, backbone, globalStep, epoch, metrics);
                    }
                }
                if (metrics != null) {
                    CurvePlot.write(metrics.trainPoints(), metrics.evalPoints(), saveDir.resolve(CURVES_PNG));
                }
            }
            return new Summary(List.copyOf(losses), firstStep, lastCheckpoint, lastEval);
        }
    }

    private long runEpoch(Dataset data, GlobalBatchPlan plan, int epoch, long globalStep, Backbone backbone,
                          PartialFc fc, Optimizer optimizer, LrSchedule schedule, MetricsLog metrics, List<Double> losses,
                          Evaluator evaluator) {
        int steps = plan.stepsPerEpoch();
        LoaderConfig lc = new LoaderConfig(rank, new GlobalBatchPlan.Position(epoch, 0), epoch + 1, true, 3, 2);
        long windowStart = System.nanoTime();
        int windowSteps = 0;
        try (BatchLoader loader = new BatchLoader(data, plan, lc);
             ProgressBar bar = rank == 0 ? new ProgressBar("epoch " + epoch, steps) : null) {
            while (loader.hasNext()) {
                Batch b = loader.next();
                for (int i = 0; i < b.labels().length; i++) {
                    if (b.labels()[i] == Batch.IGNORED) {
                        throw new IllegalStateException("epoch " + epoch + " step " + b.step() + ": unreadable sample "
                                + b.badSamples() + " (the data changed after it was validated at start)");
                    }
                }
                double lr = schedule.lr(globalStep);
                INDArray emb = backbone.forwardTrain(b.images(), globalStep * 1_000_003L + rank);
                PartialFc.StepResult r = fc.step(emb, b.labels(), lr, globalStep, config.calcAcc());
                backbone.backward(r.featureGrad());
                DataParallel.allReduceGradients(backbone.gradients(), collective);
                optimizer.step(backbone.parameters(), backbone.gradients(), lr);
                if (!Double.isFinite(r.loss())) {
                    throw new IllegalStateException("loss : " + r.loss() + " at epoch " + epoch + " step " + globalStep
                            + " (expected: finite; lower lr = " + config.lr() + " or check the data)");
                }
                losses.add(r.loss());
                windowSteps++;
                boolean last = b.step() == steps - 1;
                if (metrics != null && (globalStep % config.logPeriod() == 0 || last)) {
                    double secs = (System.nanoTime() - windowStart) / 1e9;
                    metrics.train(globalStep, epoch, r.loss(), lr, windowSteps * config.trainBatchSize() / secs, world,
                            r.acc1(), r.acc5());
                    windowStart = System.nanoTime();
                    windowSteps = 0;
                }
                if (bar != null) {
                    bar.step(1, String.format(Locale.ROOT, "loss %.4f lr %.4g%s", r.loss(), lr,
                            config.calcAcc() ? String.format(Locale.ROOT, " acc1 %.3f", r.acc1()) : ""));
                }
                globalStep++;
                if (evaluator != null && config.testPeriod() > 0 && globalStep % config.testPeriod() == 0) {
                    evaluate(evaluator, backbone, globalStep, epoch, metrics);
                }
            }
        }
        return globalStep;
    }

    /** Rank 0 evaluates (the backbone is replicated); the others wait for it. */
    private Map<String, MetricsLog.EvalResult> evaluate(Evaluator evaluator, Backbone backbone, long step, int epoch,
                                                        MetricsLog metrics) {
        Map<String, MetricsLog.EvalResult> results = new LinkedHashMap<>();
        if (rank == 0) {
            results = evaluator.evaluate(backbone.inference());
            metrics.eval(step, epoch, results);
            results.forEach((name, r) -> LOG.info("eval {} at step {}: accuracy {} ± {}, VAL {} @ FAR {}", name, step,
                    fmt(r.accuracy()), fmt(r.accuracyStd()), fmt(r.val()), fmt(r.far())));
        }
        collective.barrier();
        return results;
    }

    private BackboneConfig backboneConfig() {
        return BackboneConfig.of(config.embSize(), 3, config.imageHeight(), config.imageWidth(), config.seed());
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.4f", v);
    }

    /** Creates model_save_dir or fails naming it. */
    static void ensureDir(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("model_save_dir : " + dir + " (cannot create it: " + e.getMessage() + ")", e);
        }
    }
}
