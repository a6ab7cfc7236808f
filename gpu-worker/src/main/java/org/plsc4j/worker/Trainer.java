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
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.checkpoint.Checkpoint;
import org.plsc4j.core.FcDtype;
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
import org.plsc4j.core.collective.ReduceOp;
import org.plsc4j.worker.internal.CurvePlot;
import org.plsc4j.core.internal.ProgressBar;
import org.plsc4j.worker.internal.ShardFlusher;
import org.plsc4j.worker.internal.StateBroadcast;
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

    /** Where training stands: the next step to run. Identical on all ranks at a generation start. */
    private static final class Cursor {
        int epoch;
        int step;
        long global;
        boolean valid;

        /** Strictly increasing over the run, also across an epoch end (epoch e done = epoch e+1 step 0 - 1). */
        int key(int stepsPerEpoch) {
            return valid ? 1 + epoch * (stepsPerEpoch + 1) + step : 0;
        }
    }

    /** What one generation of this rank works with. */
    private record Gen(long number, Collective collective, PartialFc fc) {
        int rank() {
            return collective.rank();
        }

        int world() {
            return collective.worldSize();
        }

        int start() {
            return fc.layout().start(fc.rank());
        }

        int end() {
            return fc.layout().end(fc.rank());
        }
    }

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
        if (membership.elastic() && (config.fcWeightsDtype() != FcDtype.FLOAT32
                || config.fcMomentumDtype() != FcDtype.FLOAT32)) {
            // the shard store moves float32 rows; converting a half shard there would need a full-size copy
            throw new IllegalArgumentException("fc_dtype : " + config.fcStorageDtype() + " (not yet supported in"
                    + " elastic jobs, whose shard store keeps float32 rows; expected: float32, or a fixed group)");
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
            LrSchedule schedule = new LrSchedule(config.baseLr(), config.lrSteps(), 0.1,
                    Math.round(config.warmupEpochs() * stepsPerEpoch), 0.0);
            Run run = new Run(data, stepsPerEpoch, backbone, optimizer, schedule, evaluator, saveDir);
            try {
                return run.execute();
            } finally {
                run.close();
            }
        }
    }

    /** One call of {@link #train()}: the state that survives generation changes. */
    private final class Run {
        final Dataset data;
        final int stepsPerEpoch;
        final Backbone backbone;
        final Optimizer optimizer;
        final LrSchedule schedule;
        final Evaluator evaluator;
        final Path saveDir;
        final Cursor cursor = new Cursor();
        final Map<Long, Double> losses = new TreeMap<>();
        Path lastCheckpoint;
        Map<String, MetricsLog.EvalResult> lastEval = Map.of();
        MetricsLog metrics;
        ShardFlusher flusher;
        /** Whether this generation's FC shard holds the job's rows (else it must not be flushed). */
        boolean rowsValid;
        /** The dynamic loss scaler (use_fp16), or null. */
        final LossScaler scaler = config.lossScaling() ? LossScaler.of(config) : null;

        Run(Dataset data, int stepsPerEpoch, Backbone backbone, Optimizer optimizer, LrSchedule schedule,
            Evaluator evaluator, Path saveDir) {
            this.data = data;
            this.stepsPerEpoch = stepsPerEpoch;
            this.backbone = backbone;
            this.optimizer = optimizer;
            this.schedule = schedule;
            this.evaluator = evaluator;
            this.saveDir = saveDir;
        }

        Summary execute() throws IOException {
            Membership.Member member = membership.join(0);
            while (true) {
                Gen g = new Gen(member.generation(), member.collective(),
                        PartialFc.create(config.fcConfig(), member.collective(), PartialFc.DEFAULT_CHUNK,
                                config.fcWeightsDtype(), config.fcMomentumDtype()));
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
                    checkpointSync.drain();
                    return new Summary(List.copyOf(losses.values()),
                            losses.isEmpty() ? cursor.global : losses.keySet().iterator().next(), lastCheckpoint,
                            lastEval);
                }
                leave(g, agreed);
                member = membership.join(g.number());
            }
        }

        /** Sets up a generation: warm start or resync, rows from the store, metrics on rank 0. */
        private void begin(Gen g) throws IOException {
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
            rowsValid = false;
            if (!cursor.valid) {
                warmStartOrInit(g);
            }
            String restored = membership.elastic() ? resync(g) : "";
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

        private void warmStartOrInit(Gen g) throws IOException {
            if (!config.checkpointDir().isEmpty()) {
                Path fetched = checkpointSync.fetch(g.rank(), g.world(), g.start(), g.end());
                Checkpoint ck = CheckpointIo.resolve(fetched != null ? fetched : Path.of(config.checkpointDir()));
                CheckpointIo.load(ck, config, g.fc(), backbone, optimizer);
                CheckpointIo.restoreLossScaler(ck, scaler);
                cursor.epoch = ck.epoch() + 1;
                cursor.step = 0;
                cursor.global = ck.step();
                if (g.rank() == 0) {
                    LOG.info("warm start from {} (epoch {}, step {}, {} ranks {} -> {} ranks {})", ck.dir(), ck.epoch(),
                            ck.step(), ck.layout().worldSize(), ck.layout().kind(), g.world(), g.fc().layout().kind());
                }
            } else {
                cursor.epoch = 0;
                cursor.step = 0;
                cursor.global = 0;
            }
        }

        /**
         * Elastic generation start: the most advanced rank's backbone, optimizer and cursor go to all;
         * FC rows come from the store (or, when nobody has trained yet, go into it).
         */
        private String resync(Gen g) {
            Collective c = g.collective();
            int mine = cursor.valid ? cursor.key(stepsPerEpoch) : 0;
            int[] keys = {mine, -mine};
            c.allReduce(keys, ReduceOp.MAX);
            int max = keys[0];
            int min = -keys[1];
            PartialFc fc = g.fc();
            if (max == 0) {
                // nobody has trained in this job yet: every rank initialised (or warm-started) the same
                // way, and the store learns the initial rows of every class. In rank order: a store block
                // may span more than two ranks (classes per rank < block rows), and a merge must stay
                // contiguous, so rank 2's rows must not arrive before rank 1's
                for (int r = 0; r < g.world(); r++) {
                    if (r == g.rank()) {
                        flusher(g).flushNow(g.start(), g.end(), fc.weights(), fc.momentum(), cursor.global);
                    }
                    c.barrier();
                }
                rowsValid = true;
                return ", rows initialised and stored";
            }
            if (min != max) {
                int[] who = {mine == max ? -c.rank() : Integer.MIN_VALUE};
                c.allReduce(who, ReduceOp.MAX);
                int source = -who[0]; // the lowest rank among the most advanced
                int[] cur = {cursor.epoch, cursor.step, (int) (cursor.global >>> 32), (int) cursor.global,
                    scaler == null ? 0 : Float.floatToIntBits(scaler.scale()), scaler == null ? 0 : scaler.goodSteps(),
                    scaler == null ? 0 : scaler.badSteps(), scaler == null ? 0 : (int) scaler.skippedSteps()};
                c.broadcast(cur, source);
                Map<String, INDArray> state = new LinkedHashMap<>(backbone.parameters());
                state.putAll(backbone.state());
                Map<String, INDArray> got = StateBroadcast.broadcast(c.rank() == source ? state : null, source, c);
                Map<String, INDArray> opt = StateBroadcast.broadcast(c.rank() == source ? optimizer.state() : null,
                        source, c);
                if (c.rank() != source) {
                    cursor.epoch = cur[0];
                    cursor.step = cur[1];
                    cursor.global = ((long) cur[2] << 32) | (cur[3] & 0xFFFFFFFFL);
                    if (scaler != null) {
                        // every rank must scale alike: the loss scaler travels with the cursor
                        scaler.restore(Float.intBitsToFloat(cur[4]), cur[5], cur[6], cur[7]);
                    }
                    backbone.load(got);
                    optimizer.loadState(opt);
                }
            }
            // every rank of the previous generation wrote its rows before leaving it; a dead one's rows
            // are as of its last flush
            int dim = config.embSize();
            int n = g.end() - g.start();
            float[] w = fc.weights().dup('c').data().asFloat();
            float[] m = fc.momentum().dup('c').data().asFloat();
            FcRowStore.ReadResult r = membership.rows().read(g.start(), g.end(), dim, w, m);
            fc.load(Nd4j.create(w, new long[] {n, dim}, 'c'), Nd4j.create(m, new long[] {n, dim}, 'c'));
            rowsValid = true;
            if (r.missingRows() > 0) {
                LOG.warn("rank {} of generation {}: {} of classes [{}, {}) were never stored; they start from their"
                        + " initial values", g.rank(), g.number(), r.missingRows(), g.start(), g.end());
            }
            int[] missing = {r.missingRows()};
            c.allReduce(missing, ReduceOp.SUM);
            int lo = r.minVersion() < 0 ? Integer.MAX_VALUE : (int) Math.min(Integer.MAX_VALUE, r.minVersion());
            int[] ver = {-lo, (int) Math.min(Integer.MAX_VALUE, r.maxVersion())};
            c.allReduce(ver, ReduceOp.MAX);
            if (metrics != null) {
                metrics.event("restore", Map.of("generation", g.number(), "step", cursor.global, "missing_rows",
                        missing[0], "min_version", -ver[0], "max_version", ver[1]));
            }
            return String.format(Locale.ROOT, ", rows restored from the store (versions %d..%d, %d missing)", -ver[0],
                    ver[1], missing[0]);
        }

        private ShardFlusher flusher(Gen g) {
            if (flusher == null) {
                flusher = new ShardFlusher(membership.rows(), g.rank());
            }
            return flusher;
        }

        /** Runs epochs from the cursor; true when all are done, false when the generation ended. */
        private boolean runEpochs(Gen g) throws IOException {
            if (metrics != null && membership.elastic()) {
                metrics.event("generation", Map.of("generation", g.number(), "world_size", g.world(), "epoch",
                        cursor.epoch, "step", cursor.global));
            }
            while (cursor.epoch < config.trainEpochs()) {
                if (!runEpoch(g)) {
                    return false;
                }
                int epoch = cursor.epoch;
                lastCheckpoint = CheckpointIo.save(saveDir, epoch, cursor.global, runId + "-g" + g.number(), config,
                        g.fc(), backbone, optimizer, g.collective(), scaler);
                if (metrics != null) {
                    metrics.event("checkpoint", Map.of("epoch", epoch, "step", cursor.global, "dir",
                            lastCheckpoint.toString()));
                }
                if (g.rank() == 0) {
                    checkpointSync.committed(lastCheckpoint, epoch, cursor.global, metrics);
                }
                cursor.epoch++;
                cursor.step = 0;
                if (evaluator != null && config.testPeriod() == 0) {
                    lastEval = evaluate(g, cursor.global, epoch);
                }
            }
            return true;
        }

        /** Runs the rest of the cursor's epoch; false when the generation ended at a step boundary. */
        private boolean runEpoch(Gen g) {
            int epoch = cursor.epoch;
            if (cursor.step >= stepsPerEpoch) {
                return true;
            }
            int rank = g.rank();
            Collective collective = g.collective();
            PartialFc fc = g.fc();
            GlobalBatchPlan plan = new GlobalBatchPlan(data.size(), config.trainBatchSize(), g.world(), config.seed());
            LoaderConfig lc = new LoaderConfig(rank, new GlobalBatchPlan.Position(epoch, cursor.step), epoch + 1, true,
                    3, 2);
            long windowStart = System.nanoTime();
            int windowSteps = 0;
            boolean elastic = membership.elastic();
            try (BatchLoader loader = new BatchLoader(data, plan, lc);
                 ProgressBar bar = rank == 0 ? new ProgressBar("epoch " + epoch, stepsPerEpoch) : null) {
                if (bar != null && cursor.step > 0) {
                    bar.step(cursor.step, "resumed at step " + cursor.step);
                }
                while (loader.hasNext()) {
                    long stepStart = System.nanoTime();
                    if (elastic) {
                        int[] stop = {membership.superseded(g.number()) ? 1 : 0};
                        collective.allReduce(stop, ReduceOp.MAX);
                        if (stop[0] != 0) {
                            return false;
                        }
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
                    INDArray emb = backbone.forwardTrain(b.images(), globalStep * 1_000_003L + rank);
                    double lossScale = scaler == null ? 1.0 : scaler.scale();
                    PartialFc.StepResult r = fc.forwardBackward(emb, b.labels(), globalStep, config.calcAcc(),
                            lossScale);
                    backbone.backward(r.featureGrad());
                    DataParallel.allReduceGradients(backbone.gradients(), collective);
                    // the update decision comes before any update: every rank's FC and backbone gradients
                    int[] bad = {r.gradsFinite() && allFinite(backbone.gradients()) ? 0 : 1};
                    if (g.world() > 1) {
                        collective.allReduce(bad, ReduceOp.MAX);
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
                    if (elastic && cursor.global % config.shardSyncSteps() == 0) {
                        flusher(g).flushAsync(g.start(), g.end(), fc.weights(), fc.momentum(), cursor.global);
                    }
                    if (evaluator != null && config.testPeriod() > 0 && cursor.global % config.testPeriod() == 0) {
                        evaluate(g, cursor.global, epoch);
                    }
                }
            }
            return true;
        }

        /** Rank 0 evaluates (the backbone is replicated); the others wait for it. */
        private Map<String, MetricsLog.EvalResult> evaluate(Gen g, long step, int epoch) {
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

        /**
         * Leaves a generation: the rows go to the store so the next generation can re-partition them.
         *
         * <p>When the ranks stopped together ({@code agreed}), they also wait for each other's final
         * write before leaving: the next generation reads the store as soon as its own members have
         * joined, and a rank that is not in it (it left the job) or joins it late must not still be
         * writing then, or those classes would be read as of an older flush (the elastic curve would
         * differ from the single-worker one). After a failure the group is broken and a dead rank's
         * rows are as of its last flush anyway.
         */
        private void leave(Gen g, boolean agreed) {
            if (rowsValid) {
                flusher(g).flushNow(g.start(), g.end(), g.fc().weights(), g.fc().momentum(), cursor.global);
            }
            if (agreed) {
                try {
                    g.collective().barrier();
                } catch (CollectiveException e) {
                    LOG.warn("rank {} of generation {}: a peer failed before its rows were known to be stored ({});"
                            + " its classes come back as of its last completed write", g.rank(), g.number(),
                            e.getMessage());
                }
            }
            if (metrics != null) {
                metrics.event("generation_end", Map.of("generation", g.number(), "step", cursor.global,
                        "flushes", flusher(g).writes(), "flushes_skipped", flusher(g).skipped()));
            }
            g.collective().close();
        }

        private void finish(Gen g) throws IOException {
            if (membership.elastic()) {
                flusher(g).flushNow(g.start(), g.end(), g.fc().weights(), g.fc().momentum(), cursor.global);
            }
            if (metrics != null) {
                CurvePlot.write(metrics.trainPoints(), metrics.evalPoints(), saveDir.resolve(CURVES_PNG));
            }
            if (membership.elastic()) {
                g.collective().barrier();
                if (g.rank() == 0) {
                    membership.finished();
                }
                g.collective().barrier();
                g.collective().close();
            }
        }

        void close() {
            if (metrics != null) {
                metrics.close();
            }
            if (flusher != null) {
                flusher.close();
            }
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
