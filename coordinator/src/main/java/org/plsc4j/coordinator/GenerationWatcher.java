package org.plsc4j.coordinator;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.plsc4j.coordinator.internal.Json;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A worker's view of its job's generations: follows the {@code generation} pointer (a Curator
 * {@link CuratorCache}), reads each new generation, lets the worker block until it is a member,
 * and notifies listeners of every later generation.
 *
 * <p>Why: a worker must not start training before the coordinator has assigned it a rank and a
 * class range, and must pause and re-partition when the membership changes. When generations are
 * published faster than this watcher reads, intermediate ones are skipped (only the newest matters).
 *
 * <p>It also follows the {@code status} node (a second {@link CuratorCache}): when the job reaches a
 * terminal state ("failed" after max_restarts, or "finished"), callers blocked in
 * {@link #awaitMembershipAfter} fail at once with the status message, and a training loop can check
 * {@link #failure()} at every step without a ZooKeeper round trip.
 */
public final class GenerationWatcher implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(GenerationWatcher.class);

    /** Lifecycle. */
    public enum State {
        /** Constructed. */
        NEW,
        /** Watching. */
        STARTED,
        /** Closed. */
        CLOSED
    }

    private final JobStore store;
    private final String workerId;
    private final AtomicReference<State> state = new AtomicReference<>(State.NEW);
    private final CuratorCache cache;
    private final CuratorCache statusCache;
    private final ExecutorService executor;
    private final List<Consumer<Generation>> listeners = new CopyOnWriteArrayList<>();
    private final Object lock = new Object();
    private Generation latest; // guarded by lock
    private RuntimeException lastError; // guarded by lock
    private volatile JobStatus ended; // the terminal status, once seen (written under lock)

    /** A watcher of job {@code jobId} on behalf of {@code workerId} (see {@link WorkerRegistration#workerId()}). */
    public GenerationWatcher(CuratorFramework client, String jobId, String workerId) {
        this.store = new JobStore(client, jobId);
        this.workerId = Objects.requireNonNull(workerId, "workerId");
        RegisteredWorker.sequenceOf(workerId);
        this.cache = CuratorCache.build(client, store.paths().generation(), CuratorCache.Options.SINGLE_NODE_CACHE);
        this.statusCache = CuratorCache.build(client, store.paths().status(), CuratorCache.Options.SINGLE_NODE_CACHE);
        this.executor = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "plsc4j-generation-watcher-" + jobId + "-" + workerId);
            t.setDaemon(true);
            return t;
        });
    }

    /** Starts watching. Call once. */
    public void start() {
        if (!state.compareAndSet(State.NEW, State.STARTED)) {
            throw new IllegalStateException("generation watcher : " + state.get() + " (expected: NEW)");
        }
        cache.listenable().addListener(CuratorCacheListener.builder()
                .forCreatesAndChanges((oldNode, node) -> refreshLater())
                .forInitialized(this::refreshLater)
                .build());
        statusCache.listenable().addListener(CuratorCacheListener.builder()
                .forCreatesAndChanges((oldNode, node) -> statusChanged(node.getData()))
                .build());
        cache.start();
        statusCache.start();
    }

    /**
     * The job's "failed" status (max_restarts exhausted), once this watcher has seen it; cheap (no
     * ZooKeeper call), so a training loop can check it at every step and stop.
     */
    public Optional<JobStatus> failure() {
        JobStatus s = ended;
        return s != null && s.isFailed() ? Optional.of(s) : Optional.empty();
    }

    /**
     * The job's terminal status ("failed" or "finished"), once this watcher has seen it; cheap like
     * {@link #failure()}. Why both: a worker stops on either, but only a failure is an error.
     */
    public Optional<JobStatus> terminalStatus() {
        return Optional.ofNullable(ended);
    }

    private void statusChanged(byte[] data) {
        JobStatus s;
        try {
            s = Json.status(data, store.paths().status());
        } catch (CoordinatorException e) {
            LOG.debug("worker {}: unreadable status: {}", workerId, e.getMessage());
            return;
        }
        if (!s.isTerminal()) {
            return;
        }
        synchronized (lock) {
            if (ended == null) {
                ended = s;
                LOG.info("worker {}: job {} {}: {}", workerId, store.paths().jobId(), s.state(), s.message());
            }
            lock.notifyAll();
        }
    }

    private CoordinatorException endedException(JobStatus s) {
        return new CoordinatorException("worker " + workerId + " of job " + store.paths().jobId() + ": the job "
                + s.state() + ": " + s.message());
    }

    /**
     * Adds a listener called (on the watcher's thread) with every generation newer than the last
     * one seen, including the first.
     */
    public void addListener(Consumer<Generation> listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
    }

    /** The newest generation read so far. */
    public Optional<Generation> latest() {
        synchronized (lock) {
            return Optional.ofNullable(latest);
        }
    }

    /**
     * Blocks until a generation that includes this worker is published and returns it (at once if
     * the newest one already does).
     *
     * @throws CoordinatorException on timeout, naming the worker, the newest generation and the
     *     coordinator's status (e.g. "waiting for 2 more workers (have 1, min 3)"); at once when the
     *     job reaches a terminal state (see {@link #awaitMembershipAfter}); or when interrupted (the
     *     interrupt flag is restored)
     */
    public Generation awaitMembership(Duration timeout) {
        return awaitMembershipAfter(0, timeout);
    }

    /**
     * Like {@link #awaitMembership} but only a generation numbered above {@code after} counts.
     *
     * @throws CoordinatorException also at once when the job reaches a terminal state ("failed":
     *     the message is the coordinator's, e.g. "max_restarts : 2 exhausted (...)"; or "finished")
     */
    public Generation awaitMembershipAfter(long after, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        Generation seen;
        synchronized (lock) {
            while (true) {
                if (ended != null) { // before membership: a generation of a failed job is not to be trained in
                    throw endedException(ended);
                }
                if (latest != null && latest.number() > after && latest.assignmentOf(workerId).isPresent()) {
                    return latest;
                }
                if (state.get() == State.CLOSED) {
                    throw new CoordinatorException("generation watcher of worker " + workerId + " is closed");
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(lock, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new CoordinatorException("worker " + workerId + " interrupted while waiting for a generation", e);
                }
            }
            seen = latest;
        }
        throw new CoordinatorException(timeoutMessage(seen, timeout));
    }

    private String timeoutMessage(Generation seen, Duration timeout) {
        StringBuilder sb = new StringBuilder("worker ").append(workerId).append(" of job ")
                .append(store.paths().jobId()).append(": no generation includes it after ").append(timeout).append(" (");
        if (seen == null) {
            sb.append("no generation published yet");
        } else {
            sb.append("newest generation ").append(seen.number()).append(" has workers ").append(seen.workerIds());
        }
        try {
            Optional<JobStatus> status = store.readStatus();
            sb.append(status.map(s -> "; coordinator: " + s.message()).orElse("; no coordinator status: is a coordinator running?"));
        } catch (CoordinatorException e) {
            sb.append("; status unreadable: ").append(e.getMessage());
        }
        synchronized (lock) {
            if (lastError != null) {
                sb.append("; last read error: ").append(lastError.getMessage());
            }
        }
        return sb.append(')').toString();
    }

    private void refreshLater() {
        if (state.get() != State.STARTED) {
            return;
        }
        try {
            executor.execute(this::refresh);
        } catch (RejectedExecutionException closing) {
            // closed concurrently
        }
    }

    private void refresh() {
        if (state.get() != State.STARTED) {
            return;
        }
        Generation next;
        try {
            long g = store.currentGenerationNumber();
            synchronized (lock) {
                if (g == 0 || (latest != null && latest.number() >= g)) {
                    return;
                }
            }
            next = store.readGeneration(g);
        } catch (RuntimeException e) {
            LOG.warn("worker {}: reading the generation failed: {}", workerId, e.toString());
            synchronized (lock) {
                lastError = e;
            }
            return;
        }
        synchronized (lock) {
            if (latest != null && latest.number() >= next.number()) {
                return;
            }
            latest = next;
            lock.notifyAll();
        }
        for (Consumer<Generation> l : listeners) {
            try {
                l.accept(next);
            } catch (RuntimeException e) {
                LOG.warn("worker {}: generation listener failed: {}", workerId, e.toString());
            }
        }
    }

    /** Stops watching; waiting callers fail. Idempotent. */
    @Override
    public void close() {
        State before = state.getAndSet(State.CLOSED);
        if (before == State.CLOSED) {
            return;
        }
        executor.shutdownNow();
        if (before == State.STARTED) {
            cache.close();
            statusCache.close();
        }
        synchronized (lock) {
            lock.notifyAll();
        }
    }
}
