package org.plsc4j.cli;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.plsc4j.coordinator.ZkClients;
import org.plsc4j.dashboard.DashboardServer;
import org.plsc4j.dashboard.JobView;
import org.plsc4j.elastic.ElasticWorker;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code plsc4j dashboard}: the web dashboard of a running job (ZooKeeper) or of a finished one (its directory). */
@Command(name = "dashboard", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Serve the web dashboard of a job: workers, class ranges, generations, curves, events.",
        description = {
            "A running job: --zk and --job (and the job token, --token-file or " + ElasticWorker.TOKEN_ENV + "); its "
                + "curves come from model_save_dir/metrics.jsonl when that directory is readable here "
                + "(--model-save-dir, else the job's configuration). A finished job: --dir model_save_dir alone.",
            "The page needs a token: the job token, or with --dir a fresh one printed with the address "
                + "(open http://HOST:PORT/#token=TOKEN). Runs until interrupted.",
            ""})
final class DashboardCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    static final class Source {
        @Option(names = "--dir", description = "A job's model_save_dir (metrics.jsonl, checkpoints): no ZooKeeper.")
        Path dir;

        @Option(names = "--job", description = "The running job's name (with --zk).")
        String job;
    }

    @Option(names = "--zk", description = "ZooKeeper connect string of the running job.")
    String zk;

    @Option(names = "--model-save-dir", description = "Where the running job's metrics.jsonl is, if not where its"
            + " configuration says.")
    Path modelSaveDir;

    @Option(names = "--token-file", description = "The job token (or a dashboard token) the page must carry.")
    Path tokenFile;

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to bind (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--port", defaultValue = "8265", description = "Port (0: any free port; default: ${DEFAULT-VALUE}).")
    int port;

    @Override
    public Integer call() throws Exception {
        String token = tokenFile != null ? Files.readString(tokenFile, StandardCharsets.UTF_8).strip()
                : System.getenv(ElasticWorker.TOKEN_ENV);
        CuratorFramework client = null;
        JobView view;
        if (source.dir != null) {
            if (!Files.isDirectory(source.dir)) {
                throw new ParameterException(spec.commandLine(), "--dir : " + source.dir + " (expected: a directory)");
            }
            if (token == null || token.isEmpty()) {
                byte[] secret = new byte[16];
                new SecureRandom().nextBytes(secret);
                token = HexFormat.of().formatHex(secret);
            }
            view = JobView.directory(source.dir);
        } else {
            if (zk == null) {
                throw new ParameterException(spec.commandLine(), "--zk : missing (expected: with --job)");
            }
            if (token == null || token.isEmpty()) {
                throw new ParameterException(spec.commandLine(), "job token : missing (expected: --token-file F or "
                        + ElasticWorker.TOKEN_ENV + ")");
            }
            client = ZkClients.connect(zk, System.getenv(ElasticWorker.ZK_AUTH_ENV), Duration.ofSeconds(30));
            if (!client.blockUntilConnected(30, TimeUnit.SECONDS)) {
                client.close();
                throw new IllegalStateException("zk : " + zk + " (cannot connect within 30 s)");
            }
            view = JobView.live(client, source.job, modelSaveDir);
        }
        CountDownLatch stop = new CountDownLatch(1);
        try (DashboardServer server = DashboardServer.builder().host(host).port(port).token(token).view(view).build()
                .start()) {
            Runtime.getRuntime().addShutdownHook(new Thread(stop::countDown, "plsc4j-dashboard-stop"));
            spec.commandLine().getOut().println("dashboard " + server.url() + "#token=" + token);
            spec.commandLine().getOut().flush();
            stop.await();
        } finally {
            if (client != null) {
                client.close();
            }
        }
        return 0;
    }
}
