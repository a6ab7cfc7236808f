package org.plsc4j.elastic.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.time.Duration;
import org.plsc4j.core.TrainConfig;
import org.plsc4j.core.TrainConfigs;
import org.plsc4j.core.collective.Collective;
import org.plsc4j.core.collective.CollectiveConfig;
import org.plsc4j.core.collective.Collectives;
import org.plsc4j.worker.BaseModel;
import org.plsc4j.worker.Optimizer;
import org.plsc4j.worker.TcpRendezvous;
import org.plsc4j.worker.Trainer;

/**
 * The main class of one worker process started by {@link org.plsc4j.elastic.LocalLauncher}: joins
 * the Netty collective through the launcher's rendezvous and runs the {@link Trainer}. The job token
 * comes in the environment (never on the command line, where {@code ps} would show it). Exit code 0
 * on success; 1 with one line {@code plsc4j worker rank R: ...} on stderr on failure.
 */
public final class WorkerMain {

    /** Environment variable carrying the job token. */
    public static final String TOKEN_ENV = "PLSC4J_JOB_TOKEN";

    /** How long any collective wait may take (an evaluation on rank 0 holds the others at a barrier). */
    static final Duration COLLECTIVE_TIMEOUT = Duration.ofMinutes(30);

    private WorkerMain() {
    }

    /** {@code --config F --rank R --world-size N --rendezvous H:P --job-id J [--model-class C]}. */
    public static void main(String[] args) {
        System.setOut(System.err); // a worker has no results to print; library chatter joins the log
        String config = null;
        String rendezvous = null;
        String jobId = null;
        String modelClass = null;
        String optimizerClass = null;
        int rank = -1;
        int world = -1;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--config" -> config = args[i + 1];
                case "--rank" -> rank = Integer.parseInt(args[i + 1]);
                case "--world-size" -> world = Integer.parseInt(args[i + 1]);
                case "--rendezvous" -> rendezvous = args[i + 1];
                case "--job-id" -> jobId = args[i + 1];
                case "--model-class" -> modelClass = args[i + 1];
                case "--optimizer-class" -> optimizerClass = args[i + 1];
                default -> throw new IllegalArgumentException("worker option : " + args[i] + " (unknown)");
            }
        }
        int code = 0;
        try {
            String token = System.getenv(TOKEN_ENV);
            if (token == null) {
                throw new IllegalArgumentException(TOKEN_ENV + " is not set (workers are started by the launcher)");
            }
            TrainConfig cfg = TrainConfigs.bind((ObjectNode) new ObjectMapper().readTree(Path.of(config).toFile()),
                    config);
            CollectiveConfig cc = CollectiveConfig.builder().jobId(jobId).token(token).rank(rank).worldSize(world)
                    .timeout(COLLECTIVE_TIMEOUT).rendezvous(TcpRendezvous.parse(rendezvous, jobId, token)).build();
            try (Collective c = Collectives.join("netty", cc)) {
                new Trainer(cfg, c, instantiate(modelClass, BaseModel.class), instantiate(optimizerClass, Optimizer.class),
                        jobId).train();
            }
        } catch (Exception | Error e) {
            System.err.println("plsc4j worker rank " + rank + ": " + oneLine(e));
            if ("1".equals(System.getenv("PLSC4J_DEBUG"))) {
                e.printStackTrace();
            }
            code = 1;
        }
        System.exit(code);
    }

    /** An instance of {@code className} (public, no-argument constructor) as a {@code type}, or null. */
    public static <T> T instantiate(String className, Class<T> type) throws ReflectiveOperationException {
        if (className == null) {
            return null;
        }
        Class<?> c = Class.forName(className);
        if (!type.isAssignableFrom(c)) {
            throw new IllegalArgumentException("class : " + className + " (expected: an implementation of "
                    + type.getName() + ")");
        }
        return type.cast(c.getConstructor().newInstance());
    }

    private static String oneLine(Throwable e) {
        String m = e.getMessage();
        return e.getClass().getSimpleName() + (m == null ? "" : ": " + m.lines().findFirst().orElse(""));
    }
}
