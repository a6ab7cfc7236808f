package org.plsc4j.elastic;

import org.plsc4j.worker.Trainer;
import org.plsc4j.core.NativeBuild;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.plsc4j.coordinator.JobStatus;
import org.plsc4j.core.TrainConfig;
import org.plsc4j.core.Device;
import org.plsc4j.core.GpuProbe;
import org.plsc4j.elastic.internal.WorkerMain;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a job as N worker processes on this machine, like {@code torchrun --nproc_per_node N}: starts
 * a {@link JobCoordinator} with an embedded ZooKeeper on 127.0.0.1 and a fresh job token, spawns N
 * JVMs running the worker main (same java, class path and JVM flags as this one), forwards their
 * logs with a {@code [worker k]} prefix, and waits for the job to finish.
 *
 * <p>Elastic like a cluster job, because it is one: a worker killed by a signal (kill -9, OOM
 * killer) is a lost worker, and the others go on in the next generation when {@code min_workers}
 * allows (by default min = max = N, torchrun's fixed size; set {@code min_workers} lower to keep
 * training after a loss). A worker that exits with an error of its own (bad data, bad config)
 * stops the job: the error names the worker and its last log line.
 *
 * <p>Why processes rather than threads: it is how the job runs for real (one process per device,
 * Netty TCP between them, ZooKeeper sessions that end when a process dies), so the local run tests
 * the same code path as a cluster.
 */
public final class LocalLauncher {

    private static final Logger LOG = LoggerFactory.getLogger(LocalLauncher.class);
    private static final int TAIL_LINES = 30;

    /** Exit codes from here up mean "killed by a signal" (128 + signal number). */
    private static final int SIGNALLED = 128;

    private LocalLauncher() {
    }

    /**
     * A running local job (see {@link #start}): its coordinator and worker processes.
     */
    public static final class Job implements AutoCloseable {
        private final JobCoordinator coordinator;
        private final List<Process> procs = new ArrayList<>();
        private final List<Deque<String>> tails = new ArrayList<>();
        private final String name;
        private final String token;
        private final TrainConfig config;
        private final String modelClass;
        private final String optimizerClass;
        private final Path zkDir;
        private final Device device;
        private final int gpus;
        /** Workers this launcher may run on this machine: each plans its micro-batches from a share of free memory. */
        private int localWorkers = 1;

        private Job(String name, String token, TrainConfig config, JobCoordinator coordinator, String modelClass,
                    String optimizerClass, Path zkDir, Device device) {
            this.device = device;
            this.gpus = device.isCuda() ? Math.max(1, GpuProbe.system().gpus().size()) : 0;
            this.name = name;
            this.token = token;
            this.config = config;
            this.coordinator = coordinator;
            this.modelClass = modelClass;
            this.optimizerClass = optimizerClass;
            this.zkDir = zkDir;
        }

        /** The job name in ZooKeeper and the shard store. */
        public String name() {
            return name;
        }

        /** The job token (workers, the dashboard and /metrics require it). */
        public String token() {
            return token;
        }

        /**
         * Serves the job's dashboard on {@code host:port} (0: any free port) until the job is closed;
         * it requires the job token ({@link #token()}).
         */
        public org.plsc4j.dashboard.DashboardServer startDashboard(String host, int port) throws IOException {
            return coordinator.startDashboard(host, port, token, Path.of(config.modelSaveDir()));
        }

        /** The coordinator (status, generations). */
        public JobCoordinator coordinator() {
            return coordinator;
        }

        /** The worker processes started so far, in start order. */
        public synchronized List<Process> workers() {
            return List.copyOf(procs);
        }

        /** Starts one more worker process (a join); returns it. */
        public synchronized Process addWorker() throws IOException {
            int k = procs.size();
            List<String> cmd = command(name, coordinator.connectString(), config, modelClass, optimizerClass);
            cmd.add(1, "-D" + Trainer.LOCAL_WORKERS_PROPERTY + "=" + Math.max(localWorkers, k + 1));
            if (device.isCuda()) {
                cmd.addAll(List.of("--device", "cuda:" + k % gpus)); // one process per GPU, round robin
            }
            ProcessBuilder pb = new ProcessBuilder(cmd);
            if (!device.isCuda()) {
                // a -Pcuda build has both ND4J backends and ND4J prefers CUDA: CPU workers ask for the CPU one
                pb.environment().putIfAbsent(CPU_BACKEND_PRIORITY_ENV, "1000");
            }
            pb.environment().put(WorkerMain.TOKEN_ENV, token);
            if (System.getenv("OMP_NUM_THREADS") == null) {
                int cores = Runtime.getRuntime().availableProcessors();
                pb.environment().put("OMP_NUM_THREADS", Integer.toString(Math.max(1, cores / Math.max(1, k + 1))));
            }
            pb.redirectOutput(ProcessBuilder.Redirect.INHERIT);
            Process p = pb.start();
            procs.add(p);
            Deque<String> tail = new ArrayDeque<>();
            tails.add(tail);
            forward(p, k, tail);
            return p;
        }

        /**
         * Waits until the job has finished and every worker exited.
         *
         * @throws IllegalStateException when the job failed (max_restarts, a worker's own error, every
         *     worker gone); the message says which worker and its last log line, or the coordinator's
         */
        public void await() throws InterruptedException {
            while (true) {
                List<Process> ps = workers();
                List<CompletableFuture<Process>> alive = new ArrayList<>();
                for (Process p : ps) {
                    if (p.isAlive()) {
                        alive.add(p.onExit());
                    }
                }
                for (int k = 0; k < ps.size(); k++) {
                    Process p = ps.get(k);
                    if (!p.isAlive() && p.exitValue() != 0 && p.exitValue() < SIGNALLED) {
                        drain(p);
                        Optional<JobStatus> end = coordinator.ended();
                        throw new IllegalStateException(end.filter(JobStatus::isFailed)
                                .map(s -> "job " + name + " failed: " + s.message())
                                .orElse("worker " + k + " exited with code " + p.exitValue() + ": " + lastError(k)));
                    }
                }
                if (alive.isEmpty()) {
                    Optional<JobStatus> end = coordinator.ended();
                    if (end.isPresent() && !end.get().isFailed()) {
                        return;
                    }
                    throw new IllegalStateException("job " + name + (end.isPresent() ? " failed: " + end.get().message()
                            : ": every worker exited before the job finished (last: " + lastError(ps.size() - 1) + ")"));
                }
                try {
                    CompletableFuture.anyOf(alive.toArray(new CompletableFuture<?>[0])).get();
                } catch (ExecutionException e) {
                    throw new IllegalStateException("waiting for the workers failed: " + e.getCause(), e.getCause());
                }
                for (int k = 0; k < ps.size(); k++) {
                    Process p = ps.get(k);
                    if (!p.isAlive() && p.exitValue() >= SIGNALLED) {
                        LOG.warn("worker {} (pid {}) was killed (exit code {}); the job goes on if min_workers allows",
                                k, p.pid(), p.exitValue());
                    }
                }
            }
        }

        private static void drain(Process p) {
            try {
                p.getErrorStream().transferTo(java.io.OutputStream.nullOutputStream());
            } catch (IOException ignored) {
                // the log thread has it
            }
        }

        private String lastError(int k) {
            Deque<String> tail;
            synchronized (this) {
                if (k < 0 || k >= tails.size()) {
                    return "(no output)";
                }
                tail = tails.get(k);
            }
            synchronized (tail) {
                List<String> lines = new ArrayList<>(tail);
                for (int i = lines.size() - 1; i >= 0; i--) {
                    if (lines.get(i).startsWith("plsc4j worker")) {
                        return lines.get(i);
                    }
                }
                return lines.isEmpty() ? "(no output)" : lines.get(lines.size() - 1);
            }
        }

        /** Stops the workers still running, the coordinator and its ZooKeeper; idempotent. */
        @Override
        public void close() {
            for (Process p : workers()) {
                stop(p);
            }
            coordinator.close();
            deleteTree(zkDir);
        }
    }

    /**
     * Trains {@code config} with {@code workers} local processes; returns when the job finished.
     *
     * @param modelClass a {@code org.plsc4j.worker.BaseModel} class with a public no-argument
     *     constructor (each worker instantiates it), or null for {@code model_name}
     * @param optimizerClass an {@code org.plsc4j.worker.Optimizer} class likewise, or null for SGD momentum
     * @throws IllegalStateException naming the failed worker, its exit code and last log line
     */
    public static void train(TrainConfig config, int workers, String modelClass, String optimizerClass)
            throws IOException, InterruptedException {
        train(config, workers, modelClass, optimizerClass, Device.CPU);
    }

    /**
     * As {@link #train(TrainConfig, int, String, String)} on {@code device}: for CUDA, worker k runs on GPU
     * k modulo the machine's GPU count (one process per GPU) and the ranks talk over NCCL.
     *
     * @throws IllegalStateException before any process starts when the device cannot run here
     */
    public static void train(TrainConfig config, int workers, String modelClass, String optimizerClass, Device device)
            throws IOException, InterruptedException {
        device.check();
        try (Job job = start(config, workers, modelClass, optimizerClass, device)) {
            job.await();
        }
    }

    /** Starts the coordinator and {@code workers} worker processes; the caller awaits and closes. */
    public static Job start(TrainConfig config, int workers, String modelClass, String optimizerClass)
            throws IOException {
        return start(config, workers, modelClass, optimizerClass, Device.CPU);
    }

    /** As {@link #start(TrainConfig, int, String, String)} with the workers on {@code device} (cpu or cuda). */
    public static Job start(TrainConfig config, int workers, String modelClass, String optimizerClass, Device device)
            throws IOException {
        if (workers < 1) {
            throw new IllegalArgumentException("workers : " + workers + " (expected: >= 1)");
        }
        byte[] secret = new byte[24];
        SecureRandom random = new SecureRandom();
        random.nextBytes(secret);
        String token = HexFormat.of().formatHex(secret);
        byte[] id = new byte[4];
        random.nextBytes(id);
        String name = "local-" + HexFormat.of().formatHex(id);
        int min = config.minWorkers() != null ? config.minWorkers() : workers;
        int max = config.maxWorkers() != null ? config.maxWorkers() : Math.max(workers, min);
        Path saveDir = Path.of(config.modelSaveDir());
        Files.createDirectories(saveDir);
        Path zkDir = Files.createTempDirectory("plsc4j-zk-");
        JobCoordinator coordinator;
        try {
            coordinator = JobCoordinator.start(config, new JobCoordinator.Options(name, null, null, min, max,
                    config.maxRestarts(), JobCoordinator.DEFAULT_SETTLE, zkDir), token);
        } catch (RuntimeException e) {
            deleteTree(zkDir);
            throw e;
        }
        Job job = new Job(name, token, config, coordinator, modelClass, optimizerClass, zkDir, device);
        job.localWorkers = Math.max(workers, max);
        try {
            for (int k = 0; k < workers; k++) {
                job.addWorker();
            }
        } catch (IOException | RuntimeException e) {
            job.close();
            throw e;
        }
        LOG.info("started {} worker process(es) for job {} (ZooKeeper {}, {} to {} workers)", workers, name,
                coordinator.connectString(), min, max);
        return job;
    }

    /** ND4J's environment variable that ranks its CPU backend against CUDA (higher wins). */
    public static final String CPU_BACKEND_PRIORITY_ENV = "BACKEND_PRIORITY_CPU";

    /**
     * The java command, flags and class path a local worker starts with: this JVM's (so a bench's or a
     * test's child runs like the workers), minus agents and debuggers, plus the nd4j-native build this
     * JVM chose.
     */
    public static List<String> workerJvm() {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString()));
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (!(a.startsWith("-agentlib") || a.startsWith("-javaagent") || a.startsWith("-XX:StartFlightRecording")
                    || a.startsWith("-Xdebug") || a.startsWith("-Xrunjdwp"))) {
                cmd.add(a);
            }
        }
        if (!cmd.stream().anyMatch(a -> a.startsWith("-D" + NativeBuild.PROPERTY + "="))) {
            cmd.addAll(NativeBuild.jvmArgs()); // the workers load the nd4j-native build this JVM chose
        }
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        return cmd;
    }

    private static List<String> command(String job, String zk, TrainConfig config, String modelClass,
                                        String optimizerClass) {
        List<String> cmd = workerJvm();
        cmd.add(WorkerMain.class.getName());
        cmd.addAll(List.of("--job", job, "--zk", zk, "--session-timeout-ms", Integer.toString(config.zkSessionTimeoutMs())));
        if (modelClass != null) {
            cmd.addAll(List.of("--model-class", modelClass));
        }
        if (optimizerClass != null) {
            cmd.addAll(List.of("--optimizer-class", optimizerClass));
        }
        return cmd;
    }

    private static void forward(Process p, int k, Deque<String> tail) {
        Thread t = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) {
                    synchronized (tail) {
                        tail.addLast(line);
                        if (tail.size() > TAIL_LINES) {
                            tail.removeFirst();
                        }
                    }
                    System.err.println("[worker " + k + "] " + line);
                }
            } catch (IOException e) {
                LOG.debug("worker {}: log stream closed: {}", k, e.getMessage());
            }
        }, "plsc4j-launcher-log-w" + k);
        t.setDaemon(true);
        t.start();
    }

    private static void stop(Process p) {
        if (!p.isAlive()) {
            return;
        }
        p.destroy();
        try {
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    private static void deleteTree(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (var walk = Files.walk(dir)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(f -> {
                try {
                    Files.deleteIfExists(f);
                } catch (IOException e) {
                    LOG.debug("cannot delete {}: {}", f, e.toString());
                }
            });
        } catch (IOException e) {
            LOG.debug("cannot delete {}: {}", dir, e.toString());
        }
    }
}
