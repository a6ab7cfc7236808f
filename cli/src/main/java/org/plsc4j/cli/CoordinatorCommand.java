package org.plsc4j.cli;

import java.nio.file.Files;
import java.io.IOException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.plsc4j.coordinator.JobStatus;
import org.plsc4j.core.TrainConfig;
import org.plsc4j.dashboard.DashboardServer;
import org.plsc4j.elastic.ElasticWorker;
import org.plsc4j.elastic.JobCoordinator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code plsc4j coordinator}: creates a job in ZooKeeper and forms its generations until it ends. */
@Command(name = "coordinator", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Coordinate an elastic job: register workers, publish generations, run until the job ends.",
        description = {
            "Without --zk an embedded ZooKeeper runs on 127.0.0.1 in this process. The job token is written to "
                + "--token-file (owner-only permissions); workers read it with --token-file or the environment "
                + "variable " + ElasticWorker.TOKEN_ENV + ". With zk_auth (environment variable "
                + ElasticWorker.ZK_AUTH_ENV + "=user:password) the job's nodes are readable by those credentials only. "
                + "Run a second coordinator with the same --job and --zk as a standby; it writes the job's existing "
                + "token to its --token-file.",
            "Prints the ZooKeeper connect string on stdout once the job exists, then the final status.",
            ""})
final class CoordinatorCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    JobOptions job;

    @Option(names = "--job", required = true, description = "Job name.")
    String name;

    @Option(names = "--zk", description = "ZooKeeper connect string host:port[,host:port...]; default: embedded.")
    String zk;

    @Option(names = "--min-workers", description = "Smallest generation (default: min_workers, else 1).")
    Integer minWorkers;

    @Option(names = "--max-workers", description = "Largest generation; more workers are standbys (default: "
            + "max_workers, else min workers).")
    Integer maxWorkers;

    @Option(names = "--max-restarts", description = "Generations caused by lost workers before the job fails "
            + "(default: max_restarts).")
    Integer maxRestarts;

    @Option(names = "--settle-ms", defaultValue = "5000",
            description = "Registry quiet time before a generation below max workers (default: ${DEFAULT-VALUE}).")
    long settleMs;

    @Mixin
    DashboardOptions dashboard;

    @Option(names = "--token-file", description = "Where to write the job token (default: model_save_dir/<job>.token).")
    Path tokenFile;

    @Override
    public Integer call() throws Exception {
        TrainConfig cfg = job.load(List.of());
        int min = minWorkers != null ? minWorkers : cfg.minWorkers() != null ? cfg.minWorkers() : 1;
        int max = maxWorkers != null ? maxWorkers : cfg.maxWorkers() != null ? cfg.maxWorkers() : min;
        int restarts = maxRestarts != null ? maxRestarts : cfg.maxRestarts();
        if (min < 1 || max < min || restarts < 0) {
            throw new ParameterException(spec.commandLine(), "--min-workers " + min + " --max-workers " + max
                    + " --max-restarts " + restarts + " (expected: 1 <= min <= max, restarts >= 0)");
        }
        byte[] secret = new byte[24];
        new SecureRandom().nextBytes(secret);
        String token = HexFormat.of().formatHex(secret);
        Path tf = tokenFile != null ? tokenFile : Path.of(cfg.modelSaveDir()).resolve(name + ".token");
        Files.createDirectories(tf.toAbsolutePath().getParent());
        Path zkData = zk == null ? Files.createTempDirectory("plsc4j-zk-") : null;
        try (JobCoordinator c = JobCoordinator.start(cfg, new JobCoordinator.Options(name, zk,
                System.getenv(ElasticWorker.ZK_AUTH_ENV), min, max, restarts, Duration.ofMillis(settleMs), zkData), token)) {
            // a standby (the job existed already) writes the job's token, not its own: both files stay valid
            token = c.store().readToken();
            writeTokenFile(tf, token);
            spec.commandLine().getOut().println("job " + name + " zk " + c.connectString() + " token-file " + tf);
            if (dashboard.enabled()) {
                DashboardServer d = c.startDashboard(dashboard.host, dashboard.port, token, null);
                spec.commandLine().getOut().println("dashboard " + d.url() + "#token=" + token);
            }
            spec.commandLine().getOut().flush();
            Optional<JobStatus> end = Optional.empty();
            while (end.isEmpty()) {
                end = c.awaitEnd(Duration.ofHours(1));
                if (Thread.currentThread().isInterrupted()) {
                    return 1;
                }
            }
            spec.commandLine().getOut().println("job " + name + " " + end.get().state() + ": " + end.get().message());
            spec.commandLine().getOut().flush();
            return end.get().isFailed() ? 1 : 0;
        }
    }

    /**
     * Writes {@code token} to {@code tf}, owner-only, through a temp file renamed over it: a worker
     * reading the file (also while a standby coordinator rewrites it) sees the whole token or the old file.
     */
    private static void writeTokenFile(Path tf, String token) throws IOException {
        Path tmp = tf.resolveSibling(tf.getFileName() + ".tmp-" + ProcessHandle.current().pid());
        Files.deleteIfExists(tmp);
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(tmp, token + "\n");
        Files.move(tmp, tf, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
