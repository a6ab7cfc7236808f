package org.plsc4j.elastic.internal;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.curator.framework.CuratorFramework;
import org.plsc4j.coordinator.Generation;
import org.plsc4j.coordinator.GenerationWatcher;
import org.plsc4j.coordinator.JobStatus;
import org.plsc4j.coordinator.JobStore;
import org.plsc4j.coordinator.RankAssignment;
import org.plsc4j.coordinator.WorkerRegistration;
import org.plsc4j.coordinator.ZooKeeperRendezvous;
import org.plsc4j.core.collective.Collective;
import org.plsc4j.core.collective.CollectiveConfig;
import org.plsc4j.core.collective.CollectiveException;
import org.plsc4j.core.collective.Collectives;
import org.plsc4j.core.collective.Rendezvous;
import org.plsc4j.worker.FcRowStore;
import org.plsc4j.worker.Membership;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A worker's {@link Membership} in a ZooKeeper-coordinated job: registered in the job's registry,
 * it follows the published generations ({@link GenerationWatcher}) and opens the Netty collective
 * of each through a {@link ZooKeeperRendezvous}. A generation that is superseded while its ranks
 * are still meeting (a member died before arriving) is abandoned for the next one.
 *
 * <p>A generation superseded while its collective is still blocked (a peer cut off by the network
 * sends no FIN, so an operation would wait for the op timeout) is aborted: {@link #SUPERSEDED_GRACE}
 * after the newer generation appears, if this worker has not left the old one by then, its
 * collective is closed, which fails the pending operation and lets the trainer go on as after a
 * crashed peer. A clean change (the ranks stop together at a step boundary) takes far less.
 */
public final class CoordinatedMembership implements Membership {

    private static final Logger LOG = LoggerFactory.getLogger(CoordinatedMembership.class);

    /** How long one rendezvous wait lasts before checking whether the generation is still current. */
    private static final Duration SLICE = Duration.ofMillis(500);

    /** How long a superseded generation's collective may still be in use before it is closed. */
    public static final Duration SUPERSEDED_GRACE = Duration.ofSeconds(10);

    private final CuratorFramework client;
    private final String job;
    private final String token;
    private final String bindHost;
    private final String advertiseHost;
    private final Duration joinTimeout;
    private final Duration opTimeout;
    private final WorkerRegistration registration;
    private final GenerationWatcher watcher;
    private final FcRowStore rows;
    private final String collective;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicReference<Joined> current = new AtomicReference<>();
    private final ScheduledExecutorService watchdog = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "plsc4j-superseded-generation-watchdog");
        t.setDaemon(true);
        return t;
    });

    /** The generation this worker joined last and its collective. */
    private record Joined(long generation, Collective collective) {
    }

    /**
     * Registers this worker and starts following the job's generations.
     *
     * @param joinTimeout how long {@link #join} waits for a generation that includes this worker
     * @param opTimeout how long one collective operation may wait (an evaluation holds peers at a barrier)
     */
    public CoordinatedMembership(CuratorFramework client, String job, String token, WorkerRegistration registration,
                                 String bindHost, Duration joinTimeout, Duration opTimeout, FcRowStore rows) {
        this(client, job, token, registration, bindHost, joinTimeout, opTimeout, rows, "netty");
    }

    /**
     * As the other constructor with the collective backend named: "netty" (CPU workers) or "nccl" (CUDA
     * workers; one communicator per generation, its unique id handed out through the same ZooKeeper
     * rendezvous).
     */
    public CoordinatedMembership(CuratorFramework client, String job, String token, WorkerRegistration registration,
                                 String bindHost, Duration joinTimeout, Duration opTimeout, FcRowStore rows,
                                 String collective) {
        this(client, job, token, registration, bindHost, null, joinTimeout, opTimeout, rows, collective);
    }

    /**
     * As the other constructors, the collective listening on {@code bindHost} (e.g. 0.0.0.0) and
     * telling its peers {@code advertiseHost} (null: the bound address).
     */
    public CoordinatedMembership(CuratorFramework client, String job, String token, WorkerRegistration registration,
                                 String bindHost, String advertiseHost, Duration joinTimeout, Duration opTimeout,
                                 FcRowStore rows, String collective) {
        this.advertiseHost = advertiseHost;
        this.collective = Objects.requireNonNull(collective, "collective");
        this.client = Objects.requireNonNull(client, "client");
        this.job = Objects.requireNonNull(job, "job");
        this.token = Objects.requireNonNull(token, "token");
        this.registration = Objects.requireNonNull(registration, "registration");
        this.bindHost = Objects.requireNonNull(bindHost, "bindHost");
        this.joinTimeout = joinTimeout;
        this.opTimeout = opTimeout;
        this.rows = Objects.requireNonNull(rows, "rows");
        this.watcher = new GenerationWatcher(client, job, registration.workerId());
        watcher.addListener(next -> abortIfStuck(next.number()));
        watcher.start();
    }

    /** This worker's id in the registry. */
    public String workerId() {
        return registration.workerId();
    }

    @Override
    public Member join(long after) {
        long deadline = System.nanoTime() + joinTimeout.toNanos();
        long floor = after;
        while (true) {
            long left = deadline - System.nanoTime();
            Generation g = watcher.awaitMembershipAfter(floor, Duration.ofNanos(Math.max(1, left)));
            RankAssignment a = g.assignmentOf(registration.workerId()).orElseThrow();
            CollectiveConfig cc = CollectiveConfig.builder().jobId(job + "-g" + g.number()).token(token)
                    .rank(a.rank()).worldSize(g.worldSize()).timeout(opTimeout).bindHost(bindHost)
                    .advertiseHost(advertiseHost)
                    .rendezvous(new Sliced(new ZooKeeperRendezvous(client, job, g.number()), g.number(), deadline))
                    .build();
            try {
                Collective c = Collectives.join(collective, cc);
                LOG.info("worker {} is rank {} of {} in generation {} (classes [{}, {}))", registration.workerId(),
                        a.rank(), g.worldSize(), g.number(), a.classStart(), a.classEnd());
                Collective metered = new MeteredCollective(c);
                current.set(new Joined(g.number(), metered));
                watcher.latest().ifPresent(latest -> abortIfStuck(latest.number()));
                return new Member(g.number(), metered);
            } catch (CollectiveException e) {
                if (!superseded(g.number()) && System.nanoTime() - deadline >= 0) {
                    throw e;
                }
                LOG.warn("worker {}: generation {} could not form ({}); waiting for the next one",
                        registration.workerId(), g.number(), e.getMessage());
                floor = g.number();
            }
        }
    }

    /** Schedules the close of the current generation's collective if {@code newer} supersedes it. */
    private void abortIfStuck(long newer) {
        Joined j = current.get();
        if (j == null || newer <= j.generation() || closed.get()) {
            return;
        }
        try {
            watchdog.schedule(() -> {
                if (current.get() == j && !closed.get()) {
                    LOG.warn("worker {}: generation {} was superseded by {} {} s ago and is still in use; closing its"
                            + " collective", registration.workerId(), j.generation(), newer,
                            SUPERSEDED_GRACE.toSeconds());
                    j.collective().close();
                }
            }, SUPERSEDED_GRACE.toMillis(), TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException shutDown) {
            // closing
        }
    }

    @Override
    public boolean superseded(long generation) {
        return watcher.latest().map(g -> g.number() > generation).orElse(false);
    }

    @Override
    public boolean elastic() {
        return true;
    }

    @Override
    public FcRowStore rows() {
        return rows;
    }

    @Override
    public void finished() {
        JobStore store = new JobStore(client, job);
        long g = watcher.latest().map(Generation::number).orElse(0L);
        store.writeStatus(new JobStatus("finished", g, 0, 0, "training finished at generation " + g));
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            watchdog.shutdownNow();
            watcher.close();
            registration.close();
        }
    }

    /**
     * Waits for the generation's peers in short slices, giving up as soon as a newer generation
     * exists (a member died before it arrived) or the overall deadline passes.
     */
    private final class Sliced implements Rendezvous {
        private final ZooKeeperRendezvous zk;
        private final long generation;
        private final long deadline;

        Sliced(ZooKeeperRendezvous zk, long generation, long deadline) {
            this.zk = zk;
            this.generation = generation;
            this.deadline = deadline;
        }

        @Override
        public List<String> exchange(int rank, int worldSize, String myAddress, Duration timeout) {
            while (true) {
                try {
                    return zk.exchange(rank, worldSize, myAddress, SLICE);
                } catch (CollectiveException e) {
                    if (superseded(generation)) {
                        throw new CollectiveException("generation " + generation + " was superseded before its"
                                + " ranks met: " + e.getMessage(), e);
                    }
                    if (System.nanoTime() - deadline >= 0 || Thread.currentThread().isInterrupted()) {
                        throw e;
                    }
                }
            }
        }
    }
}
