package org.plsc4j.elastic;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.IntPredicate;
import org.plsc4j.core.collective.Collective;
import org.plsc4j.core.collective.CollectiveConfig;
import org.plsc4j.core.collective.Collectives;
import org.plsc4j.worker.FcRowStore;
import org.plsc4j.worker.Membership;

/**
 * An elastic job without ZooKeeper, for tests: the test publishes generations (member lists)
 * itself, ranks are threads over the in-process collective, and FC rows live in an in-memory
 * {@link FcRowStore} that records what each generation read.
 */
final class ScriptedJob {

    /** Thrown to a worker whose membership ended (it left or was "killed"). */
    static final class Gone extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Gone(String m) {
            super(m);
        }
    }

    private final String id;
    private final MemoryRows rows;
    private final Map<Long, List<String>> generations = new HashMap<>();
    private long current;
    private final Map<String, Collective> open = new HashMap<>();

    ScriptedJob(String id) {
        this(id, 0);
    }

    /** A job whose store moves at most {@code transferRows} classes per call (0: the store's default). */
    ScriptedJob(String id, int transferRows) {
        this.id = id;
        this.rows = new MemoryRows(transferRows);
    }

    MemoryRows rows() {
        return rows;
    }

    /** Publishes the next generation with these members in rank order; returns its number. */
    synchronized long publish(List<String> members) {
        current++;
        generations.put(current, List.copyOf(members));
        notifyAll();
        return current;
    }

    synchronized long current() {
        return current;
    }

    /** Breaks {@code worker}'s current collective as a crash would (peers fail in their next operation). */
    synchronized void crash(String worker) {
        Collective c = open.get(worker);
        if (c != null) {
            c.close();
        }
    }

    /**
     * The membership of {@code worker}; {@code hook} sees every step boundary of a generation
     * (its argument: how many boundaries this worker passed in that generation) and returns true to
     * make this worker crash there: its collective breaks and its trainer gets {@link Gone} without
     * writing its rows.
     */
    Membership member(String worker, java.util.function.LongFunction<IntPredicate> hook) {
        return new Membership() {
            private final Map<Long, Integer> calls = new HashMap<>();

            @Override
            public Member join(long after) {
                long g;
                int rank;
                int world;
                synchronized (ScriptedJob.this) {
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
                    while (true) {
                        List<String> m = generations.get(current);
                        if (current > after && m != null && m.contains(worker)) {
                            g = current;
                            rank = m.indexOf(worker);
                            world = m.size();
                            break;
                        }
                        if (current > after && after > 0 && !m.contains(worker)) {
                            throw new Gone(worker + " is not in generation " + current);
                        }
                        long left = deadline - System.nanoTime();
                        if (left <= 0) {
                            throw new IllegalStateException(worker + ": no generation after " + after);
                        }
                        try {
                            TimeUnit.NANOSECONDS.timedWait(ScriptedJob.this, left);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            throw new IllegalStateException(e);
                        }
                    }
                }
                CollectiveConfig cc = CollectiveConfig.builder().jobId(id + "-g" + g).rank(rank).worldSize(world)
                        .timeout(Duration.ofSeconds(60)).build();
                Collective c = Collectives.join("inprocess", cc);
                synchronized (ScriptedJob.this) {
                    open.put(worker, c);
                }
                return new Member(g, c);
            }

            @Override
            public boolean superseded(long generation) {
                int n = calls.merge(generation, 1, Integer::sum);
                if (hook.apply(generation).test(n)) {
                    crash(worker);
                    throw new Gone(worker + " crashed at boundary " + n + " of generation " + generation);
                }
                synchronized (ScriptedJob.this) {
                    return current > generation;
                }
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
            }
        };
    }

    /** Rows per class, with a log of every read and of the size of every call. */
    static final class MemoryRows implements FcRowStore {
        private final Map<Integer, float[]> w = new HashMap<>();
        private final Map<Integer, float[]> m = new HashMap<>();
        private final Map<Integer, Long> version = new HashMap<>();
        final List<Read> reads = new ArrayList<>();
        private final int transferRows;
        /** Classes per write call, in call order. */
        final List<Integer> writeSizes = new ArrayList<>();

        MemoryRows(int transferRows) {
            this.transferRows = transferRows;
        }

        @Override
        public int transferRows(int dim) {
            return transferRows > 0 ? transferRows : FcRowStore.super.transferRows(dim);
        }

        @Override
        public String describe() {
            return "in-memory test store";
        }

        /** Writes touching {@code [refuseFrom, refuseTo)} fail until the next read (a store node cut off). */
        private int refuseFrom;
        private int refuseTo;
        /** Writes refused so far. */
        int refused;

        /**
         * Refuses every write touching classes {@code [from, to)} until the next read: the next
         * generation's restore, which no member starts before every member left the previous one.
         */
        synchronized void refuseWritesUntilRead(int from, int to) {
            refuseFrom = from;
            refuseTo = to;
        }

        /** Forgets the rows of classes {@code [from, to)}, as a store that lost blocks. */
        synchronized void lose(int from, int to) {
            for (int c = from; c < to; c++) {
                w.remove(c);
                m.remove(c);
                version.remove(c);
            }
        }

        /** The largest number of classes a read or a write moved in one call. */
        synchronized int largestCall() {
            int max = 0;
            for (int n : writeSizes) {
                max = Math.max(max, n);
            }
            for (Read r : reads) {
                max = Math.max(max, r.end() - r.start());
            }
            return max;
        }

        /** One read: the range and the weight rows returned. */
        record Read(int start, int end, float[] weights) {
        }

        @Override
        public synchronized void write(int start, int end, int dim, float[] weights, float[] momentum, long v) {
            if (start < refuseTo && end > refuseFrom) {
                refused++;
                throw new IllegalStateException("store node unreachable: classes [" + start + ", " + end + ")");
            }
            writeSizes.add(end - start);
            for (int c = start; c < end; c++) {
                int o = (c - start) * dim;
                w.put(c, java.util.Arrays.copyOfRange(weights, o, o + dim));
                m.put(c, java.util.Arrays.copyOfRange(momentum, o, o + dim));
                version.put(c, v);
            }
        }

        @Override
        public synchronized ReadResult read(int start, int end, int dim, float[] weights, float[] momentum) {
            refuseFrom = 0;
            refuseTo = 0;
            int missing = 0;
            long lo = Long.MAX_VALUE;
            long hi = -1;
            List<Range> gaps = new ArrayList<>();
            for (int c = start; c < end; c++) {
                float[] rw = w.get(c);
                if (rw == null) {
                    missing++;
                    if (!gaps.isEmpty() && gaps.get(gaps.size() - 1).end() == c) {
                        gaps.set(gaps.size() - 1, new Range(gaps.get(gaps.size() - 1).start(), c + 1));
                    } else {
                        gaps.add(new Range(c, c + 1));
                    }
                    continue;
                }
                System.arraycopy(rw, 0, weights, (c - start) * dim, dim);
                System.arraycopy(m.get(c), 0, momentum, (c - start) * dim, dim);
                lo = Math.min(lo, version.get(c));
                hi = Math.max(hi, version.get(c));
            }
            reads.add(new Read(start, end, weights.clone()));
            return new ReadResult(missing, hi < 0 ? -1 : lo, hi, gaps);
        }

        /** The stored weight row of {@code classId}, or null. */
        synchronized float[] weights(int classId) {
            float[] r = w.get(classId);
            return r == null ? null : r.clone();
        }

        synchronized long version(int classId) {
            return version.getOrDefault(classId, -1L);
        }
    }
}
