package org.plsc4j.worker.internal;

import java.lang.ref.Reference;
import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.ReadOnlyBufferException;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.plsc4j.core.collective.Collective;
import org.plsc4j.core.collective.CollectiveConfig;
import org.plsc4j.core.collective.CollectiveException;
import org.plsc4j.core.collective.ReduceOp;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link Collective} over TCP between processes (or instances), with ring algorithms on Netty.
 *
 * <p>Why rings: each rank talks to two neighbours only, every link carries the same number of bytes
 * and the bandwidth per rank stays constant as the world grows — the NCCL/Gloo/Horovod choice for
 * the large all-gathers and reduce-scatters of a sharded FC layer.
 *
 * <p>Joining: bind a server on {@code bindHost}, port 0; publish "host:port" through the
 * {@link CollectiveConfig#rendezvous()}; connect to the successor and accept the predecessor, each
 * connection opening with a {@link Handshake} (job id, rank, token). Operations then run as
 * {@link RingSchedule} plans on the rank's two I/O threads ({@link RingTransport}, {@link RingOp}).
 *
 * <p>Memory: direct little-endian buffers are used in place when the JVM allows it
 * ({@link DirectMemory}); heap and big-endian buffers go through a staging buffer that is kept
 * for reuse. A single call moves at most 2 GiB per rank buffer.
 *
 * <p>Failures: every wait is bounded by the config's timeout, measured as time without progress;
 * a timeout, a lost connection or a mismatched call throws {@link CollectiveException} naming the
 * peer rank and leaves the instance broken (later calls fail fast). World size 1 uses no sockets.
 */
public final class NettyCollective implements Collective {

    private static final Logger LOG = LoggerFactory.getLogger(NettyCollective.class);
    private static final long MAX_BYTES = Integer.MAX_VALUE - 8;

    /** Lifecycle of an instance. */
    enum State {
        READY, BROKEN, CLOSED
    }

    private final CollectiveConfig config;
    private final RingTransport transport;
    private final TransportKind kind;
    private final int rank;
    private final int worldSize;
    private final AtomicReference<State> state = new AtomicReference<>(State.READY);
    private volatile CollectiveException brokenBy;
    private long seq;
    private ByteBuffer staging;

    private NettyCollective(CollectiveConfig config, RingTransport transport, TransportKind kind) {
        this.config = config;
        this.transport = transport;
        this.kind = kind;
        this.rank = config.rank();
        this.worldSize = config.worldSize();
    }

    /** Joins with the best transport available here (epoll on Linux, else NIO). */
    public static NettyCollective join(CollectiveConfig config) {
        return join(config, TransportKind.auto());
    }

    /**
     * Joins the group: blocks until both ring connections are established, or throws
     * {@link CollectiveException} after the config's timeout.
     *
     * @throws IllegalArgumentException when world size > 1 and the config has no rendezvous
     */
    public static NettyCollective join(CollectiveConfig config, TransportKind kind) {
        if (config.worldSize() == 1) {
            return new NettyCollective(config, null, kind);
        }
        if (config.rendezvous() == null) {
            throw new IllegalArgumentException("rendezvous : null (expected: a Rendezvous such as TcpRendezvous;"
                    + " required to exchange addresses when world_size = " + config.worldSize() + " > 1)");
        }
        RingTransport t = new RingTransport(config, kind);
        try {
            String me = t.bind();
            List<String> addresses = config.rendezvous().exchange(config.rank(), config.worldSize(), me, config.timeout());
            if (addresses == null || addresses.size() != config.worldSize()) {
                throw new CollectiveException("rank " + config.rank() + ": rendezvous returned "
                        + (addresses == null ? "nothing" : addresses.size() + " addresses") + " for world_size "
                        + config.worldSize());
            }
            t.connect(addresses);
            t.awaitConnected();
            LOG.debug("rank {} of job {} joined (world_size {}, {}, listening on {})", config.rank(), config.jobId(),
                    config.worldSize(), kind.label(), me);
            return new NettyCollective(config, t, kind);
        } catch (RuntimeException | Error e) {
            t.close();
            throw e;
        }
    }

    /** The Netty transport in use ("epoll" or "nio"). */
    public TransportKind transport() {
        return kind;
    }

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public int worldSize() {
        return worldSize;
    }

    // ------------------------------------------------------------------ operations

    @Override
    public void allGather(FloatBuffer send, FloatBuffer recv) {
        allGather0(send, recv, OpHeader.Kind.ALL_GATHER);
    }

    @Override
    public void allGather(IntBuffer send, IntBuffer recv) {
        allGather0(send, recv, OpHeader.Kind.ALL_GATHER);
    }

    @Override
    public void allReduce(FloatBuffer data, ReduceOp op) {
        allReduce0(data, op);
    }

    @Override
    public void allReduce(IntBuffer data, ReduceOp op) {
        allReduce0(data, op);
    }

    @Override
    public void reduceScatter(FloatBuffer send, FloatBuffer recv, ReduceOp op) {
        int n = recv.remaining();
        checkLength("reduceScatter send", send.remaining(), (long) n * worldSize);
        checkWritable("reduceScatter recv", recv);
        java.util.Objects.requireNonNull(op, "op");
        int blockBytes = bytes("reduceScatter", (long) n * worldSize) / worldSize;
        ensureUsable();
        if (worldSize == 1) {
            ElementType.copy(send, recv);
            return;
        }
        OpHeader h = header(OpHeader.Kind.REDUCE_SCATTER, ElementType.FLOAT, op, -1, n);
        ByteBuffer work = staging(blockBytes * worldSize);
        ElementType.copy(send, work, 0);
        run(h, work, RingSchedule.reduceScatter(rank, worldSize, blockBytes));
        ElementType.copy(work, rank * blockBytes, recv);
    }

    @Override
    public void broadcast(FloatBuffer data, int root) {
        broadcast0(data, root);
    }

    @Override
    public void broadcast(IntBuffer data, int root) {
        broadcast0(data, root);
    }

    @Override
    public void barrier() {
        ensureUsable();
        if (worldSize == 1) {
            return;
        }
        OpHeader h = header(OpHeader.Kind.BARRIER, ElementType.INT, null, -1, 1);
        ByteBuffer work = staging(ElementType.BYTES * worldSize);
        run(h, work, RingSchedule.allGather(rank, worldSize, ElementType.BYTES));
    }

    private void allGather0(Buffer send, Buffer recv, OpHeader.Kind kindOfOp) {
        ElementType type = ElementType.of(send);
        int n = send.remaining();
        checkLength("allGather recv", recv.remaining(), (long) n * worldSize);
        checkWritable("allGather recv", recv);
        int totalBytes = bytes("allGather", (long) n * worldSize);
        ensureUsable();
        if (worldSize == 1) {
            ElementType.copy(send, recv);
            return;
        }
        int blockBytes = totalBytes / worldSize;
        OpHeader h = header(kindOfOp, type, null, -1, n);
        ByteBuffer alias = DirectMemory.alias(recv, true);
        ByteBuffer work = alias != null ? alias : staging(totalBytes);
        // Send the own block straight from `send` and copy it into place while the ring runs: the copy
        // (a pass over the whole block) then no longer delays the first byte on the wire. Only when the
        // two cannot share memory: the ring writes received blocks into `work` meanwhile.
        ByteBuffer source = DirectMemory.alias(send, false);
        if (source != null && DirectMemory.mayOverlap(source, work)) {
            source = null;
        }
        Runnable fill = () -> ElementType.copy(send, work, rank * blockBytes);
        if (source == null) {
            fill.run();
        }
        try {
            run(h, work, RingSchedule.allGather(rank, worldSize, blockBytes), source, source == null ? null : fill);
        } finally {
            Reference.reachabilityFence(recv);
            Reference.reachabilityFence(send);
        }
        if (alias == null) {
            ElementType.copy(work, 0, recv);
        }
    }

    private void allReduce0(Buffer data, ReduceOp op) {
        java.util.Objects.requireNonNull(op, "op");
        ElementType type = ElementType.of(data);
        int n = data.remaining();
        checkWritable("allReduce data", data);
        int totalBytes = bytes("allReduce", n);
        ensureUsable();
        if (worldSize == 1) {
            return;
        }
        OpHeader h = header(OpHeader.Kind.ALL_REDUCE, type, op, -1, n);
        ByteBuffer alias = DirectMemory.alias(data, true);
        ByteBuffer work = alias;
        if (work == null) {
            work = staging(totalBytes);
            ElementType.copy(data, work, 0);
        }
        try {
            run(h, work, RingSchedule.allReduce(rank, worldSize, n, ElementType.BYTES));
        } finally {
            Reference.reachabilityFence(data);
        }
        if (alias == null) {
            ElementType.copy(work, 0, data);
        }
    }

    private void broadcast0(Buffer data, int root) {
        if (root < 0 || root >= worldSize) {
            throw new IllegalArgumentException("root : " + root + " (expected: 0 <= root < " + worldSize + ")");
        }
        ElementType type = ElementType.of(data);
        int n = data.remaining();
        if (rank != root) {
            checkWritable("broadcast data", data);
        }
        int totalBytes = bytes("broadcast", n);
        ensureUsable();
        if (worldSize == 1) {
            return;
        }
        OpHeader h = header(OpHeader.Kind.BROADCAST, type, null, root, n);
        ByteBuffer alias = DirectMemory.alias(data, rank != root);
        ByteBuffer work = alias;
        if (work == null) {
            work = staging(totalBytes);
            if (rank == root) {
                ElementType.copy(data, work, 0);
            }
        }
        try {
            run(h, work, RingSchedule.broadcast(rank, worldSize, root, totalBytes));
        } finally {
            Reference.reachabilityFence(data);
        }
        if (alias == null && rank != root) {
            ElementType.copy(work, 0, data);
        }
    }

    // ------------------------------------------------------------------ plumbing

    private OpHeader header(OpHeader.Kind k, ElementType type, ReduceOp op, int root, long count) {
        return new OpHeader(k, type, op, root, ++seq, count);
    }

    /** Runs one plan and waits for it; every wait is bounded by the timeout without progress. */
    private void run(OpHeader header, ByteBuffer work, RingSchedule.Plan plan) {
        run(header, work, plan, null, null);
    }

    /**
     * Runs one plan, sending its initial slices from {@code initialSource} when not null (see
     * {@link RingOp}), and runs {@code whileRunning} on this thread once the operation has started.
     */
    private void run(OpHeader header, ByteBuffer work, RingSchedule.Plan plan, ByteBuffer initialSource,
            Runnable whileRunning) {
        RingOp op = new RingOp(header, work, initialSource, plan,
                transport.describePeer((rank - 1 + worldSize) % worldSize), transport.describePeer((rank + 1) % worldSize));
        transport.start(op);
        if (whileRunning != null) {
            try {
                whileRunning.run();
            } catch (RuntimeException e) {
                CollectiveException ce = new CollectiveException("rank " + rank + ": " + header.describe() + " failed: " + e, e);
                breakWith(ce);
                throw ce;
            }
        }
        long timeoutNanos = config.timeout().toNanos();
        while (true) {
            long wait = op.lastProgressNanos() + timeoutNanos - System.nanoTime();
            if (wait <= 0 && !op.done().isDone()) {
                CollectiveException e = new CollectiveException(op.timeoutMessage(rank, config.timeout()));
                breakWith(e);
                throw e;
            }
            try {
                op.done().get(Math.max(wait, 0), TimeUnit.NANOSECONDS);
                return;
            } catch (TimeoutException e) {
                // progress may have been made meanwhile: re-check against the last progress
            } catch (ExecutionException e) {
                Throwable cause = e.getCause();
                CollectiveException ce = cause instanceof CollectiveException c ? c
                        : new CollectiveException("rank " + rank + ": " + header.describe() + " failed: " + cause, cause);
                breakWith(ce);
                throw new CollectiveException(ce.getMessage(), ce);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                CollectiveException ce = new CollectiveException("rank " + rank + ": interrupted during "
                        + header.describe(), e);
                breakWith(ce);
                throw ce;
            }
        }
    }

    private void breakWith(CollectiveException e) {
        if (state.compareAndSet(State.READY, State.BROKEN)) {
            brokenBy = e;
        }
        transport.failAndAwait(e);
    }

    private void ensureUsable() {
        State s = state.get();
        if (s == State.READY && transport != null && transport.failure() != null) {
            if (state.compareAndSet(State.READY, State.BROKEN)) {
                brokenBy = transport.failure();
            }
            s = state.get();
        }
        switch (s) {
            case READY -> {
            }
            case CLOSED -> throw new CollectiveException("rank " + rank + ": the collective is closed");
            case BROKEN -> {
                CollectiveException cause = brokenBy;
                throw new CollectiveException("rank " + rank + ": the collective is broken by an earlier failure: "
                        + (cause == null ? "?" : cause.getMessage()), cause);
            }
            default -> throw new IllegalStateException(s.toString());
        }
    }

    private ByteBuffer staging(int bytes) {
        ByteBuffer s = staging;
        if (s == null || s.capacity() < bytes) {
            s = ByteBuffer.allocateDirect(Math.max(bytes, 4096)).order(ByteOrder.LITTLE_ENDIAN);
            staging = s;
        }
        return s.duplicate().clear().limit(bytes).slice().order(ByteOrder.LITTLE_ENDIAN);
    }

    private static int bytes(String what, long elements) {
        long b = elements * ElementType.BYTES;
        if (b > MAX_BYTES) {
            throw new IllegalArgumentException(what + " : " + elements + " elements = " + b
                    + " bytes (expected: <= " + MAX_BYTES + " bytes per call)");
        }
        return (int) b;
    }

    private static void checkLength(String what, long actual, long expected) {
        if (actual != expected) {
            throw new IllegalArgumentException(what + " : " + actual + " elements (expected: " + expected + ")");
        }
    }

    private static void checkWritable(String what, Buffer b) {
        if (b.isReadOnly()) {
            throw new ReadOnlyBufferException();
        }
        if (!(b instanceof FloatBuffer) && !(b instanceof IntBuffer)) {
            throw new IllegalArgumentException(what + " : " + b.getClass().getName() + " (expected: FloatBuffer or IntBuffer)");
        }
    }

    @Override
    public void close() {
        if (state.getAndSet(State.CLOSED) == State.CLOSED) {
            return;
        }
        if (transport != null) {
            transport.close();
        }
        staging = null;
    }

    @Override
    public String toString() {
        return "NettyCollective[rank " + rank + " of " + worldSize + ", job " + config.jobId() + ", " + kind.label()
                + ", " + state.get() + "]";
    }
}
