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
    private final ExecutorService executor;
    private final List<Consumer<Generation>> listeners = new CopyOnWriteArrayList<>();
    private final Object lock = new Object();
    private Generation latest; // guarded by lock
    private RuntimeException lastError; // guarded by lock

    /** A watcher of job {@code jobId} on behalf of {@code workerId} (see {@link WorkerRegistration#workerId()}). */
    public GenerationWatcher(CuratorFramework client, String jobId, String workerId) {
        this.store = new JobStore(client, jobId);
        this.workerId = Objects.requireNonNull(workerId, "workerId");
        RegisteredWorker.sequenceOf(workerId);
        this.cache = CuratorCache.build(client, store.paths().generation(), CuratorCache.Options.SINGLE_NODE_CACHE);
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
        cache.start();
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
     *     coordinator's status (e.g. "waiting for 2 more workers (have 1, min 3)"); or when
     *     interrupted (the interrupt flag is restored)
     */
    public Generation awaitMembership(Duration timeout) {
        return awaitMembershipAfter(0, timeout);
    }

    /** Like {@link #awaitMembership} but only a generation numbered above {@code after} counts. */
    public Generation awaitMembershipAfter(long after, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        Generation seen;
        synchronized (lock) {
            while (latest == null || latest.number() <= after || latest.assignmentOf(workerId).isEmpty()) {
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
            if (seen != null && seen.number() > after && seen.assignmentOf(workerId).isPresent()) {
                return seen;
            }
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
        }
        synchronized (lock) {
            lock.notifyAll();
        }
    }
}
