package org.plsc4j.worker.internal;

import java.nio.FloatBuffer;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.plsc4j.metrics.PlscMetrics;
import org.plsc4j.worker.FcRowStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes a rank's FC rows to an {@link FcRowStore} in the background: at a step boundary the rows
 * are copied into a reused heap snapshot (a memory copy, the only part the training thread waits
 * for) and written by one named daemon thread while training goes on. At most one write is in
 * flight: a flush that comes due while the previous one still runs is skipped and counted, so a
 * slow store costs staleness, never a stalled step (the bound the issue asks for).
 */
public final class ShardFlusher implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ShardFlusher.class);

    private final FcRowStore store;
    private final ExecutorService thread;
    private Future<?> inFlight;
    private float[] w = new float[0];
    private float[] m = new float[0];
    private final AtomicLong written = new AtomicLong();
    private final AtomicLong writeNanos = new AtomicLong();
    private final AtomicLong bytes = new AtomicLong();
    private long skipped;

    /** A flusher of rank {@code rank}'s rows into {@code store}. */
    public ShardFlusher(FcRowStore store, int rank) {
        this.store = store;
        this.thread = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "plsc4j-shard-flush-r" + rank);
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Snapshots rows {@code [start, end)} (the live {@code weights}/{@code momentum} of the shard)
     * and writes them in the background, unless a write is still running.
     *
     * @return false when skipped
     */
    public boolean flushAsync(int start, int end, INDArray weights, INDArray momentum, long version) {
        if (inFlight != null && !inFlight.isDone()) {
            skipped++;
            PlscMetrics.FLUSH_SKIPPED.inc();
            return false;
        }
        collect(false);
        snapshot(weights, momentum);
        int dim = (int) weights.size(1);
        float[] sw = w;
        float[] sm = m;
        inFlight = thread.submit(() -> write(start, end, dim, sw, sm, version));
        return true;
    }

    /** Waits for a running write, then writes rows {@code [start, end)} now; failures propagate. */
    public void flushNow(int start, int end, INDArray weights, INDArray momentum, long version) {
        collect(true);
        snapshot(weights, momentum);
        write(start, end, (int) weights.size(1), w, m, version);
    }

    /** Waits for a running write; its failure is logged (a background flush is best effort). */
    public void awaitIdle() {
        collect(false);
    }

    private void collect(boolean quietly) {
        Future<?> f = inFlight;
        inFlight = null;
        if (f == null) {
            return;
        }
        try {
            f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for a shard flush", e);
        } catch (ExecutionException e) {
            LOG.warn("background shard flush failed{}: {}", quietly ? " (writing again now)" : "", e.getCause().toString());
        }
    }

    private void snapshot(INDArray weights, INDArray momentum) {
        int n = (int) weights.length();
        if (w.length != n) {
            w = new float[n];
            m = new float[n];
        }
        copy(weights, w);
        copy(momentum, m);
    }

    private static void copy(INDArray a, float[] dst) {
        if (a.isView() || a.ordering() != 'c') {
            a = a.dup('c');
        }
        FloatBuffer b = a.data().asNioFloat();
        b.position((int) a.offset());
        b.get(dst, 0, dst.length);
    }

    private void write(int start, int end, int dim, float[] weights, float[] momentum, long version) {
        long t0 = System.nanoTime();
        store.write(start, end, dim, weights, momentum, version);
        long dt = System.nanoTime() - t0;
        writeNanos.addAndGet(dt);
        PlscMetrics.FLUSH_SECONDS.observe(dt / 1e9);
        PlscMetrics.FLUSH_VERSION.set(version);
        written.incrementAndGet();
        bytes.addAndGet(8L * weights.length);
    }

    /** Writes completed so far. */
    public long writes() {
        return written.get();
    }

    /** Flushes skipped because the previous one was still running. */
    public long skipped() {
        return skipped;
    }

    /** Seconds spent writing, summed over completed writes. */
    public double writeSeconds() {
        return writeNanos.get() / 1e9;
    }

    /** Bytes (weights + momentum) written so far. */
    public long bytesWritten() {
        return bytes.get();
    }

    /** Waits (bounded) for a running write and stops the thread; idempotent. */
    @Override
    public void close() {
        thread.shutdown();
        try {
            if (!thread.awaitTermination(60, TimeUnit.SECONDS)) {
                LOG.warn("shard flush still running after 60 s; abandoning it");
                thread.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            thread.shutdownNow();
        }
    }
}
