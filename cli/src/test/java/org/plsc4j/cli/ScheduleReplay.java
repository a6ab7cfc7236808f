package org.plsc4j.cli;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import org.plsc4j.core.TrainConfig;
import org.plsc4j.core.collective.Collective;
import org.plsc4j.core.collective.CollectiveConfig;
import org.plsc4j.core.collective.Collectives;
import org.plsc4j.worker.FcRowStore;
import org.plsc4j.worker.Membership;
import org.plsc4j.worker.Trainer;
import org.plsc4j.worker.TrainingListener;

/**
 * The schedule a bed job actually ran, replayed on one rank in the test JVM: the reference the
 * bed's final checkpoint must equal. The replay runs the real {@link Trainer} through a scripted
 * {@link Membership} of world size 1 whose generations end where the bed's did, and whose row
 * store restores each class as of the version the bed's store held for it then. By the design's
 * world-size invariance (the global batch plan and the LR schedule depend on the global step only;
 * the sharded step equals the single-worker step up to float reduction order), the bed's final
 * backbone and FC rows then equal the replay's.
 *
 * <p>Why not simply the uninterrupted single-worker run: when a rank dies, its classes come back
 * as of its last flush (up to {@code shard_sync_steps - 1} of their updates are lost, by design),
 * and a survivor whose FC update of the failed step had happened writes its rows with that update
 * (the step in flight is redone, so those rows see it twice). Both are part of the documented
 * schedule, so the reference replays them rather than the uninterrupted run.
 */
final class ScheduleReplay {

    private ScheduleReplay() {
    }

    /**
     * A generation change after {@code step} completed global steps: classes
     * {@code [lostStart, lostEnd)} (a dead rank's; empty for a clean change) restored as of
     * {@code lostVersion}, every other class as of {@code step}, or of {@code step + 1} when
     * {@code inFlight} (the survivors had applied the failed step's FC update).
     */
    record Change(long step, int lostStart, int lostEnd, long lostVersion, boolean inFlight) {

        /** A change at a step boundary where every rank wrote its rows (a voluntary one). */
        static Change clean(long step) {
            return new Change(step, 0, 0, step, false);
        }

        long version(int classId) {
            return classId >= lostStart && classId < lostEnd ? lostVersion : inFlight ? step + 1 : step;
        }
    }

    /** A replay's outcome: its last checkpoint and every row version it stored. */
    record Result(Path lastCheckpoint, History history) {
    }

    /**
     * Runs {@code cfg} (its {@code model_save_dir} the reference's own; {@code shard_sync_steps: 1}
     * so every version is kept) with generations ending at {@code changes}; {@code sources.get(i)}
     * (may be null) is a replay of {@code changes[0..i)}, needed only for versions this run has not
     * stored itself at change i (the step in flight).
     */
    static Result run(TrainConfig cfg, List<Change> changes, List<History> sources, String id) throws Exception {
        Replay m = new Replay(id, changes, sources);
        try (m) {
            Trainer.Summary s = new Trainer(cfg, m, null, null, id).listener(m).train();
            return new Result(s.lastCheckpoint(), m.rows);
        }
    }

    /** The single rank's membership: a new generation after each change's step. */
    private static final class Replay implements Membership, TrainingListener {
        private final String id;
        private final List<Change> changes;
        private final List<History> sources;
        final History rows = new History();
        private final AtomicLong completed = new AtomicLong();
        private Collective open;

        Replay(String id, List<Change> changes, List<History> sources) {
            this.id = id;
            this.changes = changes;
            this.sources = sources;
        }

        @Override
        public Member join(long after) {
            if (after > 0) {
                int i = (int) after - 1;
                rows.restore(changes.get(i), sources == null || sources.size() <= i ? null : sources.get(i));
                open.close();
            }
            long g = after + 1;
            open = Collectives.join("inprocess", CollectiveConfig.builder().jobId(id + "-g" + g).rank(0).worldSize(1)
                    .timeout(Duration.ofMinutes(1)).build());
            return new Member(g, open);
        }

        @Override
        public boolean superseded(long generation) {
            int i = (int) generation - 1;
            return i < changes.size() && completed.get() >= changes.get(i).step();
        }

        @Override
        public void stepDone(Step step) {
            completed.set(step.globalStep());
        }

        @Override
        public boolean elastic() {
            return true;
        }

        @Override
        public FcRowStore rows() {
            return rows;
        }

        @Override
        public void close() {
            if (open != null) {
                open.close();
            }
        }
    }

    /** Every version of every class's row (weights, momentum) a replay stored, in memory. */
    static final class History implements FcRowStore {
        private final Map<Integer, TreeMap<Long, float[][]>> rows = new HashMap<>();
        private Change restoring;
        private History source;

        synchronized void restore(Change change, History from) {
            restoring = change;
            source = from;
        }

        /** Class {@code classId}'s weights as stored at {@code version}, or null. */
        synchronized float[] weights(int classId, long version) {
            float[][] r = rows.getOrDefault(classId, new TreeMap<>()).get(version);
            return r == null ? null : r[0].clone();
        }

        @Override
        public synchronized void write(int start, int end, int dim, float[] weights, float[] momentum, long version) {
            for (int c = start; c < end; c++) {
                int o = (c - start) * dim;
                rows.computeIfAbsent(c, k -> new TreeMap<>()).put(version, new float[][] {
                    java.util.Arrays.copyOfRange(weights, o, o + dim), java.util.Arrays.copyOfRange(momentum, o, o + dim)});
            }
        }

        @Override
        public synchronized ReadResult read(int start, int end, int dim, float[] weights, float[] momentum) {
            long lo = Long.MAX_VALUE;
            long hi = -1;
            for (int c = start; c < end; c++) {
                TreeMap<Long, float[][]> versions = rows.get(c);
                if (versions == null) {
                    throw new IllegalStateException("replay: class " + c + " was never stored");
                }
                long v;
                float[][] r;
                if (restoring == null) {
                    v = versions.lastKey();
                    r = versions.lastEntry().getValue();
                } else {
                    v = restoring.version(c);
                    r = versions.get(v);
                    if (r == null && source != null) {
                        r = source.rows.getOrDefault(c, new TreeMap<>()).get(v);
                    }
                    if (r == null) {
                        throw new IllegalStateException("replay: no version " + v + " of class " + c + " (stored: "
                                + versions.keySet() + (source == null ? "; no source run" : "") + ")");
                    }
                }
                System.arraycopy(r[0], 0, weights, (c - start) * dim, dim);
                System.arraycopy(r[1], 0, momentum, (c - start) * dim, dim);
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
            }
            return new ReadResult(0, lo, hi, new ArrayList<>());
        }

        @Override
        public String describe() {
            return "the replay's in-memory rows";
        }
    }
}
