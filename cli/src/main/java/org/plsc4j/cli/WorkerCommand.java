package org.plsc4j.cli;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import org.plsc4j.elastic.ElasticWorker;
import org.plsc4j.worker.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code plsc4j worker}: one worker of a coordinated job (one per machine or device). */
@Command(name = "worker", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Join a coordinated job as a worker and train until the job ends.",
        description = {
            "The job's configuration comes from ZooKeeper. The token comes from --token-file or the environment "
                + "variable " + ElasticWorker.TOKEN_ENV + "; ZooKeeper credentials from " + ElasticWorker.ZK_AUTH_ENV + ".",
            "Prints one summary line on stdout.",
            ""})
final class WorkerCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--job", required = true, description = "Job name.")
    String job;

    @Option(names = "--zk", required = true, description = "ZooKeeper connect string (printed by the coordinator).")
    String zk;

    @Option(names = "--host", defaultValue = "127.0.0.1",
            description = "Address the other hosts reach this worker at: the collective's address in the rendezvous,"
                    + " the shard store's Ignite node (it binds it), the worker registry (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--bind",
            description = "Address the collective and /metrics listen on, e.g. 0.0.0.0 (default: --host). Peers are"
                    + " always told --host.")
    String bind;

    @Option(names = "--token-file", description = "File holding the job token.")
    Path tokenFile;

    @Option(names = "--session-timeout-ms", defaultValue = "10000",
            description = "ZooKeeper session timeout: how fast a dead worker is noticed (default: ${DEFAULT-VALUE}).")
    long sessionTimeoutMs;

    @Option(names = "--device", defaultValue = "cpu",
            description = "cpu or cuda:K (GPU K; needs a -Pcuda build, see README \"GPU workers\") (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--metrics-port", defaultValue = "0",
            description = "Port of this worker's Prometheus /metrics on --host (0: any free port, -1: none; default:"
                    + " ${DEFAULT-VALUE}). It needs the job token; its address is in the worker's report.")
    int metricsPort;

    @Override
    public Integer call() throws Exception {
        String token = tokenFile != null ? Files.readString(tokenFile, StandardCharsets.UTF_8).strip()
                : System.getenv(ElasticWorker.TOKEN_ENV);
        if (token == null || token.isEmpty()) {
            throw new ParameterException(spec.commandLine(), "job token : missing (expected: --token-file F or the"
                    + " environment variable " + ElasticWorker.TOKEN_ENV + ")");
        }
        ElasticWorker.Options o = new ElasticWorker.Options(job, zk, System.getenv(ElasticWorker.ZK_AUTH_ENV), token,
                host, Duration.ofMillis(sessionTimeoutMs), null, null, device, metricsPort, bind);
        Trainer.Summary s = ElasticWorker.run(o);
        spec.commandLine().getOut().println("worker done: " + s.losses().size() + " steps, last checkpoint "
                + s.lastCheckpoint());
        spec.commandLine().getOut().flush();
        return 0;
    }
}
