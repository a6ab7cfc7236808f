package org.plsc4j.worker.internal;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.plsc4j.metrics.PlscMetrics;
import org.plsc4j.worker.FcRowStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes a rank's FC rows to an {@link FcRowStore} in the background: at a step boundary the rows
 * are copied into a reused native snapshot in their own storage type (a memory copy, the only part
 * the training thread waits for) and written by one named daemon thread while training goes on, in
 * bounded blocks ({@link RowTransfer}: no heap copy of the whole shard). At most one write is in
 * flight: a flush that comes due while the previous one still runs is skipped and counted, so a
 * slow store costs staleness, never a stalled step (the bound the issue asks for).
 */
public final class ShardFlusher implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ShardFlusher.class);

    private final FcRowStore store;
    private final ExecutorService thread;
    private Future<?> inFlight;
    private RowTransfer.Shard snapshot;
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
    public boolean flushAsync(int start, RowTransfer.Shard rows, long version) {
        if (inFlight != null && !inFlight.isDone()) {
            skipped++;
            PlscMetrics.FLUSH_SKIPPED.inc();
            return false;
        }
        collect(false);
        RowTransfer.Shard s = rows.snapshot(snapshot);
        snapshot = s;
        inFlight = thread.submit(() -> write(start, s, version));
        return true;
    }

    /**
     * Waits for a running write, then writes classes {@code [start, start + rows.rows())} from the
     * live rows now (the training thread waits, so no snapshot); failures propagate.
     */
    public void flushNow(int start, RowTransfer.Shard rows, long version) {
        collect(true);
        write(start, rows, version);
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

    private void write(int start, RowTransfer.Shard rows, long version) {
        long t0 = System.nanoTime();
        RowTransfer.write(store, start, rows, version);
        long dt = System.nanoTime() - t0;
        writeNanos.addAndGet(dt);
        PlscMetrics.FLUSH_SECONDS.observe(dt / 1e9);
        PlscMetrics.FLUSH_VERSION.set(version);
        written.incrementAndGet();
        bytes.addAndGet(RowTransfer.bytes(rows.rows(), rows.dim()));
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
