package org.plsc4j.bench;

import org.plsc4j.core.NativeBuild;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.plsc4j.core.TrainConfig;
import org.plsc4j.core.TrainConfigs;
import org.plsc4j.data.DatasetFormat;
import org.plsc4j.data.DatasetGenerator;
import org.plsc4j.data.GeneratorOptions;
import org.plsc4j.elastic.JobCoordinator;
import org.plsc4j.elastic.LocalLauncher;
import org.plsc4j.worker.MetricsFollower;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code plsc4j bench failover}: how long an elastic job stands still after kill -9 of a worker.
 * Starts a local job (worker processes, embedded ZooKeeper), waits until it trains, kills one worker
 * with SIGKILL and measures the seconds from the kill to the first train event of the next generation
 * (the "time" fields of metrics.jsonl against the kill instant), against the ZooKeeper session
 * timeout.
 *
 * <p>Why against the session timeout: a killed worker is only noticed when its session expires; what
 * the failover adds on top (the coordinator's settle window for a generation below max_workers, the
 * rendezvous, the state broadcast and the row restore from the shard store) is the part plsc4j owns.
 * The goal is a failover within session timeout + 10 s.
 */
@Command(name = "failover", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Seconds from kill -9 of a worker to the next generation's first training step.",
        description = {"Generates a tiny data set in a temporary directory (removed afterwards), trains with local"
            + " worker processes, kills one worker (--victim) once training runs, and reads the first train event"
            + " of the next generation from metrics.jsonl. The goal: within session timeout + "
            + FailoverBench.GOAL_SLACK_S + " s.", ""})
public final class FailoverBench implements Callable<Integer> {

    private static final Logger LOG = LoggerFactory.getLogger(FailoverBench.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Seconds a failover may take beyond the session timeout. */
    static final int GOAL_SLACK_S = 10;

    @Spec
    CommandSpec spec;

    @Option(names = "--repeats", defaultValue = "3", description = "Kills, each in a fresh job (default: ${DEFAULT-VALUE}).")
    int repeats;

    @Option(names = "--victim", defaultValue = "rank0", paramLabel = "rank0|last|random",
            description = "Which worker is killed: the one holding rank 0 (it writes metrics.jsonl), the last started,"
                + " or a seeded random one per repeat (default: ${DEFAULT-VALUE}).")
    String victim;

    @Option(names = "--num-classes", defaultValue = "200000",
            description = "num_classes of the FC (>= --classes, or 0 for --classes): more than the data set's classes"
                + " sizes the FC and the rows the store restores without a larger data set (default: ${DEFAULT-VALUE}).")
    int numClasses;

    @Option(names = "--emb-size", defaultValue = "128", description = "emb_size (default: ${DEFAULT-VALUE}).")
    int embSize;

    @Option(names = "--session-timeout-ms", defaultValue = "10000",
            description = "zk_session_timeout_ms (default: ${DEFAULT-VALUE}).")
    int sessionTimeoutMs;

    @Option(names = "--workers", defaultValue = "3", description = "Workers started (default: ${DEFAULT-VALUE}).")
    int workers;

    @Option(names = "--min-workers", defaultValue = "2", description = "min_workers (default: ${DEFAULT-VALUE}).")
    int minWorkers;

    @Option(names = "--kill-at-step", defaultValue = "6",
            description = "Kill once a train event with this global step is logged (default: ${DEFAULT-VALUE}).")
    int killAtStep;

    @Option(names = "--model", defaultValue = "mlp", description = "model_name (default: ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--image-size", defaultValue = "16", description = "Image side (default: ${DEFAULT-VALUE}).")
    int imageSize;

    @Option(names = "--classes", defaultValue = "60", description = "Classes in the generated data (default: ${DEFAULT-VALUE}).")
    int classes;

    @Option(names = "--per-class", defaultValue = "8", description = "Images per class (default: ${DEFAULT-VALUE}).")
    int perClass;

    @Option(names = "--fc-dtype", defaultValue = "float32",
            description = "fc_dtype: float32, float16, bfloat16 (default: ${DEFAULT-VALUE}).")
    String fcDtype;

    @Option(names = "--shard-sync-steps", defaultValue = "2",
            description = "shard_sync_steps (default: ${DEFAULT-VALUE}).")
    int shardSyncSteps;

    @Option(names = "--batch", defaultValue = "12",
            description = "Global batch; divisible by min-workers..workers (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--timeout-s", defaultValue = "300",
            description = "Longest wait for one event before giving up (default: ${DEFAULT-VALUE}).")
    int timeoutS;

    @Option(names = "--seed", defaultValue = "42", description = "Seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--json", description = "Print one JSON object on stdout instead of text.")
    boolean json;

    /** One kill. */
    record Kill(@JsonProperty("killed_at_step") long killedAtStep,
                @JsonProperty("generation_s") double generationS,
                @JsonProperty("failover_s") double failoverS,
                @JsonProperty("resync_s") double resyncS,
                @JsonProperty("victim_rank") int victimRank,
                @JsonProperty("victim_index") int victimIndex) {
    }

    /** The --json object (field names are a public contract). */
    record Result(@JsonProperty("version") String version, @JsonProperty("workers") int workers,
                  @JsonProperty("min_workers") int minWorkers,
                  @JsonProperty("session_timeout_s") double sessionTimeoutS,
                  @JsonProperty("settle_s") double settleS,
                  @JsonProperty("failover_s") List<Double> failoverS,
                  @JsonProperty("generation_s") List<Double> generationS,
                  @JsonProperty("failover_median_s") double failoverMedianS,
                  @JsonProperty("failover_max_s") double failoverMaxS,
                  @JsonProperty("ratio") double ratio,
                  @JsonProperty("goal") String goal,
                  @JsonProperty("goal_met") boolean goalMet,
                  @JsonProperty("victim") String victim,
                  @JsonProperty("victim_ranks") List<Integer> victimRanks,
                  @JsonProperty("num_classes") int numClasses,
                  @JsonProperty("emb_size") int embSize,
                  @JsonProperty("fc_dtype") String fcDtype,
                  @JsonProperty("resync_s") List<Double> resyncS,
                  @JsonProperty("failover_spread") Spread failoverSpread,
                  @JsonProperty("generation_spread") Spread generationSpread,
                  @JsonProperty("load_before") Double loadBefore,
                  @JsonProperty("load_after") Double loadAfter) {
    }

    /** Runs this benchmark alone (without the CLI): {@code java -cp ... org.plsc4j.bench.FailoverBench --json}. */
    public static void main(String[] args) {
        NativeBuild.select();
        System.exit(new CommandLine(new FailoverBench()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        check(repeats >= 1, "repeats : " + repeats + " (expected: >= 1)");
        check(sessionTimeoutMs >= 1000, "session-timeout-ms : " + sessionTimeoutMs + " (expected: >= 1000)");
        check(minWorkers >= 1 && workers > minWorkers, "workers : " + workers + ", min-workers : " + minWorkers
                + " (expected: 1 <= min-workers < workers, so that the job survives a kill)");
        for (int n = minWorkers; n <= workers; n++) {
            check(batch % n == 0, "batch : " + batch + " (expected: divisible by every worker count from "
                    + minWorkers + " to " + workers + ")");
        }
        check(List.of("rank0", "last", "random").contains(victim), "victim : " + victim
                + " (expected: rank0, last or random)");
        check(numClasses == 0 || numClasses >= classes, "num-classes : " + numClasses + " (expected: 0 or >= --classes "
                + classes + ")");
        check(embSize >= 1, "emb-size : " + embSize + " (expected: >= 1)");
        Double loadBefore = LoadAverage.oneMinute();
        long steps = (long) classes * perClass / batch;
        check(steps > killAtStep + 1, "classes x per-class : " + classes + " x " + perClass
                + " (expected: more than " + (killAtStep + 1) + " batches of " + batch + " per epoch)");
        Path tmp = Files.createTempDirectory("plsc4j-bench-failover-");
        try {
            Path data = tmp.resolve("data");
            DatasetGenerator.generate(new GeneratorOptions(data, classes, perClass, imageSize, 0, seed,
                    DatasetFormat.LABEL_TXT, 1, GeneratorOptions.DEFAULT_BIN));
            List<Kill> kills = new ArrayList<>();
            for (int r = 0; r < repeats; r++) {
                Kill k = once(data, tmp.resolve("run-" + r), r);
                LOG.info("bench failover: repeat {}: killed rank {} (worker {}); generation after {} s, rows restored in"
                        + " {} s, first step after {} s", r + 1, k.victimRank(), k.victimIndex(), fmt(k.generationS()),
                        fmt(k.resyncS()), fmt(k.failoverS()));
                kills.add(k);
            }
            double session = sessionTimeoutMs / 1000.0;
            double[] f = kills.stream().mapToDouble(Kill::failoverS).toArray();
            double median = Stats.median(f.clone());
            double max = java.util.Arrays.stream(f).max().orElseThrow();
            String goal = "within session timeout + " + GOAL_SLACK_S + " s";
            print(new Result(BenchVersion.get(), workers, minWorkers, session,
                    JobCoordinator.DEFAULT_SETTLE.toMillis() / 1000.0,
                    kills.stream().map(Kill::failoverS).toList(), kills.stream().map(Kill::generationS).toList(),
                    median, max, Stats.round(median / session, 3), goal, max <= session + GOAL_SLACK_S, victim,
                    kills.stream().map(Kill::victimRank).toList(), fcClasses(), embSize, fcDtype,
                    kills.stream().map(Kill::resyncS).toList(), Spread.of(f, 2),
                    Spread.of(kills.stream().mapToDouble(Kill::generationS).toArray(), 2), loadBefore,
                    LoadAverage.oneMinute()));
            return 0;
        } finally {
            try (Stream<Path> s = Files.walk(tmp)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    /** One job, one kill: the seconds from the kill to the next generation and to its first step. */
    private Kill once(Path data, Path save, int repeat) throws IOException, InterruptedException {
        Files.createDirectories(save);
        TrainConfig cfg = TrainConfigs.load(null, List.of("dataset_dir=" + data, "model_save_dir=" + save,
                "num_classes=" + fcClasses(), "image_shape=[3, " + imageSize + ", " + imageSize + "]",
                "model_name=" + model, "emb_size=" + embSize, "fc_dtype=" + fcDtype, "train_batch_size=" + batch,
                "train_epochs=3",
                "with_test=false", "log_period=1", "lr=0.05", "scale_lr_by_batch=false", "scale=16",
                "shard_sync_steps=" + shardSyncSteps, "min_workers=" + minWorkers, "max_workers=" + workers,
                "zk_session_timeout_ms=" + sessionTimeoutMs, "seed=" + seed));
        Duration timeout = Duration.ofSeconds(timeoutS);
        try (Metrics metrics = new Metrics(save); LocalLauncher.Job job = LocalLauncher.start(cfg, workers, null, null)) {
            JsonNode at = metrics.await("a train event with step >= " + killAtStep,
                    e -> is(e, "train") && e.get("step").asLong() >= killAtStep, timeout);
            int[] chosen = chooseVictim(job, repeat, timeout);
            Process victimProcess = job.workers().get(chosen[0]);
            Instant killed = Instant.now();
            victimProcess.destroyForcibly(); // SIGKILL
            if (!victimProcess.waitFor(30, TimeUnit.SECONDS)) {
                throw new IllegalStateException("bench failover: worker " + chosen[0] + " survived SIGKILL");
            }
            int survivors = workers - 1;
            JsonNode gen = metrics.await("a generation of " + survivors + " workers",
                    e -> is(e, "generation") && e.get("world_size").asInt() == survivors, timeout);
            long g = gen.get("generation").asLong();
            JsonNode first = metrics.await("a train event of generation " + g, new Predicate<>() {
                boolean seen;

                @Override
                public boolean test(JsonNode e) {
                    if (is(e, "generation")) {
                        seen = e.get("generation").asLong() == g;
                        return false;
                    }
                    return seen && is(e, "train");
                }
            }, timeout);
            JsonNode restore = metrics.await("the restore event of generation " + g,
                    e -> is(e, "restore") && e.get("generation").asLong() == g, timeout);
            return new Kill(at.get("step").asLong(), seconds(killed, gen), seconds(killed, first),
                    restore.path("seconds").asDouble(Double.NaN), chosen[1], chosen[0]);
        }
    }

    /**
     * The victim's index in start order and its rank in the current generation, read from the workers'
     * progress reports in ZooKeeper (pid and rank); rank -1 when no report named it in time.
     */
    private int[] chooseVictim(LocalLauncher.Job job, int repeat, Duration timeout) throws InterruptedException {
        List<Process> procs = job.workers();
        int index = switch (victim) {
            case "last" -> procs.size() - 1;
            case "random" -> new java.util.SplittableRandom(seed + repeat).nextInt(procs.size());
            default -> -1;
        };
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            long g = job.coordinator().store().currentGenerationNumber();
            var reports = job.coordinator().store().readReports().values();
            for (var r : reports) {
                if (r.generation() != g) {
                    continue;
                }
                for (int i = 0; i < procs.size(); i++) {
                    if (procs.get(i).pid() == r.pid()) {
                        if (index < 0 && r.rank() == 0) {
                            return new int[] {i, 0};
                        }
                        if (index == i) {
                            return new int[] {i, r.rank()};
                        }
                    }
                }
            }
            if (System.nanoTime() > deadline) {
                if (index >= 0) {
                    return new int[] {index, -1};
                }
                throw new IllegalStateException("bench failover: no progress report names rank 0 of generation " + g
                        + " within " + timeout);
            }
            Thread.sleep(100); // polling ZooKeeper for the reports (written at the workers' own pace)
        }
    }

    private int fcClasses() {
        return numClasses > 0 ? numClasses : classes;
    }

    private static double seconds(Instant from, JsonNode event) {
        return Stats.round(Duration.between(from, Instant.parse(event.get("time").asText())).toMillis() / 1000.0, 2);
    }

    private static boolean is(JsonNode e, String event) {
        return e.path("event").asText().equals(event);
    }

    private void print(Result r) throws com.fasterxml.jackson.core.JsonProcessingException {
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(JSON.writeValueAsString(r));
        } else {
            out.printf(Locale.ROOT, "plsc4j bench failover (plsc4j %s): %d workers, min_workers %d, kill -9 of one%n",
                    r.version(), r.workers(), r.minWorkers());
            out.printf(Locale.ROOT, "  session timeout          %6.2f s (settle window %.2f s)%n", r.sessionTimeoutS(),
                    r.settleS());
            out.printf(Locale.ROOT, "  kill -> next generation  %s s%n", r.generationS());
            out.printf(Locale.ROOT, "  rows restored (%d x %d %s) in %s s%n", r.numClasses(), r.embSize(), r.fcDtype(),
                    r.resyncS());
            out.printf(Locale.ROOT, "  kill -> first step       %s s (median %.2f, max %.2f, %.2f x the session timeout)%n",
                    r.failoverS(), r.failoverMedianS(), r.failoverMaxS(), r.ratio());
            out.printf(Locale.ROOT, "  goal %s: %s%n", r.goal(), r.goalMet() ? "met" : "NOT met");
        }
        out.flush();
    }

    private void check(boolean ok, String message) {
        if (!ok) {
            throw new ParameterException(spec.commandLine(), message);
        }
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.2f", v);
    }

    /** metrics.jsonl as it grows ({@link MetricsFollower}); a wait that times out is an error naming the event. */
    private static final class Metrics implements AutoCloseable {
        private final MetricsFollower follower;

        Metrics(Path saveDir) throws IOException {
            follower = new MetricsFollower(saveDir);
        }

        /** The first event (in file order) matching {@code p}, which sees every event in order. */
        JsonNode await(String what, Predicate<JsonNode> p, Duration timeout) throws IOException, InterruptedException {
            return follower.await(p, timeout).orElseThrow(() -> new IllegalStateException("bench failover: no " + what
                    + " in " + follower.files() + " within " + timeout));
        }

        @Override
        public void close() throws IOException {
            follower.close();
        }
    }
}
