package org.plsc4j.elastic;

import com.fasterxml.jackson.databind.ObjectMapper;
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
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.plsc4j.core.TrainConfig;
import org.plsc4j.core.TrainConfigs;
import org.plsc4j.elastic.internal.WorkerMain;
import org.plsc4j.worker.TcpRendezvous;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a job as N worker processes on this machine, like {@code torchrun --nproc_per_node N}:
 * starts a {@link TcpRendezvous} server on 127.0.0.1 with a fresh job token, spawns N JVMs running
 * {@link WorkerMain} (same java, class path and JVM flags as this one), forwards their logs with a
 * {@code [rank r]} prefix, and waits. If one worker fails the others are stopped and the error names
 * the rank and its last log line. (The ZooKeeper coordinator replaces the rendezvous for clusters.)
 *
 * <p>Why processes rather than threads: it is how the job runs for real — one process per device,
 * Netty TCP between them — so the local run tests the same code path as a cluster.
 */
public final class LocalLauncher {

    private static final Logger LOG = LoggerFactory.getLogger(LocalLauncher.class);
    private static final int TAIL_LINES = 30;

    private LocalLauncher() {
    }

    /**
     * Trains {@code config} with {@code workers} local processes; returns when all finished.
     *
     * @param modelClass a {@code org.plsc4j.worker.BaseModel} class with a public no-argument
     *     constructor (each worker instantiates it), or null for {@code model_name}
     * @param optimizerClass an {@code org.plsc4j.worker.Optimizer} class likewise, or null for SGD momentum
     * @throws IllegalStateException naming the failed rank, its exit code and last log line
     */
    public static void train(TrainConfig config, int workers, String modelClass, String optimizerClass)
            throws IOException, InterruptedException {
        if (workers < 1) {
            throw new IllegalArgumentException("workers : " + workers + " (expected: >= 1)");
        }
        String jobId = "plsc4j-" + UUID.randomUUID();
        byte[] secret = new byte[24];
        new SecureRandom().nextBytes(secret);
        String token = HexFormat.of().formatHex(secret);
        Path saveDir = Path.of(config.modelSaveDir());
        Files.createDirectories(saveDir);
        Path jobFile = Files.createTempFile(saveDir, ".job-", ".json");
        List<Process> procs = new ArrayList<>();
        try (TcpRendezvous.Server server = TcpRendezvous.Server.start("127.0.0.1", 0, jobId, token)) {
            new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(jobFile.toFile(), TrainConfigs.toTree(config));
            List<Deque<String>> tails = new ArrayList<>();
            for (int r = 0; r < workers; r++) {
                ProcessBuilder pb = new ProcessBuilder(command(jobFile, r, workers, server.address(), jobId, modelClass,
                        optimizerClass));
                pb.environment().put(WorkerMain.TOKEN_ENV, token);
                if (System.getenv("OMP_NUM_THREADS") == null || workers > 1) {
                    int cores = Runtime.getRuntime().availableProcessors();
                    pb.environment().put("OMP_NUM_THREADS", Integer.toString(Math.max(1, cores / workers)));
                }
                pb.redirectOutput(ProcessBuilder.Redirect.INHERIT);
                Process p = pb.start();
                procs.add(p);
                Deque<String> tail = new ArrayDeque<>();
                tails.add(tail);
                forward(p, r, tail);
            }
            LOG.info("started {} worker process(es) for job {} (rendezvous {})", workers, jobId, server.address());
            waitAll(procs, tails);
        } finally {
            for (Process p : procs) {
                stop(p);
            }
            Files.deleteIfExists(jobFile);
        }
    }

    private static List<String> command(Path jobFile, int rank, int world, String rendezvous, String jobId,
                                        String modelClass, String optimizerClass) {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString()));
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (!(a.startsWith("-agentlib") || a.startsWith("-javaagent") || a.startsWith("-XX:StartFlightRecording")
                    || a.startsWith("-Xdebug") || a.startsWith("-Xrunjdwp"))) {
                cmd.add(a);
            }
        }
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(WorkerMain.class.getName());
        cmd.addAll(List.of("--config", jobFile.toString(), "--rank", Integer.toString(rank), "--world-size",
                Integer.toString(world), "--rendezvous", rendezvous, "--job-id", jobId));
        if (modelClass != null) {
            cmd.addAll(List.of("--model-class", modelClass));
        }
        if (optimizerClass != null) {
            cmd.addAll(List.of("--optimizer-class", optimizerClass));
        }
        return cmd;
    }

    private static void forward(Process p, int rank, Deque<String> tail) {
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
                    System.err.println("[rank " + rank + "] " + line);
                }
            } catch (IOException e) {
                LOG.debug("rank {}: log stream closed: {}", rank, e.getMessage());
            }
        }, "plsc4j-launcher-log-r" + rank);
        t.setDaemon(true);
        t.start();
    }

    /** Waits for every worker; the first non-zero exit stops the others and is reported. */
    private static void waitAll(List<Process> procs, List<Deque<String>> tails) throws InterruptedException {
        List<CompletableFuture<Process>> pending = new ArrayList<>();
        for (Process p : procs) {
            pending.add(p.onExit());
        }
        while (!pending.isEmpty()) {
            try {
                CompletableFuture.anyOf(pending.toArray(new CompletableFuture<?>[0])).get();
            } catch (ExecutionException e) {
                throw new IllegalStateException("waiting for the workers failed: " + e.getCause(), e.getCause());
            }
            for (int i = 0; i < pending.size(); i++) {
                if (pending.get(i).isDone()) {
                    Process p = pending.get(i).join();
                    int rank = procs.indexOf(p);
                    if (p.exitValue() != 0) {
                        p.getErrorStream(); // the log thread drains what is left
                        for (Process other : procs) {
                            stop(other);
                        }
                        throw new IllegalStateException("worker rank " + rank + " exited with code " + p.exitValue()
                                + ": " + lastError(tails.get(rank)));
                    }
                    pending.remove(i--);
                }
            }
        }
    }

    private static String lastError(Deque<String> tail) {
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
}
