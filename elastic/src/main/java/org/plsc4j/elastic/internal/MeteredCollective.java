package org.plsc4j.elastic.internal;

import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.Objects;
import org.plsc4j.core.collective.Collective;
import org.plsc4j.core.collective.ReduceOp;
import org.plsc4j.metrics.PlscMetrics;

/**
 * A {@link Collective} that counts, per operation, the payload bytes and seconds of the one it wraps
 * ({@code plsc4j_collective_bytes_total}, {@code plsc4j_collective_seconds_total},
 * {@code plsc4j_collective_ops_total}, label {@code op}).
 *
 * <p>Why a decorator: every collective implementation (in-process, Netty, later NCCL) gets the same
 * metrics without knowing about Prometheus. Bytes are what this rank hands to or receives from the
 * operation (the larger of send and receive), not what a ring moves on the wire.
 */
public final class MeteredCollective implements Collective {

    private static final Op ALL_GATHER = new Op("all_gather");
    private static final Op ALL_REDUCE = new Op("all_reduce");
    private static final Op REDUCE_SCATTER = new Op("reduce_scatter");
    private static final Op BROADCAST = new Op("broadcast");
    private static final Op BARRIER = new Op("barrier");

    private final Collective inner;

    /** Meters {@code inner}. */
    public MeteredCollective(Collective inner) {
        this.inner = Objects.requireNonNull(inner, "inner");
    }

    /** The cached data points of one operation label. */
    private static final class Op {
        final CounterDataPoint bytes;
        final CounterDataPoint seconds;
        final CounterDataPoint ops;

        Op(String name) {
            bytes = PlscMetrics.COLLECTIVE_BYTES.labelValues(name);
            seconds = PlscMetrics.COLLECTIVE_SECONDS.labelValues(name);
            ops = PlscMetrics.COLLECTIVE_OPS.labelValues(name);
        }

        void done(long t0, long bytes) {
            seconds.inc((System.nanoTime() - t0) / 1e9);
            this.bytes.inc(bytes);
            ops.inc();
        }
    }

    @Override
    public int rank() {
        return inner.rank();
    }

    @Override
    public int worldSize() {
        return inner.worldSize();
    }

    @Override
    public void allGather(FloatBuffer send, FloatBuffer recv) {
        long t0 = System.nanoTime();
        long n = 4L * recv.remaining();
        inner.allGather(send, recv);
        ALL_GATHER.done(t0, n);
    }

    @Override
    public void allGather(IntBuffer send, IntBuffer recv) {
        long t0 = System.nanoTime();
        long n = 4L * recv.remaining();
        inner.allGather(send, recv);
        ALL_GATHER.done(t0, n);
    }

    @Override
    public void allReduce(FloatBuffer data, ReduceOp op) {
        long t0 = System.nanoTime();
        long n = 4L * data.remaining();
        inner.allReduce(data, op);
        ALL_REDUCE.done(t0, n);
    }

    @Override
    public void allReduce(IntBuffer data, ReduceOp op) {
        long t0 = System.nanoTime();
        long n = 4L * data.remaining();
        inner.allReduce(data, op);
        ALL_REDUCE.done(t0, n);
    }

    @Override
    public void reduceScatter(FloatBuffer send, FloatBuffer recv, ReduceOp op) {
        long t0 = System.nanoTime();
        long n = 4L * send.remaining();
        inner.reduceScatter(send, recv, op);
        REDUCE_SCATTER.done(t0, n);
    }

    @Override
    public void broadcast(FloatBuffer data, int root) {
        long t0 = System.nanoTime();
        long n = 4L * data.remaining();
        inner.broadcast(data, root);
        BROADCAST.done(t0, n);
    }

    @Override
    public void broadcast(IntBuffer data, int root) {
        long t0 = System.nanoTime();
        long n = 4L * data.remaining();
        inner.broadcast(data, root);
        BROADCAST.done(t0, n);
    }

    @Override
    public void barrier() {
        long t0 = System.nanoTime();
        inner.barrier();
        BARRIER.done(t0, 0);
    }

    @Override
    public void close() {
        inner.close();
    }
}
