package org.plsc4j.elastic;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.plsc4j.coordinator.Coordinator;
import org.plsc4j.coordinator.CoordinatorException;
import org.plsc4j.coordinator.EmbeddedZooKeeper;
import org.plsc4j.coordinator.JobSpec;
import org.plsc4j.coordinator.JobStatus;
import org.plsc4j.coordinator.JobStore;
import org.plsc4j.coordinator.ZkClients;
import org.plsc4j.core.TrainConfig;
import org.plsc4j.core.TrainConfigs;
import org.plsc4j.dashboard.DashboardServer;
import org.plsc4j.dashboard.JobView;
import org.plsc4j.metrics.PlscMetrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The coordinator of one job as a process component ({@code ./plsc4j coordinator}, and the local
 * launcher): an embedded ZooKeeper when no ensemble is given, the job created from its
 * configuration, a {@link Coordinator} in the leader election, and a wait for the job's terminal
 * status ("finished", written by rank 0, or "failed", written by the coordinator).
 *
 * <p>Why it owns the embedded ZooKeeper: a one-machine job must need nothing installed; the server
 * lives exactly as long as the job's coordinator.
 */
public final class JobCoordinator implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(JobCoordinator.class);

    /** How long the membership must stay unchanged before a generation below max_workers is published. */
    public static final Duration DEFAULT_SETTLE = Duration.ofSeconds(5);

    /**
     * How to run the coordinator.
     *
     * @param job the job name
     * @param zk a ZooKeeper connect string, or null for an embedded server on 127.0.0.1
     * @param zkAuth "user:password" (job nodes readable by these credentials only), or null
     * @param minWorkers the smallest generation
     * @param maxWorkers the largest generation (more workers wait as standbys)
     * @param maxRestarts generations caused by lost workers before the job fails
     * @param settle see {@link #DEFAULT_SETTLE}
     * @param embeddedDataDir where the embedded server keeps its data (ignored with {@code zk})
     */
    public record Options(String job, String zk, String zkAuth, int minWorkers, int maxWorkers, int maxRestarts,
                          Duration settle, Path embeddedDataDir) {

        /** Checks the fields. */
        public Options {
            Objects.requireNonNull(job, "job");
            Objects.requireNonNull(settle, "settle");
            if (zk == null) {
                Objects.requireNonNull(embeddedDataDir, "embeddedDataDir");
            }
        }
    }

    private final EmbeddedZooKeeper embedded;
    private final CuratorFramework client;
    private final Coordinator coordinator;
    private final CuratorCache statusCache;
    private final JobStore store;
    private final Object lock = new Object();
    private JobStatus terminal; // guarded by lock
    private DashboardServer dashboard; // guarded by lock

    private JobCoordinator(EmbeddedZooKeeper embedded, CuratorFramework client, Coordinator coordinator,
                           JobStore store) {
        this.embedded = embedded;
        this.client = client;
        this.coordinator = coordinator;
        this.store = store;
        this.statusCache = CuratorCache.build(client, store.paths().status(), CuratorCache.Options.SINGLE_NODE_CACHE);
    }

    /**
     * Starts the coordinator of job {@code o.job()} training {@code config}, with job token {@code token}.
     *
     * @throws IllegalArgumentException when the global batch cannot be split over some allowed worker count
     */
    public static JobCoordinator start(TrainConfig job, Options o, String token) {
        // PLSC's per-GPU batch_size_per_worker is resolved for the full group; the global batch then stays fixed
        TrainConfig config = TrainConfigs.withWorkers(job, o.maxWorkers());
        for (int n = o.minWorkers(); n <= o.maxWorkers(); n++) {
            if (config.trainBatchSize() % n != 0) {
                throw new IllegalArgumentException("train_batch_size : " + config.trainBatchSize() + " (expected:"
                        + " divisible by every worker count from min_workers = " + o.minWorkers() + " to max_workers = "
                        + o.maxWorkers() + "; " + n + " does not divide it)");
            }
        }
        JobSpec spec = new JobSpec(o.job(), config.numClasses(), config.layoutKind(), o.minWorkers(), o.maxWorkers(),
                o.settle(), o.maxRestarts());
        byte[] bytes;
        try {
            bytes = new ObjectMapper().writeValueAsBytes(TrainConfigs.toTree(config));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise the job configuration", e);
        }
        EmbeddedZooKeeper zk = o.zk() == null ? EmbeddedZooKeeper.start(o.embeddedDataDir()) : null;
        CuratorFramework client = null;
        Coordinator c = null;
        try {
            String connect = zk != null ? zk.connectString() : o.zk();
            client = ZkClients.connect(connect, o.zkAuth(), Duration.ofMillis(config.zkSessionTimeoutMs()));
            if (!client.blockUntilConnected(config.zkSessionTimeoutMs(), TimeUnit.MILLISECONDS)) {
                throw new CoordinatorException("zk : " + connect + " (cannot connect within "
                        + config.zkSessionTimeoutMs() + " ms)");
            }
            String id = "coordinator-" + ProcessHandle.current().pid();
            c = new Coordinator(client, spec, bytes, token, id);
            c.start();
            JobCoordinator jc = new JobCoordinator(zk, client, c, c.store());
            jc.watchStatus();
            LOG.info("coordinator of job {} on ZooKeeper {} ({} to {} workers, max_restarts {})", o.job(), connect,
                    o.minWorkers(), o.maxWorkers(), o.maxRestarts());
            return jc;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            close(zk, client, c);
            throw new CoordinatorException("interrupted while starting the coordinator", e);
        } catch (RuntimeException e) {
            close(zk, client, c);
            throw e;
        }
    }

    private void watchStatus() {
        statusCache.listenable().addListener(CuratorCacheListener.builder()
                .forCreatesAndChanges((before, after) -> refresh())
                .forInitialized(this::refresh)
                .build());
        statusCache.start();
    }

    private void refresh() {
        try {
            String job = store.paths().jobId();
            store.readStatus().ifPresent(st -> {
                PlscMetrics.JOB_GENERATION.labelValues(job).set(st.generation());
                PlscMetrics.JOB_REGISTERED.labelValues(job).set(st.registered());
            });
            store.currentGeneration().ifPresent(g -> {
                PlscMetrics.JOB_WORLD_SIZE.labelValues(job).set(g.worldSize());
                PlscMetrics.JOB_RESTARTS.labelValues(job).set(g.restarts());
            });
            Optional<JobStatus> s = store.readTerminalStatus();
            if (s.isPresent()) {
                synchronized (lock) {
                    if (terminal == null) {
                        terminal = s.get();
                        lock.notifyAll();
                    }
                }
            }
        } catch (CoordinatorException e) {
            LOG.debug("reading the job status: {}", e.toString());
        }
    }

    /** The ZooKeeper connect string workers use. */
    public String connectString() {
        return client.getZookeeperClient().getCurrentConnectionString();
    }

    /** The job's store (status, generations). */
    public JobStore store() {
        return store;
    }

    /** What the coordinator decided last. */
    public JobStatus status() {
        return coordinator.status();
    }

    /**
     * Blocks until the job is finished or failed and returns that status; empty on timeout.
     * Restores the interrupt flag.
     */
    public Optional<JobStatus> awaitEnd(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (lock) {
            while (terminal == null) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return Optional.empty();
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(lock, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return Optional.empty();
                }
            }
            return Optional.of(terminal);
        }
    }

    /** The terminal status if the job ended. */
    public Optional<JobStatus> ended() {
        synchronized (lock) {
            return Optional.ofNullable(terminal);
        }
    }

    /**
     * Serves the job's dashboard and this process's {@code /metrics} on {@code host:port} (0: any free
     * port) until {@link #close()}; data routes need {@code token}. {@code modelSaveDir} is where the
     * curves are read ({@code metrics.jsonl}), null to take it from the job's configuration.
     *
     * @throws IOException when the address cannot be bound
     */
    public DashboardServer startDashboard(String host, int port, String token, Path modelSaveDir) throws IOException {
        synchronized (lock) {
            if (dashboard != null) {
                throw new IllegalStateException("dashboard : already running on " + dashboard.url());
            }
            dashboard = DashboardServer.builder().host(host).port(port).token(token)
                    .view(JobView.live(client, store.paths().jobId(), modelSaveDir)).build().start();
            return dashboard;
        }
    }

    /** Stops the coordinator, its client and the embedded server; idempotent. */
    @Override
    public void close() {
        synchronized (lock) {
            if (dashboard != null) {
                dashboard.close();
            }
        }
        statusCache.close();
        close(embedded, client, coordinator);
        synchronized (lock) {
            lock.notifyAll();
        }
    }

    private static void close(EmbeddedZooKeeper zk, CuratorFramework client, Coordinator c) {
        if (c != null) {
            c.close();
        }
        if (client != null) {
            client.close();
        }
        if (zk != null) {
            zk.close();
        }
    }
}
