package org.plsc4j.serving.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Dynamic batching: requests queue their preprocessed images; one worker thread takes the oldest
 * request, adds the following ones while they fit in {@code maxBatch} images and until
 * {@code maxWaitNanos} after the oldest was queued, runs one forward pass over all their images and
 * completes each request's future with its own rows.
 *
 * <p>Why this is exact: the inference graph treats rows independently (batch norm on running
 * statistics, no dropout), so a request's rows do not depend on what it was batched with. A request
 * with more than {@code maxBatch} images runs alone, in chunks of {@code maxBatch}. Requests are served
 * in arrival order.
 */
public final class Batcher implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Batcher.class);

    /** The forward pass: {@code n} CHW images laid out one after the other, to [n][D]. */
    @FunctionalInterface
    public interface Forward {
        /** Embeddings of the {@code n} images in {@code chw}. */
        float[][] embed(float[] chw, int n);
    }

    private enum State { NEW, RUNNING, CLOSED }

    private record Pending(float[] chw, int n, long queuedNanos, CompletableFuture<float[][]> result) {
    }

    private final Forward forward;
    private final int floatsPerImage;
    private final int maxBatch;
    private final long maxWaitNanos;
    private final ServingMetrics metrics;
    private final BlockingQueue<Pending> queue = new LinkedBlockingQueue<>();
    private final AtomicReference<State> state = new AtomicReference<>(State.NEW);
    private final Thread worker;
    private Pending carry; // worker thread only: taken from the queue but did not fit the last batch

    /** A batcher (not started) over {@code forward}. */
    public Batcher(Forward forward, int floatsPerImage, int maxBatch, long maxWaitNanos, ServingMetrics metrics) {
        if (maxBatch < 1) {
            throw new IllegalArgumentException("max_batch : " + maxBatch + " (expected: >= 1)");
        }
        if (maxWaitNanos < 0) {
            throw new IllegalArgumentException("max_wait : " + maxWaitNanos + " ns (expected: >= 0)");
        }
        this.forward = forward;
        this.floatsPerImage = floatsPerImage;
        this.maxBatch = maxBatch;
        this.maxWaitNanos = maxWaitNanos;
        this.metrics = metrics;
        this.worker = new Thread(this::loop, "plsc4j-serve-batcher");
        this.worker.setDaemon(true);
    }

    /** Starts the worker thread; once. */
    public void start() {
        if (!state.compareAndSet(State.NEW, State.RUNNING)) {
            throw new IllegalStateException("batcher : " + state.get() + " (expected: NEW, start() is called once)");
        }
        worker.start();
    }

    /**
     * Queues {@code n} images ({@code chw} holds n·3·H·W floats); the future completes with their
     * embeddings [n][D], or exceptionally if the forward pass fails or the batcher closes first.
     */
    public CompletableFuture<float[][]> submit(float[] chw, int n) {
        CompletableFuture<float[][]> f = new CompletableFuture<>();
        if (n < 1 || chw.length != n * floatsPerImage) {
            f.completeExceptionally(new IllegalArgumentException("images : " + chw.length + " floats for n = " + n
                    + " (expected: n >= 1 and n * " + floatsPerImage + ")"));
            return f;
        }
        if (state.get() != State.RUNNING) {
            f.completeExceptionally(new IllegalStateException("batcher : " + state.get() + " (expected: RUNNING)"));
            return f;
        }
        queue.add(new Pending(chw, n, System.nanoTime(), f));
        if (state.get() == State.CLOSED) {
            failQueued(); // raced with close(): nobody else will see it
        }
        return f;
    }

    private void loop() {
        try {
            while (state.get() == State.RUNNING) {
                List<Pending> batch = next();
                run(batch);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            if (carry != null) {
                carry.result.completeExceptionally(new IllegalStateException("server closed"));
                carry = null;
            }
            failQueued();
        }
    }

    /** The next batch: the oldest request and those that follow it within the size and wait limits. */
    private List<Pending> next() throws InterruptedException {
        Pending first = carry != null ? carry : queue.take();
        carry = null;
        List<Pending> batch = new ArrayList<>();
        batch.add(first);
        int images = first.n;
        long deadline = first.queuedNanos + maxWaitNanos;
        while (images < maxBatch) {
            long left = deadline - System.nanoTime();
            Pending p = left > 0 ? queue.poll(left, TimeUnit.NANOSECONDS) : queue.poll();
            if (p == null) {
                break;
            }
            if (images + p.n > maxBatch) {
                carry = p;
                break;
            }
            batch.add(p);
            images += p.n;
        }
        return batch;
    }

    private void run(List<Pending> batch) {
        int images = 0;
        for (Pending p : batch) {
            images += p.n;
        }
        try {
            float[][] rows;
            if (batch.size() == 1) {
                Pending p = batch.get(0);
                rows = chunked(p.chw, p.n);
            } else {
                float[] all = new float[images * floatsPerImage];
                int off = 0;
                for (Pending p : batch) {
                    System.arraycopy(p.chw, 0, all, off, p.chw.length);
                    off += p.chw.length;
                }
                rows = forward(all, images, batch.size());
            }
            int r = 0;
            for (Pending p : batch) {
                float[][] mine = new float[p.n][];
                System.arraycopy(rows, r, mine, 0, p.n);
                r += p.n;
                p.result.complete(mine);
            }
        } catch (RuntimeException | Error e) { // a failed forward fails its requests, not the server
            LOG.warn("forward pass of {} images failed", images, e);
            for (Pending p : batch) {
                p.result.completeExceptionally(e);
            }
        }
    }

    /** One forward pass, timed and counted. */
    private float[][] forward(float[] chw, int n, int requests) {
        long t0 = System.nanoTime();
        float[][] rows = forward.embed(chw, n);
        if (rows.length != n) {
            throw new IllegalStateException("forward : " + rows.length + " rows for " + n + " images (expected: " + n + ")");
        }
        metrics.batch(n, requests, (System.nanoTime() - t0) / 1e9);
        return rows;
    }

    private float[][] chunked(float[] chw, int n) {
        if (n <= maxBatch) {
            return forward(chw, n, 1);
        }
        float[][] rows = new float[n][];
        for (int from = 0; from < n; from += maxBatch) {
            int k = Math.min(maxBatch, n - from);
            float[] part = new float[k * floatsPerImage];
            System.arraycopy(chw, from * floatsPerImage, part, 0, part.length);
            float[][] out = forward(part, k, 1);
            System.arraycopy(out, 0, rows, from, k);
        }
        return rows;
    }

    private void failQueued() {
        for (Pending p; (p = queue.poll()) != null; ) {
            p.result.completeExceptionally(new IllegalStateException("server closed"));
        }
    }

    /** Stops the worker (a forward pass under way finishes) and fails the queued requests; idempotent. */
    @Override
    public void close() {
        State before = state.getAndSet(State.CLOSED);
        if (before == State.CLOSED) {
            return;
        }
        if (before == State.RUNNING) {
            worker.interrupt();
            try {
                worker.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        failQueued();
    }
}
