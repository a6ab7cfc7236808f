package org.plsc4j.worker;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.TreeMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.plsc4j.core.LossScaler;
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
import org.plsc4j.core.collective.CollectiveException;
import org.plsc4j.worker.internal.CurvePlot;
import org.plsc4j.core.internal.ProgressBar;
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
 * <p>Elastic jobs: the trainer runs one {@link Membership.Member generation} after another. At every
 * step boundary the ranks agree (one tiny all-reduce) whether a newer generation exists; if so, or
 * when a collective operation fails because a peer is gone, each rank writes its FC rows to the
 * {@link FcRowStore} (after an agreed stop, the ranks then wait for each other's write, so the next
 * generation never reads a leaving rank's classes as of an older flush), closes the collective and
 * joins the next generation. There the ranks agree on
 * the most advanced rank (global step), which broadcasts the backbone, the optimizer state and the
 * data cursor; every rank reads the rows of its new class range from the store (a dead worker's
 * rows as of its last flush) and training continues from the same step of the same epoch: the
 * global batch plan does not depend on the worker count, so no sample is skipped or repeated
 * beyond the step in flight. Between generations, rows are flushed in the background every
 * {@code shard_sync_steps} steps ({@link ShardFlusher}).
 *
 * <p>Where things are: this class runs the loop (generations → epochs → steps, metrics, evaluation);
 * a step, with its micro-batches, is {@link TrainingStep}'s; the elastic hand-over between
 * generations {@link GenerationChange}'s; the warm start and the epoch-end checkpoint
 * {@link Checkpointing}'s; the micro-batch size {@link MicroBatchPlan}'s.
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
     * System property: how many worker processes on this machine plan their micro-batches from the
     * same free memory (the local launcher sets it for its workers; default 1).
     */
    public static final String LOCAL_WORKERS_PROPERTY = "plsc4j.localWorkers";

    /**
     * What a run did (on this rank).
     *
     * @param losses the loss of every step this rank executed, in step order (identical on every rank
     *     of a fixed group; a step redone after a failure counts once)
     * @param firstStep the global step of {@code losses[0]}
     * @param lastCheckpoint the last checkpoint written, or null
     * @param lastEval the last evaluation (target → result), empty when none ran
     */
    public record Summary(List<Double> losses, long firstStep, Path lastCheckpoint,
                          Map<String, MetricsLog.EvalResult> lastEval) {
    }

    private final TrainConfig config;
    private final Membership membership;
    private final BaseModel customModel;
    private final Optimizer customOptimizer;
    private final String runId;
    private CheckpointSync checkpointSync = CheckpointSync.NONE;
    private TrainingListener listener = TrainingListener.NONE;

    /**
     * A trainer of a fixed group.
     *
     * @param config the job
     * @param collective the group this rank trains in
     * @param customModel a user model (PLSC's {@code set_model}), or null for {@code model_name}
     * @param customOptimizer a user optimizer (PLSC's {@code set_optimizer}), or null for SGD momentum
     * @param runId identifies this run on every rank (names checkpoint staging directories)
     */
    public Trainer(TrainConfig config, Collective collective, BaseModel customModel, Optimizer customOptimizer,
                   String runId) {
        this(config, Membership.fixed(Objects.requireNonNull(collective, "collective")), customModel, customOptimizer,
                runId);
    }

    /** A trainer whose group comes from {@code membership} (elastic when it says so). */
    public Trainer(TrainConfig config, Membership membership, BaseModel customModel, Optimizer customOptimizer,
                   String runId) {
        this.config = Objects.requireNonNull(config, "config");
        this.membership = Objects.requireNonNull(membership, "membership");
        this.customModel = customModel;
        this.customOptimizer = customOptimizer;
        this.runId = Objects.requireNonNull(runId, "runId");
        if (membership.elastic() && membership.rows() == null) {
            throw new IllegalArgumentException("membership : elastic without a row store (expected: rows() != null)");
        }
        if (membership.elastic() && !config.sharedSaveDir() && config.shardStore().equals("local")) {
            throw new IllegalArgumentException("shard_store : local with shared_save_dir: false (expected: ignite; the"
                    + " local store keeps its blocks under model_save_dir, which ranks on other disks do not see)");
        }
    }

    /**
     * Copies checkpoints with {@code sync} (e.g. to and from HDFS): fetched before the warm start,
     * handed over after each commit on rank 0, drained at the end. The caller closes it.
     *
     * @return this trainer
     */
    public Trainer checkpointSync(CheckpointSync sync) {
        this.checkpointSync = Objects.requireNonNull(sync, "sync");
        return this;
    }

    /**
     * Tells {@code listener} about generations and steps on this rank (live reports, metrics).
     *
     * @return this trainer
     */
    public Trainer listener(TrainingListener listener) {
        this.listener = Objects.requireNonNull(listener, "listener");
        return this;
    }

    /** Trains {@code train_epochs} epochs (from the warm start's next epoch when checkpoint_dir is set). */
    public Summary train() throws IOException {
        int batch = config.trainBatchSize();
        Path saveDir = Path.of(config.modelSaveDir());
        ImageShape shape = new ImageShape(3, config.imageHeight(), config.imageWidth());
        Evaluator evaluator = config.withTest() ? Evaluator.open(config, shape) : null;
        try (Dataset data = Dataset.open(new DatasetConfig(Path.of(config.datasetDir()),
                DatasetFormat.parse(config.datasetFormat()), config.numClasses(), shape, config.skipBadSamples(),
                config.skipBadSamples()))) {
            int stepsPerEpoch = new GlobalBatchPlan(data.size(), batch, 1, config.seed()).stepsPerEpoch();
            Backbone backbone = customModel != null
                    ? Backbones.create(customModel, backboneConfig())
                    : Backbones.create(config.modelName(), backboneConfig());
            Optimizer optimizer = customOptimizer != null ? customOptimizer
                    : new MomentumSgd(config.momentum(), config.weightDecay());
            LrSchedule schedule = LrSchedule.forJob(config, data.size());
            Run run = new Run(data, stepsPerEpoch, backbone, optimizer, schedule, evaluator, saveDir);
            try {
                return run.execute();
            } finally {
                run.close();
            }
        }
    }

    /**
     * One call of {@link #train()}: the loop over generations, epochs and steps, and the state that
     * survives generation changes. What happens inside a step is {@link TrainingStep}'s, what happens
     * between generations {@link GenerationChange}'s, checkpoints {@link Checkpointing}'s.
     */
    private final class Run {
        final Dataset data;
        final int stepsPerEpoch;
        final Backbone backbone;
        final LrSchedule schedule;
        final Evaluator evaluator;
        final Path saveDir;
        final TrainingCursor cursor = new TrainingCursor();
        final Map<Long, Double> losses = new TreeMap<>();
        final TrainingStep step;
        final GenerationChange change;
        final Checkpointing checkpoints;
        Path lastCheckpoint;
        Map<String, MetricsLog.EvalResult> lastEval = Map.of();
        MetricsLog metrics;

        Run(Dataset data, int stepsPerEpoch, Backbone backbone, Optimizer optimizer, LrSchedule schedule,
            Evaluator evaluator, Path saveDir) {
            this.data = data;
            this.stepsPerEpoch = stepsPerEpoch;
            this.backbone = backbone;
            this.schedule = schedule;
            this.evaluator = evaluator;
            this.saveDir = saveDir;
            // the dynamic loss scaler (use_fp16), or null
            LossScaler scaler = config.lossScaling() ? LossScaler.of(config) : null;
            this.step = new TrainingStep(config, backbone, optimizer, scaler);
            this.change = new GenerationChange(config, membership, backbone, optimizer, scaler, stepsPerEpoch);
            this.checkpoints = new Checkpointing(config, checkpointSync, saveDir, runId, backbone, optimizer, scaler);
        }

        Summary execute() throws IOException {
            Membership.Member member = membership.join(0);
            while (true) {
                Generation g = new Generation(member.generation(), member.collective(), newShard(member));
                boolean done;
                // whether the ranks stopped together at a step boundary (their collective still works)
                boolean agreed = false;
                try {
                    begin(g);
                    done = runEpochs(g);
                    agreed = !done;
                } catch (CollectiveException e) {
                    if (!membership.elastic()) {
                        throw e;
                    }
                    LOG.warn("rank {} of generation {}: {}; saving its rows and waiting for the next generation",
                            g.rank(), g.number(), e.getMessage());
                    done = false;
                }
                if (done) {
                    finish(g);
                    checkpoints.drain();
                    return new Summary(List.copyOf(losses.values()),
                            losses.isEmpty() ? cursor.global : losses.keySet().iterator().next(), lastCheckpoint,
                            lastEval);
                }
                change.leave(g, agreed, cursor.global, metrics);
                member = membership.join(g.number());
            }
        }

        /**
         * This generation's FC shard. A rank that already trained in an elastic job gets every row from
         * the store at {@link GenerationChange#resync} (or initialises them there when nobody trained), so
         * its shard skips the seeded draw (~10 s at 1M x 512 before a failover's restore could start).
         */
        private PartialFc newShard(Membership.Member member) {
            if (membership.elastic() && cursor.valid) {
                return PartialFc.createUninitialised(config.fcConfig(), member.collective(), PartialFc.DEFAULT_CHUNK,
                        config.fcWeightsDtype(), config.fcMomentumDtype());
            }
            return PartialFc.create(config.fcConfig(), member.collective(), PartialFc.DEFAULT_CHUNK,
                    config.fcWeightsDtype(), config.fcMomentumDtype());
        }

        /** Sets up a generation: warm start or resync, rows from the store, metrics on rank 0, micro-batches. */
        private void begin(Generation g) throws IOException {
            if (config.trainBatchSize() % g.world() != 0) {
                throw new IllegalArgumentException("train_batch_size : " + config.trainBatchSize() + " (expected:"
                        + " divisible by the number of workers " + g.world() + "; it is the global batch)");
            }
            if (g.rank() == 0 && metrics == null) {
                metrics = MetricsLog.open(saveDir);
            } else if (g.rank() != 0 && metrics != null) {
                metrics.close();
                metrics = null;
            }
            change.begin();
            checkpoints.checkSaveDir(g);
            // micro-batches for this generation's local batch; fails here when not even one image fits
            step.plan(g, Integer.getInteger(LOCAL_WORKERS_PROPERTY, 1));
            if (!cursor.valid) {
                checkpoints.warmStartOrInit(g, cursor);
            }
            String restored = membership.elastic() ? change.resync(g, cursor, metrics) : "";
            cursor.valid = true;
            if (g.rank() == 0) {
                LOG.info("generation {}: training {} classes x {} over {} worker(s): {} samples, global batch {}, {} steps"
                        + " per epoch, epoch {} step {} (global {}) .. epoch {}, loss {}, model {}{}", g.number(),
                        config.numClasses(), config.embSize(), g.world(), data.size(), config.trainBatchSize(),
                        stepsPerEpoch, cursor.epoch, cursor.step, cursor.global, config.trainEpochs() - 1,
                        config.lossType(), customModel != null ? customModel.getClass().getSimpleName()
                                : config.modelName(), restored);
            }
            listener.generationStarted(g.number(), g.rank(), g.world(), g.start(), g.end());
        }

        /** Runs epochs from the cursor; true when all are done, false when the generation ended. */
        private boolean runEpochs(Generation g) throws IOException {
            if (metrics != null && membership.elastic()) {
                metrics.event("generation", Map.of("generation", g.number(), "world_size", g.world(), "epoch",
                        cursor.epoch, "step", cursor.global));
            }
            while (cursor.epoch < config.trainEpochs()) {
                if (!runEpoch(g)) {
                    return false;
                }
                int epoch = cursor.epoch;
                lastCheckpoint = checkpoints.epochEnd(g, cursor, metrics);
                cursor.epoch++;
                cursor.step = 0;
                if (evaluator != null && config.testPeriod() == 0) {
                    lastEval = evaluate(g, cursor.global, epoch);
                }
            }
            return true;
        }

        /** Runs the rest of the cursor's epoch; false when the generation ended at a step boundary. */
        private boolean runEpoch(Generation g) {
            int epoch = cursor.epoch;
            if (cursor.step >= stepsPerEpoch) {
                return true;
            }
            int rank = g.rank();
            GlobalBatchPlan plan = new GlobalBatchPlan(data.size(), config.trainBatchSize(), g.world(), config.seed());
            LoaderConfig lc = new LoaderConfig(rank, new GlobalBatchPlan.Position(epoch, cursor.step), epoch + 1, true,
                    3, 2);
            long windowStart = System.nanoTime();
            int windowSteps = 0;
            try (BatchLoader loader = new BatchLoader(data, plan, lc);
                 ProgressBar bar = rank == 0 ? new ProgressBar("epoch " + epoch, stepsPerEpoch) : null) {
                if (bar != null && cursor.step > 0) {
                    bar.step(cursor.step, "resumed at step " + cursor.step);
                }
                while (loader.hasNext()) {
                    long stepStart = System.nanoTime();
                    if (change.superseded(g)) {
                        return false;
                    }
                    Batch b = loader.next();
                    for (int i = 0; i < b.labels().length; i++) {
                        if (b.labels()[i] == Batch.IGNORED) {
                            throw new IllegalStateException("epoch " + epoch + " step " + b.step() + ": unreadable sample "
                                    + b.badSamples() + " (the data changed after it was validated at start)");
                        }
                    }
                    long globalStep = cursor.global;
                    double lr = schedule.lr(globalStep);
                    PartialFc.StepResult r = step.run(g, b, epoch, globalStep, lr);
                    losses.put(globalStep, r.loss());
                    cursor.global++;
                    cursor.step++;
                    windowSteps++;
                    listener.stepDone(new TrainingListener.Step(g.number(), rank, g.world(), epoch, cursor.global,
                            (long) config.trainEpochs() * stepsPerEpoch, r.loss(), lr,
                            (System.nanoTime() - stepStart) / 1e9, config.trainBatchSize()));
                    boolean last = b.step() == stepsPerEpoch - 1;
                    if (metrics != null && (globalStep % config.logPeriod() == 0 || last)) {
                        double secs = (System.nanoTime() - windowStart) / 1e9;
                        LossScaler scaler = step.scaler();
                        metrics.train(globalStep, epoch, r.loss(), lr, windowSteps * config.trainBatchSize() / secs,
                                g.world(), r.acc1(), r.acc5(), scaler == null ? Double.NaN : scaler.scale(),
                                scaler == null ? -1 : scaler.skippedSteps());
                        windowStart = System.nanoTime();
                        windowSteps = 0;
                    }
                    if (bar != null) {
                        bar.step(1, String.format(Locale.ROOT, "loss %.4f lr %.4g%s", r.loss(), lr,
                                config.calcAcc() ? String.format(Locale.ROOT, " acc1 %.3f", r.acc1()) : ""));
                    }
                    change.afterStep(g, cursor.global);
                    if (evaluator != null && config.testPeriod() > 0 && cursor.global % config.testPeriod() == 0) {
                        evaluate(g, cursor.global, epoch);
                    }
                }
            }
            return true;
        }

        /** Rank 0 evaluates (the backbone is replicated); the others wait for it. */
        private Map<String, MetricsLog.EvalResult> evaluate(Generation g, long step, int epoch) {
            Map<String, MetricsLog.EvalResult> results = new LinkedHashMap<>();
            if (g.rank() == 0) {
                results = evaluator.evaluate(backbone.inference());
                metrics.eval(step, epoch, results);
                results.forEach((name, r) -> LOG.info("eval {} at step {}: accuracy {} ± {}, VAL {} @ FAR {}", name, step,
                        fmt(r.accuracy()), fmt(r.accuracyStd()), fmt(r.val()), fmt(r.far())));
            }
            g.collective().barrier();
            return results;
        }

        private void finish(Generation g) throws IOException {
            change.flushFinal(g, cursor.global);
            if (metrics != null) {
                CurvePlot.write(metrics.trainPoints(), metrics.evalPoints(), saveDir.resolve(CURVES_PNG));
            }
            change.finish(g);
        }

        void close() {
            if (metrics != null) {
                metrics.close();
            }
            change.close();
        }
    }

    /** Whether every gradient value is finite (one reduction per array: a NaN or an Inf makes the sum non-finite). */
    static boolean allFinite(Map<String, INDArray> grads) {
        for (INDArray a : grads.values()) {
            if (!Double.isFinite(a.sumNumber().doubleValue())) {
                return false;
            }
        }
        return true;
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
