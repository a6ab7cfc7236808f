package org.plsc4j.core.internal;

import java.nio.Buffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.plsc4j.core.collective.Collective;
import org.plsc4j.core.collective.CollectiveConfig;
import org.plsc4j.core.collective.CollectiveException;
import org.plsc4j.core.collective.ReduceOp;

/**
 * A {@link Collective} whose ranks are threads of one JVM: every rank publishes its buffer, all meet
 * at a barrier, each reads what it needs from the others, and all meet again before buffers are
 * reused. Used by tests and by single-process multi-rank runs; groups are keyed by job id.
 */
public final class InProcessCollective implements Collective {

    private static final Map<String, Group> GROUPS = new ConcurrentHashMap<>();

    private final Group group;
    private final int rank;
    private final AtomicBoolean closed = new AtomicBoolean();

    private InProcessCollective(Group group, int rank) {
        this.group = group;
        this.rank = rank;
    }

    /** Joins (creating if needed) the in-process group of {@code config.jobId()}. */
    public static Collective join(CollectiveConfig config) {
        Group g = GROUPS.computeIfAbsent(config.jobId(),
                id -> new Group(id, config.worldSize(), config.token(), config.timeout()));
        if (g.worldSize != config.worldSize()) {
            throw new CollectiveException("in-process group " + config.jobId() + " has world_size "
                    + g.worldSize + ", rank " + config.rank() + " asked for " + config.worldSize());
        }
        if (!constantTimeEquals(g.token, config.token())) {
            throw new CollectiveException("in-process group " + config.jobId() + ": rank " + config.rank()
                    + " presented a wrong job token; refused");
        }
        if (!g.joined.compareAndSet(config.rank(), null, Boolean.TRUE)) {
            throw new CollectiveException("in-process group " + config.jobId() + ": rank " + config.rank()
                    + " joined twice");
        }
        return new InProcessCollective(g, config.rank());
    }

    static boolean constantTimeEquals(String a, String b) {
        return java.security.MessageDigest.isEqual(
                a.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                b.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public int worldSize() {
        return group.worldSize;
    }

    @Override
    public void allGather(FloatBuffer send, FloatBuffer recv) {
        int n = send.remaining();
        checkLength("allGather recv", recv.remaining(), (long) n * worldSize());
        exchange(send, () -> {
            for (int r = 0; r < worldSize(); r++) {
                FloatBuffer src = (FloatBuffer) group.slots.get(r);
                checkLength("allGather send buffer of rank " + r, src.remaining(), n);
                recv.put(recv.position() + r * n, src, src.position(), n);
            }
        });
    }

    @Override
    public void allGather(IntBuffer send, IntBuffer recv) {
        int n = send.remaining();
        checkLength("allGather recv", recv.remaining(), (long) n * worldSize());
        exchange(send, () -> {
            for (int r = 0; r < worldSize(); r++) {
                IntBuffer src = (IntBuffer) group.slots.get(r);
                checkLength("allGather send buffer of rank " + r, src.remaining(), n);
                recv.put(recv.position() + r * n, src, src.position(), n);
            }
        });
    }

    @Override
    public void allReduce(FloatBuffer data, ReduceOp op) {
        int n = data.remaining();
        float[] acc = new float[n];
        exchange(data, () -> reduceInto(acc, 0, n, n, op));
        // write only after the second barrier: others may still read our buffer before it
        data.put(data.position(), acc);
    }

    @Override
    public void allReduce(IntBuffer data, ReduceOp op) {
        int n = data.remaining();
        int[] acc = new int[n];
        exchange(data, () -> {
            for (int r = 0; r < worldSize(); r++) {
                IntBuffer src = (IntBuffer) group.slots.get(r);
                checkLength("allReduce buffer of rank " + r, src.remaining(), n);
                int p = src.position();
                for (int i = 0; i < n; i++) {
                    acc[i] = r == 0 ? src.get(p + i) : op.apply(acc[i], src.get(p + i));
                }
            }
        });
        data.put(data.position(), acc);
    }

    @Override
    public void reduceScatter(FloatBuffer send, FloatBuffer recv, ReduceOp op) {
        int n = recv.remaining();
        checkLength("reduceScatter send", send.remaining(), (long) n * worldSize());
        float[] acc = new float[n];
        exchange(send, () -> reduceInto(acc, rank * n, n, (long) n * worldSize(), op));
        recv.put(recv.position(), acc);
    }

    /** Reduces elements [offset, offset + n) of every rank's buffer (each of {@code total} elements). */
    private void reduceInto(float[] acc, int offset, int n, long total, ReduceOp op) {
        for (int r = 0; r < worldSize(); r++) {
            FloatBuffer src = (FloatBuffer) group.slots.get(r);
            checkLength("buffer of rank " + r, src.remaining(), total);
            int p = src.position() + offset;
            for (int i = 0; i < n; i++) {
                acc[i] = r == 0 ? src.get(p + i) : op.apply(acc[i], src.get(p + i));
            }
        }
    }

    @Override
    public void broadcast(FloatBuffer data, int root) {
        checkRoot(root);
        int n = data.remaining();
        float[] copy = new float[n];
        exchange(data, () -> {
            FloatBuffer src = (FloatBuffer) group.slots.get(root);
            checkLength("broadcast buffer of root " + root, src.remaining(), n);
            src.get(src.position(), copy);
        });
        data.put(data.position(), copy);
    }

    @Override
    public void broadcast(IntBuffer data, int root) {
        checkRoot(root);
        int n = data.remaining();
        int[] copy = new int[n];
        exchange(data, () -> {
            IntBuffer src = (IntBuffer) group.slots.get(root);
            checkLength("broadcast buffer of root " + root, src.remaining(), n);
            src.get(src.position(), copy);
        });
        data.put(data.position(), copy);
    }

    @Override
    public void barrier() {
        exchange(IntBuffer.allocate(0), () -> { });
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            // as a crashed rank would: peers blocked in an operation, and peers that reach their next one
            // later, fail at once instead of waiting for the timeout
            group.barrier.breakIt();
            group.joined.set(rank, null);
            boolean empty = true;
            for (int r = 0; r < group.worldSize; r++) {
                empty &= group.joined.get(r) == null;
            }
            if (empty) {
                GROUPS.remove(group.jobId, group);
            }
        }
    }

    private void checkRoot(int root) {
        if (root < 0 || root >= worldSize()) {
            throw new IllegalArgumentException("root : " + root + " (expected: 0 <= root < " + worldSize() + ")");
        }
    }

    private static void checkLength(String what, long actual, long expected) {
        if (actual != expected) {
            throw new IllegalArgumentException(what + " : " + actual + " elements (expected: " + expected + ")");
        }
    }

    /** Publishes {@code mine}, waits for all, runs {@code read}, waits for all again. */
    private void exchange(Buffer mine, Runnable read) {
        if (closed.get()) {
            throw new CollectiveException("in-process group " + group.jobId + ": rank " + rank + " is closed");
        }
        group.slots.set(rank, mine);
        await();
        RuntimeException failure = null;
        try {
            read.run();
        } catch (RuntimeException e) {
            failure = e;
        }
        await();
        if (failure != null) {
            throw failure;
        }
    }

    private void await() {
        group.arrived.set(rank, Boolean.TRUE);
        try {
            group.barrier.await(group.timeout.toNanos());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CollectiveException("in-process group " + group.jobId + ": rank " + rank + " interrupted", e);
        } catch (TimeoutException e) {
            throw new CollectiveException("in-process group " + group.jobId + ": rank " + rank
                    + " timed out after " + group.timeout + " waiting for rank(s) " + group.missing(), e);
        } catch (BrokenBarrierException e) {
            throw new CollectiveException("in-process group " + group.jobId + ": rank " + rank
                    + " saw the group broken (a peer timed out, failed or closed); rank(s) "
                    + group.missing() + " had not arrived", e);
        }
    }

    private static final class Group {
        final String jobId;
        final int worldSize;
        final String token;
        final Duration timeout;
        final AtomicReferenceArray<Buffer> slots;
        final AtomicReferenceArray<Boolean> joined;
        final AtomicReferenceArray<Boolean> arrived;
        final StickyBarrier barrier;

        Group(String jobId, int worldSize, String token, Duration timeout) {
            this.jobId = jobId;
            this.worldSize = worldSize;
            this.token = token;
            this.timeout = timeout;
            this.slots = new AtomicReferenceArray<>(worldSize);
            this.joined = new AtomicReferenceArray<>(worldSize);
            this.arrived = new AtomicReferenceArray<>(worldSize);
            this.barrier = new StickyBarrier(worldSize, () -> {
                for (int r = 0; r < worldSize; r++) {
                    arrived.set(r, null);
                }
            });
        }

        List<Integer> missing() {
            List<Integer> out = new ArrayList<>();
            for (int r = 0; r < worldSize; r++) {
                if (arrived.get(r) == null) {
                    out.add(r);
                }
            }
            return out;
        }
    }
    /**
     * A cyclic barrier that stays broken. Why not {@link java.util.concurrent.CyclicBarrier}: breaking
     * one on purpose ({@code reset()}) only fails the ranks already waiting, and a peer arriving a
     * moment later would wait out the whole timeout for a rank that closed. Here a timeout, an
     * interrupt or a {@link #breakIt() close} fails every current and later wait at once.
     */
    private static final class StickyBarrier {
        private final int parties;
        private final Runnable onTrip;
        private final ReentrantLock lock = new ReentrantLock();
        private final Condition tripped = lock.newCondition();
        private int count;
        private long round;
        private boolean broken;

        StickyBarrier(int parties, Runnable onTrip) {
            this.parties = parties;
            this.onTrip = onTrip;
        }

        /** Waits until all parties arrived (runs {@code onTrip} once then), at most {@code nanos}. */
        void await(long nanos) throws InterruptedException, TimeoutException, BrokenBarrierException {
            lock.lock();
            try {
                if (broken) {
                    throw new BrokenBarrierException();
                }
                if (++count == parties) {
                    count = 0;
                    round++;
                    onTrip.run();
                    tripped.signalAll();
                    return;
                }
                long mine = round;
                long left = nanos;
                while (true) {
                    try {
                        left = tripped.awaitNanos(left);
                    } catch (InterruptedException e) {
                        if (round != mine) {
                            Thread.currentThread().interrupt();
                            return;
                        }
                        breakLocked();
                        throw e;
                    }
                    if (round != mine) {
                        return; // tripped, even if broken right after
                    }
                    if (broken) {
                        throw new BrokenBarrierException();
                    }
                    if (left <= 0) {
                        breakLocked();
                        throw new TimeoutException();
                    }
                }
            } finally {
                lock.unlock();
            }
        }

        /** Fails every current and later {@link #await}. */
        void breakIt() {
            lock.lock();
            try {
                breakLocked();
            } finally {
                lock.unlock();
            }
        }

        private void breakLocked() {
            broken = true;
            tripped.signalAll();
        }
    }
}
