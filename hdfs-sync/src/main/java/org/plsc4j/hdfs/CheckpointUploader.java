package org.plsc4j.hdfs;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Uploads committed checkpoints in the background so training does not wait for the network.
 *
 * <p>Policy: in order, every submitted checkpoint, one upload in flight at a time, on one named daemon
 * thread ({@code plsc4j-hdfs-upload}). In order rather than newest-wins because the issue promises
 * every epoch's checkpoint remotely; a checkpoint is written once per epoch, so the queue stays short.
 * After each successful upload, with {@code keepLast > 0}, older remote checkpoints beyond the newest
 * {@code keepLast} are deleted. Each upload, successful or not, is reported to the listener (the
 * trainer writes it to metrics.jsonl as {@code hdfs_upload}). {@link #drain()} waits for all of them
 * and throws when the last one failed, so a job does not report success without its final checkpoint
 * uploaded.
 */
public final class CheckpointUploader implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(CheckpointUploader.class);

    /**
     * One finished upload.
     *
     * @param epoch the checkpoint's epoch
     * @param local the local checkpoint directory
     * @param remote the remote checkpoint directory, or null on failure
     * @param bytes bytes copied
     * @param seconds wall time
     * @param pruned remote checkpoints deleted afterwards by hdfs_keep_last
     * @param error the failure, or null
     */
    public record Result(int epoch, Path local, String remote, long bytes, double seconds, List<String> pruned,
                         IOException error) {
    }

    private enum State { NEW, RUNNING, CLOSED }

    private final HdfsSync sync;
    private final String remoteDir;
    private final int keepLast;
    private final Consumer<Result> listener;
    private final AtomicReference<State> state = new AtomicReference<>(State.NEW);
    private final Deque<Future<Result>> pending = new ArrayDeque<>();
    private ExecutorService executor;

    /**
     * An uploader to {@code remoteDir} over {@code sync} (not closed by this class).
     *
     * @param keepLast checkpoints kept remotely; 0 = all
     * @param listener told about every finished upload, on the upload thread (null: none)
     */
    public CheckpointUploader(HdfsSync sync, String remoteDir, int keepLast, Consumer<Result> listener) {
        this.sync = Objects.requireNonNull(sync, "sync");
        this.remoteDir = Objects.requireNonNull(remoteDir, "remoteDir");
        if (keepLast < 0) {
            throw new IllegalArgumentException("hdfs_keep_last : " + keepLast + " (expected: >= 0)");
        }
        this.keepLast = keepLast;
        this.listener = listener == null ? r -> { } : listener;
    }

    /** Starts the upload thread; once. */
    public void start() {
        if (!state.compareAndSet(State.NEW, State.RUNNING)) {
            throw new IllegalStateException("uploader : " + state.get() + " (expected: NEW; start() once)");
        }
        executor = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "plsc4j-hdfs-upload");
            t.setDaemon(true);
            return t;
        });
    }

    /** Queues {@code localCheckpoint} (epoch {@code epoch}); returns at once. */
    public synchronized void submit(Path localCheckpoint, int epoch) {
        if (state.get() != State.RUNNING) {
            throw new IllegalStateException("uploader : " + state.get() + " (expected: RUNNING)");
        }
        pending.add(executor.submit(() -> upload(localCheckpoint, epoch)));
    }

    private Result upload(Path local, int epoch) {
        long t0 = System.nanoTime();
        Result r;
        try {
            HdfsSync.Transfer t = sync.upload(local, remoteDir);
            List<String> pruned = keepLast > 0 ? sync.prune(remoteDir, keepLast) : List.of();
            r = new Result(epoch, local, t.remote(), t.bytes(), t.seconds(), pruned, null);
            LOG.info("uploaded checkpoint {} to {}: {} bytes in {} s{}", local, t.remote(), t.bytes(),
                    String.format(java.util.Locale.ROOT, "%.2f", t.seconds()),
                    pruned.isEmpty() ? "" : ", pruned " + pruned);
        } catch (IOException | RuntimeException e) {
            IOException io = e instanceof IOException x ? x
                    : new IOException("upload of " + local + " to " + remoteDir + " failed: " + e, e);
            r = new Result(epoch, local, null, 0, (System.nanoTime() - t0) / 1e9, List.of(), io);
            LOG.error("upload of checkpoint {} to {} failed: {}", local, remoteDir, io.getMessage());
        }
        try {
            listener.accept(r);
        } catch (RuntimeException e) {
            LOG.warn("upload listener failed: {}", e.toString());
        }
        return r;
    }

    /**
     * Waits for every queued upload; returns the last result (null when none was queued).
     *
     * @throws IOException the last upload's error, when it failed
     */
    public Result drain() throws IOException {
        Result last = null;
        while (true) {
            Future<Result> f;
            synchronized (this) {
                f = pending.poll();
            }
            if (f == null) {
                break;
            }
            try {
                last = f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted while waiting for checkpoint uploads");
            } catch (ExecutionException e) {
                throw new IOException("checkpoint upload crashed: " + e.getCause(), e.getCause());
            }
        }
        if (last != null && last.error() != null) {
            throw new HdfsException("the last checkpoint (epoch " + last.epoch() + ", " + last.local()
                    + ") was not uploaded to " + remoteDir + ": " + last.error().getMessage(), last.error());
        }
        return last;
    }

    /** Stops the thread without waiting for queued uploads (call {@link #drain()} first to wait); idempotent. */
    @Override
    public void close() {
        State s = state.getAndSet(State.CLOSED);
        if (s == State.RUNNING) {
            executor.shutdownNow();
            try {
                executor.awaitTermination(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
