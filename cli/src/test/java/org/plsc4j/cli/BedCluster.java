package org.plsc4j.cli;

import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.plsc4j.core.NativeBuild;
import org.plsc4j.worker.MetricsFollower;

/**
 * A plsc4j cluster on a {@link NetnsBed}: a 3-node ZooKeeper ensemble (ZooKeeper's own
 * {@code QuorumPeerMain}, hosts zk1..zk3), coordinators ({@code plsc4j coordinator}, hosts c1, c2)
 * and workers ({@code plsc4j worker --host <its address>}, hosts w1..wN), each a process in its
 * own namespace. The command lines are the README's cluster commands with the bed's addresses.
 *
 * <p>No shared disk: {@code model_save_dir} ({@link #save}) is one path in the job's YAML, but every
 * worker host sees its own private directory there ({@link #hostSave}, bind-mounted for that host's
 * processes only), so a rank's local checkpoint part, staging and (on rank 0) {@code metrics.jsonl}
 * stay on its host; checkpoints commit through {@code fs_dir_for_save} ({@link #commit}, a
 * {@code file://} directory every host reaches through Hadoop's FileSystem: the nearest thing to
 * HDFS on one machine) with {@code shared_save_dir: false}.
 */
final class BedCluster implements AutoCloseable {

    static final String JOB = "bed";
    static final int ZK_PORT = 2181;
    static final List<String> ZK_HOSTS = List.of("zk1", "zk2", "zk3");

    final NetnsBed bed;
    final Path dir;
    final Path yaml;
    final Path tokenFile;
    /** model_save_dir: an empty mount point here; each worker host has its own {@link #hostSave}. */
    final Path save;
    /** fs_dir_for_save: where checkpoints are committed, reached by every host. */
    final Path commit;
    final int epochs;
    final int maxWorkers;
    final List<NetnsBed.Role> zk = new ArrayList<>();
    final List<NetnsBed.Role> coordinators = new ArrayList<>();
    final List<NetnsBed.Role> workers = new ArrayList<>();

    private BedCluster(NetnsBed bed, Path dir, Path yaml, Path save, Path commit, int epochs, int maxWorkers) {
        this.bed = bed;
        this.maxWorkers = maxWorkers;
        this.epochs = epochs;
        this.dir = dir;
        this.yaml = yaml;
        this.save = save;
        this.commit = commit;
        this.tokenFile = dir.resolve(JOB + ".token");
    }

    /**
     * A bed with hosts zk1..zk3, c1, c2, w1..w{@code maxWorkers} and the ZooKeeper ensemble running;
     * {@code yamlText} is the job's configuration, with {@code model_save_dir: save} and
     * {@code fs_dir_for_save: commit}.
     */
    static BedCluster start(Path dir, int maxWorkers, int epochs, String yamlText, Path save, Path commit)
            throws IOException {
        List<String> hosts = new ArrayList<>(ZK_HOSTS);
        hosts.addAll(List.of("c1", "c2"));
        for (int i = 1; i <= maxWorkers; i++) {
            hosts.add("w" + i);
        }
        NetnsBed bed = NetnsBed.create(dir.resolve("logs"), hosts);
        try {
            Path yaml = dir.resolve("job.yaml");
            Files.writeString(yaml, yamlText);
            BedCluster c = new BedCluster(bed, dir, yaml, save, commit, epochs, maxWorkers);
            c.startZooKeeper();
            return c;
        } catch (IOException | RuntimeException e) {
            bed.close();
            throw e;
        }
    }

    /** The private directory {@code host}'s processes see at {@link #save}. */
    Path hostSave(String host) {
        return dir.resolve("hosts").resolve(host).resolve("save");
    }

    /** The private save directories of the worker hosts w1..w{@code n}. */
    List<Path> workerSaves(int n) {
        List<Path> out = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
            out.add(hostSave("w" + i));
        }
        return out;
    }

    /** A follower of metrics.jsonl on every worker host. */
    Metrics metrics() throws IOException {
        return new Metrics(workerSaves(maxWorkers));
    }

    /** "a1:2181,a2:2181,a3:2181", the ensemble's connect string. */
    String zkConnect() {
        List<String> s = new ArrayList<>();
        for (String h : ZK_HOSTS) {
            s.add(bed.address(h) + ":" + ZK_PORT);
        }
        return String.join(",", s);
    }

    private void startZooKeeper() throws IOException {
        StringBuilder servers = new StringBuilder();
        for (int i = 0; i < ZK_HOSTS.size(); i++) {
            servers.append("server.").append(i + 1).append('=').append(bed.address(ZK_HOSTS.get(i)))
                    .append(":2888:3888\n");
        }
        for (int i = 0; i < ZK_HOSTS.size(); i++) {
            String h = ZK_HOSTS.get(i);
            Path data = Files.createDirectories(dir.resolve(h));
            Files.writeString(data.resolve("myid"), Integer.toString(i + 1));
            Path cfg = dir.resolve(h + ".cfg");
            Files.writeString(cfg, "tickTime=500\ninitLimit=20\nsyncLimit=10\ndataDir=" + data + "\nclientPort=" + ZK_PORT
                    + "\nclientPortAddress=" + bed.address(h) + "\nadmin.enableServer=false\n"
                    + "4lw.commands.whitelist=srvr\n" + servers);
            zk.add(startZooKeeper(h, cfg));
        }
    }

    NetnsBed.Role startZooKeeper(String host, Path cfg) throws IOException {
        return bed.start(host, host + "-" + System.nanoTime(), NetnsBed.java(List.of("-Xmx96m", "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1", "-Dzookeeper.admin.enableServer=false"),
                "org.apache.zookeeper.server.quorum.QuorumPeerMain", List.of(cfg.toString())));
    }

    /** Restarts the ZooKeeper server of {@code host} (after a kill) with its configuration and data. */
    NetnsBed.Role restartZooKeeper(String host) throws IOException {
        NetnsBed.Role r = startZooKeeper(host, dir.resolve(host + ".cfg"));
        zk.set(ZK_HOSTS.indexOf(host), r);
        return r;
    }

    /** "leader", "follower", or "" when the server of {@code host} does not answer (4lw srvr, asked from inside zk host). */
    String zkMode(String host) throws IOException {
        NetnsBed.Result r = bed.exec(host, "bash", "-c", "exec 3<>/dev/tcp/" + bed.address(host) + "/" + ZK_PORT
                + " && echo srvr >&3 && timeout 5 cat <&3");
        for (String line : r.out().split("\n")) {
            if (line.startsWith("Mode: ")) {
                return line.substring(6).strip();
            }
        }
        return "";
    }

    /** The JVM flags of the roles: the add-opens and -D flags of this JVM, a small heap. */
    static List<String> jvmFlags(String heap, String... more) {
        List<String> f = new ArrayList<>();
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (a.startsWith("--add-opens") || a.startsWith("-D")) {
                f.add(a);
            }
        }
        if (f.stream().noneMatch(a -> a.startsWith("-D" + NativeBuild.PROPERTY + "="))) {
            f.addAll(NativeBuild.jvmArgs());
        }
        f.add("-Xmx" + heap);
        f.add("-XX:+UseSerialGC");
        f.addAll(List.of(more));
        return f;
    }

    /** {@code plsc4j coordinator --job bed --zk <ensemble> --config job.yaml ...} on {@code host}. */
    NetnsBed.Role startCoordinator(String host, int min, int max, long settleMs) throws IOException {
        return startCoordinator(host, min, max, settleMs, tokenFile);
    }

    /** As {@link #startCoordinator(String, int, int, long)}, writing {@code token}. */
    NetnsBed.Role startCoordinator(String host, int min, int max, long settleMs, Path token) throws IOException {
        NetnsBed.Role r = bed.start(host, "coordinator-" + host, NetnsBed.java(jvmFlags("256m", "-XX:TieredStopAtLevel=1"), Main.class.getName(),
                List.of("coordinator", "--job", JOB, "--zk", zkConnect(), "--config", yaml.toString(),
                        "--min-workers", Integer.toString(min), "--max-workers", Integer.toString(max),
                        "--settle-ms", Long.toString(settleMs), "--token-file", token.toString())));
        coordinators.add(r);
        return r;
    }

    /**
     * {@code plsc4j worker --job bed --zk <ensemble> --host <address of host> --token-file F} on
     * {@code host}, seeing its own {@link #hostSave} at model_save_dir.
     */
    NetnsBed.Role startWorker(String host, long sessionTimeoutMs) throws IOException {
        NetnsBed.Role r = bed.start(host, "worker-" + host, NetnsBed.java(jvmFlags("1g"), Main.class.getName(),
                List.of("worker", "--job", JOB, "--zk", zkConnect(), "--host", bed.address(host),
                        "--token-file", tokenFile.toString(), "--session-timeout-ms", Long.toString(sessionTimeoutMs),
                        "--metrics-port", "-1")), hostSave(host), save);
        workers.add(r);
        return r;
    }

    /** Waits until the token file exists (the first coordinator created the job). */
    void awaitJobCreated(Duration timeout) throws IOException, InterruptedException {
        awaitFile(tokenFile, timeout);
    }

    /** Waits for {@code r} to exit; fails with every role's log tail when it does not. */
    int awaitExit(NetnsBed.Role r, Duration timeout) throws InterruptedException {
        if (!r.process().waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            fail(r.name() + " did not exit within " + timeout + bed.tails(25));
        }
        return r.process().exitValue();
    }

    /** Waits until {@code r}'s log contains {@code text}. */
    void awaitLog(NetnsBed.Role r, String text, Duration timeout) throws IOException, InterruptedException {
        try (WatchService watch = FileSystems.getDefault().newWatchService()) {
            r.log().getParent().register(watch, StandardWatchEventKinds.ENTRY_MODIFY);
            long deadline = System.nanoTime() + timeout.toNanos();
            while (!Files.readString(r.log(), StandardCharsets.UTF_8).contains(text)) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    fail("no \"" + text + "\" in " + r.log() + " within " + timeout + bed.tails(25));
                }
                WatchKey key = watch.poll(left, TimeUnit.NANOSECONDS);
                if (key != null) {
                    key.pollEvents();
                    key.reset();
                }
            }
        }
    }

    static void awaitFile(Path file, Duration timeout) throws IOException, InterruptedException {
        Path parent = file.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        try (WatchService watch = FileSystems.getDefault().newWatchService()) {
            parent.register(watch, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY);
            long deadline = System.nanoTime() + timeout.toNanos();
            while (!Files.exists(file) || Files.size(file) == 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    fail("no " + file + " within " + timeout);
                }
                WatchKey key = watch.poll(left, TimeUnit.NANOSECONDS);
                if (key != null) {
                    key.pollEvents();
                    key.reset();
                }
            }
        }
    }

    @Override
    public void close() {
        bed.close();
    }

    /**
     * metrics.jsonl as it grows, on every worker host (rank 0 appends it in its own model_save_dir,
     * and rank 0 may move at a generation change): a {@link MetricsFollower} of the hosts' files
     * whose waits fail with the bed's log tails.
     */
    static final class Metrics implements AutoCloseable {
        private final MetricsFollower follower;

        Metrics(List<Path> saveDirs) throws IOException {
            this.follower = new MetricsFollower(saveDirs);
        }

        List<JsonNode> events() throws IOException {
            return follower.events();
        }

        /** The first event matching {@code p}; fails after {@code timeout} with {@code context}'s log tails. */
        JsonNode await(String what, Predicate<JsonNode> p, Duration timeout, NetnsBed context)
                throws IOException, InterruptedException {
            return follower.await(p, timeout).orElseGet(() -> fail("no " + what + " in " + follower.files()
                    + " within " + timeout + context.tails(25)));
        }

        @Override
        public void close() throws IOException {
            follower.close();
        }
    }

    /** The job's YAML: the tiny mlp job, {@code extra} keys appended. */
    static String yaml(Path data, Path save, int classes, int epochs, Map<String, Object> extra) {
        StringBuilder b = new StringBuilder();
        b.append("dataset_dir: ").append(data).append('\n')
                .append("model_save_dir: ").append(save).append('\n')
                .append("num_classes: ").append(classes).append('\n')
                .append("emb_size: 16\nimage_shape: [3, 16, 16]\nmodel_name: mlp\ntrain_batch_size: 12\n")
                .append("train_epochs: ").append(epochs).append('\n')
                .append("lr: 0.05\nscale_lr_by_batch: false\nlr_steps: [100000]\nloss_type: dist_arcface\nscale: 16.0\n")
                .append("with_test: false\nlog_period: 1\nrendezvous_timeout: 120\nseed: 7\n");
        extra.forEach((k, v) -> b.append(k).append(": ").append(v).append('\n'));
        return b.toString();
    }
}
