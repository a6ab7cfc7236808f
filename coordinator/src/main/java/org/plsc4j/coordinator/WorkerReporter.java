package org.plsc4j.coordinator;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.curator.framework.CuratorFramework;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.plsc4j.coordinator.internal.Json;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes a worker's {@link WorkerReport} to its ephemeral node {@code reports/<worker id>} at a
 * bounded rate: callers {@link #update} as often as they like (every step), a named daemon thread
 * writes the latest report at most once per interval, and only when it changed.
 *
 * <p>Why bounded: ZooKeeper is the job's coordination service, not a metrics store; a thousand
 * workers stepping ten times a second must not turn into ten thousand writes a second. A failed
 * write is logged and retried at the next tick: reports are best effort and never stop training.
 */
public final class WorkerReporter implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(WorkerReporter.class);

    private enum State { NEW, STARTED, CLOSED }

    private final CuratorFramework client;
    private final String path;
    private final Duration interval;
    private final AtomicReference<State> state = new AtomicReference<>(State.NEW);
    private final AtomicReference<WorkerReport> latest = new AtomicReference<>();
    private final ScheduledExecutorService timer;
    private WorkerReport written; // only the timer thread

    /**
     * A reporter of worker {@code workerId} of job {@code jobId}, writing at most once per {@code interval}.
     */
    public WorkerReporter(CuratorFramework client, String jobId, String workerId, Duration interval) {
        this.client = Objects.requireNonNull(client, "client");
        this.path = JobPaths.of(jobId).report(workerId);
        RegisteredWorker.sequenceOf(workerId);
        if (interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("report interval : " + interval + " (expected: > 0)");
        }
        this.interval = interval;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "plsc4j-report-" + workerId);
            t.setDaemon(true);
            return t;
        });
    }

    /** Starts the periodic writes; once. */
    public WorkerReporter start() {
        if (!state.compareAndSet(State.NEW, State.STARTED)) {
            throw new IllegalStateException("reporter : " + state.get() + " (expected: NEW)");
        }
        long ms = interval.toMillis();
        timer.scheduleWithFixedDelay(this::tick, 0, ms, TimeUnit.MILLISECONDS);
        return this;
    }

    /** The report to publish at the next tick (replaces any not yet written). */
    public void update(WorkerReport report) {
        latest.set(Objects.requireNonNull(report, "report"));
    }

    /** The last report given to {@link #update}, or null. */
    public WorkerReport latest() {
        return latest.get();
    }

    /** Writes the latest report now if it changed (the timer's job; public for tests and shutdown). */
    public synchronized void tick() {
        WorkerReport r = latest.get();
        if (r == null || r.equals(written)) {
            return;
        }
        byte[] data = Json.report(r);
        try {
            try {
                client.setData().forPath(path, data);
            } catch (KeeperException.NoNodeException absent) {
                client.create().creatingParentContainersIfNeeded().withMode(CreateMode.EPHEMERAL).forPath(path, data);
            }
            written = r;
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
                return;
            }
            LOG.debug("cannot write the report {}: {}", path, e.toString());
        }
    }

    /** Stops the writes and deletes the node (it is ephemeral anyway); idempotent. */
    @Override
    public void close() {
        if (state.getAndSet(State.CLOSED) == State.CLOSED) {
            return;
        }
        timer.shutdownNow();
        try {
            timer.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            client.delete().forPath(path);
        } catch (KeeperException.NoNodeException gone) {
            // never written, or the session ended
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            LOG.debug("cannot delete the report {}: {}", path, e.toString());
        }
    }
}
