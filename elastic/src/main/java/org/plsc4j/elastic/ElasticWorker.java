package org.plsc4j.elastic;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.plsc4j.coordinator.CoordinatorException;
import org.plsc4j.coordinator.JobStore;
import org.plsc4j.coordinator.RegisteredWorker;
import org.plsc4j.coordinator.WorkerInfo;
import org.plsc4j.coordinator.WorkerRegistration;
import org.plsc4j.coordinator.WorkerReporter;
import org.plsc4j.coordinator.ZkClients;
import org.plsc4j.core.Device;
import org.plsc4j.core.FcEngine;
import org.plsc4j.core.TrainConfig;
import org.plsc4j.core.TrainConfigs;
import org.plsc4j.dashboard.DashboardServer;
import org.plsc4j.elastic.internal.CoordinatedMembership;
import org.plsc4j.elastic.internal.HdfsCheckpointSync;
import org.plsc4j.elastic.internal.ShardStoreRows;
import org.plsc4j.elastic.internal.WorkerProgress;
import org.plsc4j.shardstore.ShardStore;
import org.plsc4j.shardstore.ShardStoreConfig;
import org.plsc4j.shardstore.ShardStores;
import org.plsc4j.worker.BaseModel;
import org.plsc4j.worker.CheckpointSync;
import org.plsc4j.worker.Optimizer;
import org.plsc4j.worker.Trainer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One worker of a ZooKeeper-coordinated job ({@code ./plsc4j worker}): connects to ZooKeeper,
 * proves it belongs to the job (its ZooKeeper credentials must be allowed to read the job's nodes,
 * and its token must equal the job's), reads the job's configuration from ZooKeeper, opens the
 * shard store, registers, and trains generation after generation until the job finishes.
 *
 * <p>Why the configuration comes from ZooKeeper: every worker of a job must train the same job; a
 * worker started with a stale YAML file would silently diverge.
 */
public final class ElasticWorker {

    private static final Logger LOG = LoggerFactory.getLogger(ElasticWorker.class);

    /** Environment variable carrying the job token (never on a command line, where ps shows it). */
    public static final String TOKEN_ENV = "PLSC4J_JOB_TOKEN";

    /** Environment variable carrying the ZooKeeper digest credentials "user:password". */
    public static final String ZK_AUTH_ENV = "PLSC4J_ZK_AUTH";

    /** How long any single collective operation may wait (an evaluation holds peers at a barrier). */
    public static final Duration OP_TIMEOUT = Duration.ofMinutes(30);

    /** How often at most a worker rewrites its live report in ZooKeeper. */
    public static final Duration REPORT_INTERVAL = Duration.ofSeconds(1);

    /**
     * What a worker needs to join a job.
     *
     * @param job the job name
     * @param zk the ZooKeeper connect string
     * @param zkAuth "user:password" digest credentials, or null
     * @param token the job token
     * @param host the address peers reach this worker at (its collective listens there)
     * @param sessionTimeout the ZooKeeper session timeout (how fast a killed worker is noticed)
     * @param modelClass a BaseModel class name, or null for model_name
     * @param optimizerClass an Optimizer class name, or null for SGD momentum
     * @param device "cpu" or "cuda:K" (see {@link Device}); registered with the worker, so that a
     *     generation never mixes device kinds
     * @param metricsPort the port of this worker's Prometheus {@code /metrics} on {@code host} (0: any
     *     free port, -1: none); it needs the job token, and its address is in the worker's report
     * @param bind the address this worker's sockets listen on (the collective, /metrics), e.g. 0.0.0.0,
     *     or null for {@code host}; peers are always told {@code host}, and the shard store's Ignite
     *     node binds {@code host} (Ignite advertises what it binds)
     */
    public record Options(String job, String zk, String zkAuth, String token, String host, Duration sessionTimeout,
                          String modelClass, String optimizerClass, String device, int metricsPort, String bind) {

        /** Listening on {@code host}. */
        public Options(String job, String zk, String zkAuth, String token, String host, Duration sessionTimeout,
                       String modelClass, String optimizerClass, String device, int metricsPort) {
            this(job, zk, zkAuth, token, host, sessionTimeout, modelClass, optimizerClass, device, metricsPort, null);
        }

        /** On the CPU, /metrics on any free port. */
        public Options(String job, String zk, String zkAuth, String token, String host, Duration sessionTimeout,
                       String modelClass, String optimizerClass) {
            this(job, zk, zkAuth, token, host, sessionTimeout, modelClass, optimizerClass, "cpu", 0);
        }

        /** On {@code device}, /metrics on any free port. */
        public Options(String job, String zk, String zkAuth, String token, String host, Duration sessionTimeout,
                       String modelClass, String optimizerClass, String device) {
            this(job, zk, zkAuth, token, host, sessionTimeout, modelClass, optimizerClass, device, 0);
        }

        /** On the CPU, /metrics on {@code metricsPort}. */
        public Options(String job, String zk, String zkAuth, String token, String host, Duration sessionTimeout,
                       String modelClass, String optimizerClass, int metricsPort) {
            this(job, zk, zkAuth, token, host, sessionTimeout, modelClass, optimizerClass, "cpu", metricsPort);
        }

        /** The address sockets listen on: {@code bind}, else {@code host}. */
        public String listenHost() {
            return bind != null ? bind : host;
        }

        /** Checks the fields. */
        public Options {
            Objects.requireNonNull(device, "device");
            Objects.requireNonNull(job, "job");
            Objects.requireNonNull(zk, "zk");
            Objects.requireNonNull(token, "token");
            Objects.requireNonNull(host, "host");
            Objects.requireNonNull(sessionTimeout, "sessionTimeout");
            if (bind != null && bind.isBlank()) {
                throw new IllegalArgumentException("bind : \"" + bind + "\" (expected: an address of this host,"
                        + " 0.0.0.0, or none for --host)");
            }
            if (metricsPort < -1 || metricsPort > 65535) {
                throw new IllegalArgumentException("metrics_port : " + metricsPort + " (expected: -1 (none), 0 (any)"
                        + " or a port 1..65535)");
            }
        }
    }

    private ElasticWorker() {
    }

    /**
     * Runs the worker until the job finishes.
     *
     * @throws SecurityException when the token or the ZooKeeper credentials are refused
     * @throws CoordinatorException when the job does not exist, fails (max_restarts) or no generation
     *     includes this worker in time
     */
    public static Trainer.Summary run(Options o) throws IOException, ReflectiveOperationException {
        Device device = Device.parse(o.device());
        device.check(); // one sentence, before ZooKeeper or ND4J, when the device cannot run here
        if (device.isCuda()) {
            CudaDevice.select(device);
        } else if (Device.cudaBackendInBuild() && FcEngine.isCudaBackend()) {
            throw new IllegalStateException("device cpu : ND4J started its CUDA backend in this -Pcuda build (expected:"
                    + " the CPU one; set " + LocalLauncher.CPU_BACKEND_PRIORITY_ENV + "=1000 for CPU workers)");
        }
        try (CuratorFramework client = ZkClients.connect(o.zk(), o.zkAuth(), o.sessionTimeout())) {
            try {
                if (!client.blockUntilConnected((int) Math.max(1, o.sessionTimeout().toMillis()), TimeUnit.MILLISECONDS)) {
                    throw new CoordinatorException("zk : " + o.zk() + " (cannot connect within " + o.sessionTimeout() + ")");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CoordinatorException("interrupted while connecting to " + o.zk(), e);
            }
            JobStore store = new JobStore(client, o.job());
            String stored;
            try {
                if (!store.exists()) {
                    throw new CoordinatorException("job " + o.job() + " does not exist in ZooKeeper " + o.zk()
                            + " (start its coordinator first)");
                }
                stored = store.readToken();
            } catch (CoordinatorException e) {
                if (!noAuth(e)) {
                    throw e;
                }
                throw new SecurityException("job " + o.job() + ": ZooKeeper refused to show the job to this worker"
                        + " (wrong or missing zk_auth credentials in " + ZK_AUTH_ENV + ")", e);
            }
            if (!MessageDigest.isEqual(stored.getBytes(StandardCharsets.UTF_8), o.token().getBytes(StandardCharsets.UTF_8))) {
                throw new SecurityException("job " + o.job() + ": token refused (it is not the job's token)");
            }
            TrainConfig cfg = TrainConfigs.bind((ObjectNode) new ObjectMapper().readTree(store.readConfig()),
                    "zookeeper " + store.paths().config());
            WorkerProgress.registerMemoryGauges();
            try (DashboardServer metrics = o.metricsPort() < 0 ? null : DashboardServer.builder().host(o.listenHost())
                        .port(o.metricsPort()).token(o.token()).build().start();
                 // registered before the store opens: the store's Ignite node finds the others through the registry
                 WorkerRegistration reg = WorkerRegistration.register(client, o.job(),
                         WorkerInfo.thisProcess(o.host(), 0, device.toString()));
                 ShardStore shards = openStore(cfg, o.host(),
                         cfg.shardStore().equals("local") ? List.of() : registeredHosts(client, store));
                 WorkerReporter reporter = new WorkerReporter(client, o.job(), reg.workerId(), REPORT_INTERVAL).start()) {
                ShardStoreRows rows = new ShardStoreRows(shards, o.job());
                WorkerProgress progress = new WorkerProgress(reporter, reg.workerId(), o.host(), device.toString(),
                        metrics == null ? "" : metrics.url() + "metrics", rows::lastVersion);
                progress.waiting();
                try (CoordinatedMembership m = new CoordinatedMembership(client, o.job(), o.token(), reg, o.listenHost(),
                         o.bind() == null ? null : o.host(),
                         Duration.ofSeconds(cfg.rendezvousTimeout()), OP_TIMEOUT, rows, device.isCuda() ? "nccl" : "netty");
                     CheckpointSync sync = HdfsCheckpointSync.forConfig(cfg)) {
                    LOG.info("worker {} registered in job {} (store {}, pid {}{})", reg.workerId(), o.job(),
                            shards.name(), ProcessHandle.current().pid(),
                            metrics == null ? "" : ", metrics on " + metrics.url() + "metrics");
                    BaseModel model = WorkerClasses.instantiate(o.modelClass(), BaseModel.class);
                    Optimizer opt = WorkerClasses.instantiate(o.optimizerClass(), Optimizer.class);
                    return new Trainer(cfg, m, model, opt, o.job()).checkpointSync(sync).listener(progress).train();
                }
            }
        }
    }

    private static boolean noAuth(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof org.apache.zookeeper.KeeperException.NoAuthException) {
                return true;
            }
        }
        return false;
    }

    /**
     * The hosts of every worker registered in the job (this one included), read after a ZooKeeper
     * sync: a worker that registered before this read is in it, and one registering later finds
     * this worker in its own read, so every pair of Ignite nodes has at least one of them probe the
     * other.
     */
    static List<String> registeredHosts(CuratorFramework client, JobStore store) {
        try {
            CountDownLatch synced = new CountDownLatch(1);
            client.sync().inBackground((c, e) -> synced.countDown()).forPath(store.paths().workers());
            if (!synced.await(30, TimeUnit.SECONDS)) {
                LOG.warn("ZooKeeper sync of {} took more than 30 s; reading the registry anyway", store.paths().workers());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CoordinatorException("interrupted while syncing the worker registry", e);
        } catch (Exception e) {
            throw new CoordinatorException("sync " + store.paths().workers() + ": " + e.getMessage(), e);
        }
        List<String> hosts = new ArrayList<>();
        for (RegisteredWorker w : store.registeredWorkers()) {
            if (!hosts.contains(w.info().host())) {
                hosts.add(w.info().host());
            }
        }
        return hosts;
    }

    /**
     * The job's shard store: "local" files under model_save_dir, or an Ignite server node in this
     * process, on {@code host}, probing the discovery ports of {@code peers} to join the others.
     */
    static ShardStore openStore(TrainConfig cfg, String host, List<String> peers) {
        ShardStoreConfig.Builder b = ShardStoreConfig.builder();
        if (cfg.shardStore().equals("local")) {
            b.directory(Path.of(cfg.modelSaveDir()).resolve("shard-store"));
        } else {
            b.host(host).discoveryHosts(peers.stream().map(h -> h.contains(":") && !h.startsWith("[")
                    ? "[" + h + "]" : h).toList());
        }
        return ShardStores.open(cfg.shardStore(), b.build());
    }
}
