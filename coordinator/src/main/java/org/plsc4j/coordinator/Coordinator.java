package org.plsc4j.coordinator;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.LeaderLatchListener;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.framework.state.ConnectionStateListener;
import org.plsc4j.coordinator.internal.GenerationPolicy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Forms a job's generations from its worker registry: elected with Curator's {@link LeaderLatch}
 * (run two for high availability; only the leader writes), it watches {@code workers/} and
 * publishes generation g+1 when the membership rule of {@link JobSpec} says so (min/max workers,
 * settle window, standbys; see {@link GenerationPolicy}), and keeps the {@code status} node saying
 * what it waits for.
 *
 * <p>Restarts (torchrun's {@code --max-restarts}): a generation published because a member of the
 * current one is gone is a restart; its count is carried in each generation
 * ({@link Generation#restarts}, the {@code restarts} field of {@code generations/<g>}), so a standby
 * that takes over continues it. When a loss would need more than {@link JobSpec#maxRestarts}
 * restarts, the leader publishes nothing and writes the terminal status "failed". Once the status
 * is terminal ("failed", or "finished" written by a launcher) no coordinator publishes or
 * overwrites it (see {@link JobStatus}).
 *
 * <p>Why leadership plus a versioned pointer: the latch makes one coordinator active and a standby
 * take over within a session timeout (at once if the leader closes cleanly); the pointer's version
 * check in {@link JobStore#publish} makes a deposed leader that has not noticed yet harmless.
 *
 * <p>All decisions run on one named daemon thread, triggered by registry events, leadership, the
 * settle timer and reconnections; nothing polls or sleeps.
 */
public final class Coordinator implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Coordinator.class);

    /** Lifecycle. */
    public enum State {
        /** Constructed. */
        NEW,
        /** {@link #start()} ran. */
        STARTED,
        /** {@link #close()} ran. */
        CLOSED
    }

    private final CuratorFramework client;
    private final JobSpec spec;
    private final byte[] config;
    private final String token;
    private final String id;
    private final JobStore store;
    private final AtomicReference<State> state = new AtomicReference<>(State.NEW);
    private final ScheduledExecutorService executor;
    private final LeaderLatch latch;
    private final CuratorCache workersCache;
    private final CountDownLatch leadership = new CountDownLatch(1);
    private final ConnectionStateListener connectionListener = this::connectionChanged;
    private final java.util.concurrent.atomic.AtomicBoolean evaluationPending =
            new java.util.concurrent.atomic.AtomicBoolean();

    // confined to the executor thread
    private List<String> lastRegistry;
    private long lastChangeNanos;
    private ScheduledFuture<?> settleTimer;
    private JobStatus lastStatus;
    private volatile JobStatus status = new JobStatus("waiting", 0, 0, 0, "not started");

    /**
     * A coordinator of the job {@code spec} over a started {@code client} (the caller owns it).
     *
     * @param config the job configuration stored in {@code config} if this coordinator creates the job
     * @param token the job token stored if this coordinator creates the job
     * @param id this coordinator's id in the leader latch (e.g. host:pid)
     */
    public Coordinator(CuratorFramework client, JobSpec spec, byte[] config, String token, String id) {
        this.client = Objects.requireNonNull(client, "client");
        this.spec = Objects.requireNonNull(spec, "spec");
        this.config = Objects.requireNonNull(config, "config").clone();
        this.token = Objects.requireNonNull(token, "token");
        this.id = Objects.requireNonNull(id, "id");
        this.store = new JobStore(client, spec.jobId());
        this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "plsc4j-coordinator-" + spec.jobId() + "-" + id);
            t.setDaemon(true);
            return t;
        });
        this.latch = new LeaderLatch(client, store.paths().leader(), id);
        this.workersCache = CuratorCache.build(client, store.paths().workers());
    }

    /**
     * Creates the job if absent (or checks that the stored spec equals this one), joins the
     * leader election and starts watching the registry. Call once.
     */
    public void start() {
        if (!state.compareAndSet(State.NEW, State.STARTED)) {
            throw new IllegalStateException("coordinator " + id + " : " + state.get() + " (expected: NEW)");
        }
        try {
            doStart();
        } catch (RuntimeException e) {
            close(); // a coordinator that failed to start holds no threads, watches or latch node
            throw e;
        }
    }

    private void doStart() {
        store.createJob(spec, config, token);
        latch.addListener(new LeaderLatchListener() {
            @Override
            public void isLeader() {
                LOG.info("coordinator {} of job {} leads", id, spec.jobId());
                submit(Coordinator.this::takeOver); // before the latch: evaluateNow() then runs after it
                leadership.countDown();
            }

            @Override
            public void notLeader() {
                LOG.info("coordinator {} of job {} lost the leadership", id, spec.jobId());
            }
        });
        workersCache.listenable().addListener(CuratorCacheListener.builder()
                .forAll((type, oldData, data) -> evaluateSoon())
                .build());
        client.getConnectionStateListenable().addListener(connectionListener);
        workersCache.start();
        try {
            latch.start();
        } catch (Exception e) {
            throw JobStore.failure("coordinator " + id + ": start the leader latch " + store.paths().leader(), e);
        }
    }

    /** This coordinator's lifecycle state. */
    public State state() {
        return state.get();
    }

    /** Whether this coordinator currently leads. */
    public boolean isLeader() {
        return state.get() == State.STARTED && latch.hasLeadership();
    }

    /** Blocks until this coordinator leads; false on timeout. Restores the interrupt flag. */
    public boolean awaitLeadership(Duration timeout) {
        try {
            return leadership.await(timeout.toNanos(), TimeUnit.NANOSECONDS) && isLeader();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /**
     * What this coordinator decided last (as written to the status node while it leads), or the
     * terminal status it found or wrote.
     */
    public JobStatus status() {
        return status;
    }

    /** The job store this coordinator writes through. */
    public JobStore store() {
        return store;
    }

    /**
     * Runs one evaluation on the decision thread now and waits for it (after any queued ones, e.g.
     * the take-over). Why: tests assert that nothing is published after a registry change without
     * sleeping — the registry is read from ZooKeeper, so an evaluation that starts after the
     * change has seen it.
     */
    void evaluateNow() {
        java.util.concurrent.CompletableFuture<Void> done = new java.util.concurrent.CompletableFuture<>();
        executor.execute(() -> {
            try {
                runSafely(this::evaluate);
            } finally {
                done.complete(null);
            }
        });
        try {
            done.get(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CoordinatorException("coordinator " + id + ": interrupted waiting for an evaluation", e);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new CoordinatorException("coordinator " + id + ": evaluation did not complete: " + e, e);
        }
    }

    private void connectionChanged(CuratorFramework c, ConnectionState s) {
        if (s == ConnectionState.RECONNECTED) {
            evaluateSoon();
        }
    }

    /** Coalesces bursts of registry events (N workers starting at once) into one evaluation. */
    private void evaluateSoon() {
        if (evaluationPending.compareAndSet(false, true)) {
            submit(() -> {
                evaluationPending.set(false);
                evaluate();
            });
        }
    }

    private void submit(Runnable task) {
        if (state.get() != State.STARTED) {
            return;
        }
        try {
            executor.execute(() -> runSafely(task));
        } catch (RejectedExecutionException closing) {
            // closed concurrently
        }
    }

    private void runSafely(Runnable task) {
        try {
            task.run();
        } catch (RuntimeException e) {
            if (state.get() == State.STARTED) {
                LOG.warn("coordinator {} of job {}: {}", id, spec.jobId(), e.toString());
            }
        }
    }

    /** A new leader counts the settle window from now: it has not seen the registry change. */
    private void takeOver() {
        lastRegistry = null;
        lastStatus = null; // another leader may have written the status meanwhile
        evaluate();
    }

    private void evaluate() {
        if (state.get() != State.STARTED || !latch.hasLeadership()) {
            return;
        }
        Optional<JobStatus> ended = store.readTerminalStatus();
        if (ended.isPresent()) {
            stopped(ended.get());
            return;
        }
        List<RegisteredWorker> registered = store.registeredWorkers();
        List<String> ids = registered.stream().map(RegisteredWorker::workerId).toList();
        long now = System.nanoTime();
        if (!ids.equals(lastRegistry)) {
            lastRegistry = ids;
            lastChangeNanos = now;
        }
        Generation current = store.currentGeneration().orElse(null);
        long g = current == null ? 0 : current.number();
        GenerationPolicy.Decision d = GenerationPolicy.decide(spec, registered, current,
                Duration.ofNanos(now - lastChangeNanos));
        cancelSettleTimer();
        int standbys = Math.max(0, registered.size() - spec.maxWorkers());
        List<String> lost = GenerationPolicy.lostMembers(current, registered);
        int restarts = current == null ? 0 : current.restarts();
        if (!lost.isEmpty() && restarts >= spec.maxRestarts()) {
            // torchrun fails at the failure it cannot restart from, not when a new membership forms
            String message = "max_restarts : " + spec.maxRestarts() + " exhausted (generation " + g
                    + " lost worker(s) " + lost + "; the job stops)";
            JobStatus failed = new JobStatus(JobStatus.FAILED, g, registered.size(), standbys, message);
            Optional<JobStatus> other = store.writeStatusUnlessTerminal(failed);
            if (other.isEmpty()) {
                LOG.warn("coordinator {} of job {}: {}", id, spec.jobId(), message);
            }
            stopped(other.orElse(failed));
            return;
        }
        if (d instanceof GenerationPolicy.UpToDate u) {
            report(new JobStatus("running", g, registered.size(), u.standbys(), "generation " + g + " with "
                    + current.worldSize() + " workers" + (u.standbys() > 0 ? ", " + u.standbys() + " standby" : "")));
        } else if (d instanceof GenerationPolicy.Wait w) {
            report(new JobStatus("waiting", g, registered.size(), standbys, w.message()));
        } else if (d instanceof GenerationPolicy.Settle s) {
            report(new JobStatus("settling", g, registered.size(), standbys, "generation " + (g + 1) + " with "
                    + s.members().size() + " workers due in " + s.remaining().toMillis() + " ms unless the registry changes"));
            settleTimer = executor.schedule(() -> runSafely(this::evaluate), s.remaining().toNanos(), TimeUnit.NANOSECONDS);
        } else if (d instanceof GenerationPolicy.Publish p) {
            Generation next = Generation.of(g + 1, spec, p.members(), lost.isEmpty() ? restarts : restarts + 1);
            if (store.publish(next)) {
                LOG.info("coordinator {} published generation {} of job {}: {} (restarts {}/{})", id, next.number(),
                        spec.jobId(), next.workerIds(), next.restarts(), spec.maxRestarts());
                report(new JobStatus("running", next.number(), registered.size(), standbys, "generation "
                        + next.number() + " with " + next.worldSize() + " workers"
                        + (standbys > 0 ? ", " + standbys + " standby" : "")));
                try {
                    store.deleteRendezvousBefore(next.number());
                } catch (CoordinatorException e) {
                    LOG.debug("rendezvous cleanup: {}", e.toString());
                }
            } else {
                LOG.info("coordinator {}: generation {} of job {} was published by another writer", id, g + 1,
                        spec.jobId());
                evaluateSoon();
            }
        }
    }

    private void report(JobStatus s) {
        if (s.equals(lastStatus)) {
            status = s;
            return;
        }
        Optional<JobStatus> ended = store.writeStatusUnlessTerminal(s);
        if (ended.isPresent()) {
            stopped(ended.get()); // ended between the check in evaluate() and now
        } else {
            status = s;
            lastStatus = s;
        }
    }

    /** The job is over (terminal status): remember it, decide nothing more. */
    private void stopped(JobStatus terminal) {
        cancelSettleTimer();
        if (!terminal.equals(status)) {
            LOG.info("coordinator {} of job {}: job {}: {}", id, spec.jobId(), terminal.state(), terminal.message());
        }
        status = terminal;
        lastStatus = terminal;
    }

    private void cancelSettleTimer() {
        if (settleTimer != null) {
            settleTimer.cancel(false);
            settleTimer = null;
        }
    }

    /** Leaves the election (a standby takes over), stops watching. Idempotent; never throws. */
    @Override
    public void close() {
        State before = state.getAndSet(State.CLOSED);
        if (before == State.CLOSED) {
            return;
        }
        executor.shutdownNow();
        if (before == State.NEW) {
            return;
        }
        client.getConnectionStateListenable().removeListener(connectionListener);
        workersCache.close();
        try {
            latch.close();
        } catch (Exception e) {
            LOG.debug("coordinator {}: closing the leader latch: {}", id, e.toString());
        }
        try {
            if (!executor.awaitTermination(5, TimeUnit.SECONDS)) {
                LOG.warn("coordinator {}: decision thread did not stop within 5 s", id);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
