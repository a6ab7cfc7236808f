package org.plsc4j.worker;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.plsc4j.core.LossScaler;
import org.plsc4j.core.PartialFc;
import org.plsc4j.core.TrainConfig;
import org.plsc4j.core.collective.Collective;
import org.plsc4j.core.collective.CollectiveException;
import org.plsc4j.core.collective.ReduceOp;
import org.plsc4j.worker.internal.RowTransfer;
import org.plsc4j.worker.internal.ShardFlusher;
import org.plsc4j.worker.internal.StateBroadcast;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The elastic recipe of a trainer: what happens when one generation of workers ends and the next
 * begins. At a generation start the most advanced rank broadcasts the backbone, the optimizer state,
 * the loss scaler and the cursor, and every rank reads the FC rows of its new class range from the
 * {@link FcRowStore}; between generations rows are flushed in the background every
 * {@code shard_sync_steps} steps; when a generation ends each rank writes its rows before leaving.
 * A fixed group uses only {@link #superseded} (never true) and {@link #finish}.
 */
final class GenerationChange implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(GenerationChange.class);

    private final TrainConfig config;
    private final Membership membership;
    private final Backbone backbone;
    private final Optimizer optimizer;
    private final LossScaler scaler;
    private final int stepsPerEpoch;
    private ShardFlusher flusher;
    /** Whether this generation's FC shard holds the job's rows (else it must not be flushed). */
    private boolean rowsValid;
    /**
     * Whether this rank knows that the job trained since the store learnt every class (the first
     * flush of a job): from then on, a row the store cannot give back is a trained one, lost.
     */
    private boolean trainedSinceStored;

    GenerationChange(TrainConfig config, Membership membership, Backbone backbone, Optimizer optimizer,
                     LossScaler scaler, int stepsPerEpoch) {
        this.config = config;
        this.membership = membership;
        this.backbone = backbone;
        this.optimizer = optimizer;
        this.scaler = scaler;
        this.stepsPerEpoch = stepsPerEpoch;
    }

    /** A new generation's FC shard is not the job's until {@link #resync} (or training) filled it. */
    void begin() {
        rowsValid = false;
    }

    /**
     * At a step boundary of an elastic job: whether the ranks agree to stop because a newer generation
     * exists (one tiny all-reduce). Always false for a fixed group.
     */
    boolean superseded(Generation g) {
        if (!membership.elastic()) {
            return false;
        }
        int[] stop = {membership.superseded(g.number()) ? 1 : 0};
        g.collective().allReduce(stop, ReduceOp.MAX);
        return stop[0] != 0;
    }

    /** After step {@code global} of an elastic job: the background flush of this rank's rows, every shard_sync_steps. */
    void afterStep(Generation g, long global) {
        if (membership.elastic()) {
            trainedSinceStored = true;
            if (global % config.shardSyncSteps() == 0) {
                flusher(g).flushAsync(g.start(), RowTransfer.Shard.of(g.fc()), global);
            }
        }
    }

    /**
     * Elastic generation start: the most advanced rank's backbone, optimizer and cursor go to all;
     * FC rows come from the store (or, when nobody has trained yet, go into it).
     *
     * @return what was restored, for the generation's log line
     */
    String resync(Generation g, TrainingCursor cursor, MetricsLog metrics) {
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
            if (!fc.initialised()) {
                fc.initialiseAll();
            }
            for (int r = 0; r < g.world(); r++) {
                if (r == g.rank()) {
                    flusher(g).flushNow(g.start(), RowTransfer.Shard.of(fc), cursor.global);
                }
                c.barrier();
            }
            rowsValid = true;
            trainedSinceStored = false;
            return ", rows initialised and stored";
        }
        if (min != max) {
            broadcastFromMostAdvanced(c, cursor, mine, max);
        }
        // every rank of the previous generation wrote its rows before leaving it; a dead one's rows
        // are as of its last flush. Block by block into the live shard (rows the store lacks keep
        // their initial values until the check below; a shard created without them gets them only
        // for the transfers that miss rows)
        int[] trained = {trainedSinceStored ? 1 : 0};
        c.allReduce(trained, ReduceOp.MAX);
        trainedSinceStored = trained[0] != 0;
        long t0 = System.nanoTime();
        RowTransfer.Result r = RowTransfer.read(membership.rows(), g.start(), RowTransfer.Shard.of(fc),
                fc.initialised() ? null : fc::initialiseRows);
        fc.weightsChanged();
        int[] millis = {(int) Math.min(Integer.MAX_VALUE, (System.nanoTime() - t0) / 1_000_000)};
        c.allReduce(millis, ReduceOp.MAX);
        rowsValid = true;
        int[] missing = {r.missingRows()};
        c.allReduce(missing, ReduceOp.SUM);
        int lo = r.minVersion() < 0 ? Integer.MAX_VALUE : (int) Math.min(Integer.MAX_VALUE, r.minVersion());
        int[] ver = {-lo, (int) Math.min(Integer.MAX_VALUE, r.maxVersion())};
        c.allReduce(ver, ReduceOp.MAX);
        if (metrics != null) {
            metrics.event("restore", Map.of("generation", g.number(), "step", cursor.global, "missing_rows",
                    missing[0], "min_version", -ver[0], "max_version", ver[1], "seconds", millis[0] / 1000.0));
        }
        if (missing[0] > 0) {
            List<FcRowStore.Range> named = MissingRows.gather(c, r.missing());
            if (!trainedSinceStored) {
                LOG.info("rank {} of generation {}: {} rows (classes {}) were never stored; no step trained since the"
                        + " job's first flush, so their initial values are theirs", g.rank(), g.number(),
                        r.missingRows(), r.missing());
            } else if (config.allowMissingRows()) {
                LOG.warn("rank {} of generation {}: {} trained rows (classes {}) are missing from the {}; they restart"
                        + " from their initial values (allow_missing_rows: true)", g.rank(), g.number(),
                        r.missingRows(), r.missing(), membership.rows().describe());
            } else {
                throw new MissingRowsException(MissingRows.message(g.number(), missing[0], named,
                        membership.rows().describe()), named, missing[0]);
            }
        }
        return String.format(Locale.ROOT, ", rows restored from the store in %.2f s (versions %d..%d, %d missing)",
                millis[0] / 1000.0, -ver[0], ver[1], missing[0]);
    }

    /** The lowest rank among the most advanced sends its cursor, loss scaler, backbone and optimizer state. */
    private void broadcastFromMostAdvanced(Collective c, TrainingCursor cursor, int mine, int max) {
        int[] who = {mine == max ? -c.rank() : Integer.MIN_VALUE};
        c.allReduce(who, ReduceOp.MAX);
        int source = -who[0];
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
    void leave(Generation g, boolean agreed, long global, MetricsLog metrics) {
        if (rowsValid) {
            try {
                flusher(g).flushNow(g.start(), RowTransfer.Shard.of(g.fc()), global);
            } catch (IllegalArgumentException e) {
                throw e;
            } catch (RuntimeException e) {
                if (agreed) {
                    throw e; // a healthy group whose store refuses a write: the job must hear of it
                }
                // after a failure this rank may be the one cut off (a partition takes its store node with
                // it): its rows are as of its last completed write, as a dead rank's are, and the next
                // generation's restore reports whatever the store lacks
                LOG.warn("rank {} of generation {}: could not save its rows after the failure ({}); the next"
                        + " generation reads its classes as of its last completed write", g.rank(), g.number(),
                        e.toString());
            }
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
            metrics.event("generation_end", Map.of("generation", g.number(), "step", global,
                    "flushes", flusher(g).writes(), "flushes_skipped", flusher(g).skipped()));
        }
        g.collective().close();
    }

    /** Before the job's end: an elastic job's final rows go to the store. */
    void flushFinal(Generation g, long global) {
        if (membership.elastic()) {
            flusher(g).flushNow(g.start(), RowTransfer.Shard.of(g.fc()), global);
        }
    }

    /** The job's end: an elastic group tells the coordinator (rank 0) that the job finished, then closes. */
    void finish(Generation g) {
        if (membership.elastic()) {
            g.collective().barrier();
            if (g.rank() == 0) {
                membership.finished();
            }
            g.collective().barrier();
            g.collective().close();
        }
    }

    private ShardFlusher flusher(Generation g) {
        if (flusher == null) {
            flusher = new ShardFlusher(membership.rows(), g.rank());
        }
        return flusher;
    }

    @Override
    public void close() {
        if (flusher != null) {
            flusher.close();
        }
    }
}
