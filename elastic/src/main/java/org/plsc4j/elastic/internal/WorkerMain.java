package org.plsc4j.elastic.internal;

import org.plsc4j.core.NativeBuild;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.plsc4j.elastic.ElasticWorker;

/**
 * The main class of one worker process ({@code ./plsc4j worker} and the processes the local
 * launcher starts): runs an {@link ElasticWorker}. The job token comes in the environment or a
 * file, never on the command line (where {@code ps} would show it); likewise the ZooKeeper
 * credentials. Exit code 0 on success; 1 with one line {@code plsc4j worker: ...} on stderr on
 * failure; 2 for bad arguments.
 */
public final class WorkerMain {

    /** See {@link ElasticWorker#TOKEN_ENV}. */
    public static final String TOKEN_ENV = ElasticWorker.TOKEN_ENV;

    /** See {@link ElasticWorker#ZK_AUTH_ENV}. */
    public static final String ZK_AUTH_ENV = ElasticWorker.ZK_AUTH_ENV;

    private WorkerMain() {
    }

    /**
     * {@code --job J --zk CONNECT [--host H] [--session-timeout-ms T] [--token-file F]
     * [--model-class C] [--optimizer-class C] [--metrics-port P]} (P: 0 any free port, the default; -1 none).
     */
    public static void main(String[] args) {
        System.setOut(System.err); // a worker has no results to print; library chatter joins the log
        int code;
        try {
            NativeBuild.select(); // before ND4J loads (the launcher passes its choice with -D)
            ElasticWorker.run(parse(args, System.getenv(TOKEN_ENV), System.getenv(ZK_AUTH_ENV)));
            code = 0;
        } catch (IllegalArgumentException e) {
            System.err.println("plsc4j worker: " + oneLine(e));
            code = e.getMessage() != null && e.getMessage().startsWith("worker option") ? 2 : 1;
            debug(e);
        } catch (Exception | Error e) {
            System.err.println("plsc4j worker: " + oneLine(e));
            debug(e);
            code = 1;
        }
        System.exit(code);
    }

    /** The options of {@code args}, the token from {@code --token-file} or {@code tokenEnv}. */
    public static ElasticWorker.Options parse(String[] args, String tokenEnv, String zkAuth) throws IOException {
        String job = null;
        String zk = null;
        String host = "127.0.0.1";
        String bind = null;
        String tokenFile = null;
        String model = null;
        String optimizer = null;
        long sessionMs = 10_000;
        String device = "cpu";
        int metricsPort = 0;
        List<String> rest = new ArrayList<>(List.of(args));
        for (int i = 0; i < rest.size(); i += 2) {
            String k = rest.get(i);
            if (i + 1 >= rest.size()) {
                throw new IllegalArgumentException("worker option : " + k + " (expected: a value after it)");
            }
            String v = rest.get(i + 1);
            switch (k) {
                case "--job" -> job = v;
                case "--zk" -> zk = v;
                case "--host" -> host = v;
                case "--bind" -> bind = v;
                case "--token-file" -> tokenFile = v;
                case "--session-timeout-ms" -> sessionMs = Long.parseLong(v);
                case "--model-class" -> model = v;
                case "--optimizer-class" -> optimizer = v;
                case "--device" -> device = v;
                case "--metrics-port" -> metricsPort = Integer.parseInt(v);
                default -> throw new IllegalArgumentException("worker option : " + k + " (unknown)");
            }
        }
        if (job == null || zk == null) {
            throw new IllegalArgumentException("worker option : --job and --zk are required");
        }
        String token = tokenFile != null ? Files.readString(Path.of(tokenFile), StandardCharsets.UTF_8).strip() : tokenEnv;
        if (token == null || token.isEmpty()) {
            throw new IllegalArgumentException("job token : missing (expected: --token-file F or the environment"
                    + " variable " + TOKEN_ENV + ")");
        }
        return new ElasticWorker.Options(job, zk, zkAuth, token, host, Duration.ofMillis(sessionMs), model, optimizer,
                device, metricsPort, bind);
    }

    private static void debug(Throwable e) {
        if ("1".equals(System.getenv("PLSC4J_DEBUG"))) {
            e.printStackTrace();
        }
    }

    private static String oneLine(Throwable e) {
        String m = e.getMessage();
        return e.getClass().getSimpleName() + (m == null ? "" : ": " + m.lines().findFirst().orElse(""));
    }
}
