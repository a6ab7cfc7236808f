package org.plsc4j.data;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Reads one rank's batches of a {@link GlobalBatchPlan} ahead of the trainer, so that decoding
 * overlaps the step: a named daemon thread walks the plan from {@link LoaderConfig#start()} to
 * {@link LoaderConfig#endEpoch()}, decodes each batch's images on a small pool and puts finished
 * {@link Batch}es into a bounded queue.
 *
 * <p>Contract: {@link #next()} returns exactly the planned samples in plan order; a failure in the
 * loader threads (e.g. a {@link BadDataException} in strict mode) is thrown by the next
 * {@link #next()}/{@link #hasNext()} as a {@link DataLoadingException} carrying the original message
 * (and the original as cause); {@link #close()} is idempotent and stops the threads; an interrupted
 * consumer gets a {@link DataLoadingException} with its interrupt flag restored. Not for use by more
 * than one consumer thread.
 */
public final class BatchLoader implements AutoCloseable {

    private static final AtomicInteger INSTANCES = new AtomicInteger();

    private final Dataset dataset;
    private final GlobalBatchPlan plan;
    private final LoaderConfig config;
    private final BlockingQueue<Object> queue;
    private final ExecutorService decoders;
    private final Thread producer;
    private final List<Thread> decoderThreads = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final BadSampleLog readFailures = new BadSampleLog();
    private Object peeked;
    private boolean finished;

    /** Markers: the plan is done; the loader was closed (wakes a consumer blocked in {@link #next()}). */
    private enum End { END, CLOSED }

    /** A failure of the loader threads, delivered in order. */
    private record Failure(Throwable error) {
    }

    /** Starts loading {@code config.rank()}'s share of {@code plan} from {@code dataset}. */
    public BatchLoader(Dataset dataset, GlobalBatchPlan plan, LoaderConfig config) {
        this.dataset = Objects.requireNonNull(dataset, "dataset");
        this.plan = Objects.requireNonNull(plan, "plan");
        this.config = Objects.requireNonNull(config, "config");
        if (plan.size() != dataset.size()) {
            throw new IllegalArgumentException("plan size : " + plan.size() + " (expected: dataset size "
                    + dataset.size() + ")");
        }
        if (config.rank() >= plan.worldSize()) {
            throw new IllegalArgumentException("rank : " + config.rank() + " (expected: < world_size = "
                    + plan.worldSize() + ")");
        }
        if (config.start().step() >= plan.stepsPerEpoch()) {
            throw new IllegalArgumentException("start step : " + config.start().step()
                    + " (expected: < steps_per_epoch = " + plan.stepsPerEpoch() + ")");
        }
        this.queue = new ArrayBlockingQueue<>(config.prefetch());
        String name = "plsc4j-loader-" + INSTANCES.incrementAndGet() + "-r" + config.rank();
        AtomicInteger decoderId = new AtomicInteger();
        this.decoders = Executors.newFixedThreadPool(config.decodeThreads(), r -> {
            Thread t = new Thread(r, name + "-decode-" + decoderId.incrementAndGet());
            t.setDaemon(true);
            decoderThreads.add(t);
            return t;
        });
        this.producer = new Thread(this::produce, name);
        producer.setDaemon(true);
        producer.start();
    }

    /** Samples that failed at read time in skip mode (rows labelled -1); 0 in strict mode. */
    public BadSampleLog readFailures() {
        return readFailures;
    }

    /** Whether another batch follows; blocks until it is decoded. */
    public boolean hasNext() {
        if (finished) {
            return false;
        }
        if (peeked == null) {
            peeked = take();
        }
        if (peeked == End.END) {
            finished = true;
            return false;
        }
        if (peeked == End.CLOSED) {
            finished = true;
            throw new IllegalStateException("BatchLoader is closed");
        }
        if (peeked instanceof Failure f) {
            finished = true;
            peeked = null;
            Throwable e = f.error();
            throw new DataLoadingException(e.getMessage() == null ? e.toString() : e.getMessage(), e);
        }
        return true;
    }

    /** The next batch, in plan order. */
    public Batch next() {
        if (!hasNext()) {
            throw new NoSuchElementException("the plan ends before epoch " + config.endEpoch());
        }
        Batch b = (Batch) peeked;
        peeked = null;
        return b;
    }

    private Object take() {
        if (closed.get()) {
            throw new IllegalStateException("BatchLoader is closed");
        }
        try {
            return queue.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DataLoadingException("interrupted while waiting for the next batch", e);
        }
    }

    private void produce() {
        try {
            GlobalBatchPlan.Position start = config.start();
            for (int epoch = start.epoch(); epoch < config.endEpoch() && !closed.get(); epoch++) {
                int[] order = plan.epochOrder(epoch);
                for (int step = epoch == start.epoch() ? start.step() : 0; step < plan.stepsPerEpoch(); step++) {
                    if (closed.get()) {
                        return;
                    }
                    queue.put(load(epoch, step, plan.rankBatch(order, step, config.rank())));
                }
            }
            queue.put(End.END);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // closing
        } catch (Throwable e) { // delivered to the consumer; an Error included, so that it does not wait forever
            Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
            if (!closed.get()) {
                try {
                    queue.put(new Failure(cause));
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    private Batch load(int epoch, int step, int[] indices) throws InterruptedException, ExecutionException {
        int b = indices.length;
        int per = dataset.config().imageShape().floatsPerImage();
        float[] data = new float[b * per];
        int[] labels = new int[b];
        List<String> bad = Collections.synchronizedList(new ArrayList<>());
        int threads = Math.min(config.decodeThreads(), b);
        List<Future<?>> futures = new ArrayList<>(threads);
        for (int t = 0; t < threads; t++) {
            int from = t * b / threads;
            int to = (t + 1) * b / threads;
            futures.add(decoders.submit(() -> {
                for (int row = from; row < to; row++) {
                    int i = indices[row];
                    boolean flip = config.randomFlip() && ImagePreprocessor.flip(plan.seed(), epoch, i);
                    try {
                        dataset.read(i, flip, data, row * per);
                        labels[row] = dataset.label(i);
                    } catch (BadDataException e) {
                        if (!dataset.config().skipBadSamples()) {
                            throw e;
                        }
                        readFailures.skipped(e);
                        java.util.Arrays.fill(data, row * per, (row + 1) * per, 0f);
                        labels[row] = Batch.IGNORED;
                        bad.add(e.getMessage());
                    }
                }
                return null;
            }));
        }
        try {
            for (Future<?> f : futures) {
                f.get();
            }
        } catch (ExecutionException e) {
            for (Future<?> f : futures) {
                f.cancel(false); // no interrupts: an interrupted FileChannel read closes the channel for every reader
            }
            throw e;
        }
        var shape = dataset.config().imageShape();
        var images = Nd4j.create(data, new long[] {b, shape.channels(), shape.height(), shape.width()}, DataType.FLOAT);
        return new Batch(epoch, step, images, labels, indices, List.copyOf(bad));
    }

    /**
     * Stops the loader threads and waits (up to 10 s) for them to end; idempotent. A consumer blocked
     * in {@link #next()} gets an {@link IllegalStateException}. Does not close the dataset.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        // only the producer is interrupted (it blocks in queue.put / Future.get, never in I/O); decode
        // tasks finish their current rows: interrupting a FileChannel read would close the channel
        producer.interrupt();
        decoders.shutdown();
        queue.clear();
        boolean interrupted = false;
        try {
            producer.join(10_000);
            decoders.awaitTermination(10, TimeUnit.SECONDS);
            for (Thread t : decoderThreads) {
                t.join(1_000);
            }
        } catch (InterruptedException e) {
            interrupted = true;
        }
        queue.clear();
        queue.offer(End.CLOSED);
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
