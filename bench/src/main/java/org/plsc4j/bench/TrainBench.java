package org.plsc4j.bench;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.plsc4j.core.TrainConfig;
import org.plsc4j.core.TrainConfigs;
import org.plsc4j.data.DatasetFormat;
import org.plsc4j.data.DatasetGenerator;
import org.plsc4j.data.GeneratorOptions;
import org.plsc4j.elastic.LocalLauncher;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code plsc4j bench train}: end-to-end training throughput (images/s) with 1, 2, ... local worker
 * processes, against the bare backbone (forward + backward + momentum update of the same model and
 * global batch, no data loading, no FC, no collective) measured in the same run.
 *
 * <p>Why that baseline: on a CPU the backbone is most of a step; the ratio says what data loading, the
 * sharded FC and the collectives add, and the 2-worker figure what splitting the batch over
 * processes on the same cores gains or costs. Worker throughput is read from the runs' own
 * {@code metrics.jsonl} ({@code samples_per_sec} of each logged window after the first).
 *
 * <p>Like for like (issue 13): the baseline runs in a child JVM ({@link TrainBaselineChild}) with the
 * workers' JVM flags and OMP_NUM_THREADS, on the same data set's decoded images, with the gradient a
 * normalized-softmax head would hand back, timed in windows of {@code log_period} steps after the
 * same single untimed step the trainer's first window is; trainer runs and baseline children
 * alternate for {@code --repeats} rounds ({@link Interleave}). Until then the baseline ran in this
 * JVM after the data generation and the trainer runs, and measured slower than the trainer.
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Training images/s with 1, 2, ... local workers against the bare backbone (same run).",
        description = {"Generates a data set in a temporary directory (removed afterwards), trains one epoch per worker"
            + " count with dist_arcface, reads samples_per_sec from metrics.jsonl.", ""})
public final class TrainBench implements Callable<Integer> {

    private static final Logger LOG = LoggerFactory.getLogger(TrainBench.class);

    /** Untimed bare-backbone steps before the timed ones: the trainer's first metrics window is one step. */
    static final int BACKBONE_WARMUP = 1;

    /** The trainer's log_period in this bench: its metrics windows, and the baseline's, are this many steps. */
    static final int WINDOW = 5;

    @Spec
    CommandSpec spec;

    @Option(names = "--model", defaultValue = "small", description = "model_name (default: ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--image-size", defaultValue = "64", description = "Image side (default: ${DEFAULT-VALUE}).")
    int imageSize;

    @Option(names = "--batch", defaultValue = "64", description = "Global batch (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--classes", defaultValue = "500", description = "Classes (default: ${DEFAULT-VALUE}).")
    int classes;

    @Option(names = "--per-class", defaultValue = "8", description = "Images per class (default: ${DEFAULT-VALUE}).")
    int perClass;

    @Option(names = "--workers", defaultValue = "1,2", split = ",", description = "Worker counts (default: ${DEFAULT-VALUE}).")
    List<Integer> workers;

    @Option(names = "--backbone-steps", defaultValue = "0",
            description = "Timed bare-backbone steps; 0 (default): as many as the trainer's timed windows hold.")
    int backboneSteps;

    @Option(names = "--backbone-warmup", defaultValue = "" + BACKBONE_WARMUP,
            description = "Untimed bare-backbone steps first (default: ${DEFAULT-VALUE}, like the trainer's first window).")
    int backboneWarmup;

    @Option(names = "--repeats", defaultValue = "2",
            description = "Rounds of (one trainer run per worker count, one baseline child), alternated (default: ${DEFAULT-VALUE}).")
    int repeats;

    @Option(names = "--baseline-input", defaultValue = "data", paramLabel = "data|rand",
            description = "Baseline images: the data set's decoded ones, or Nd4j.rand as before issue 13 (default: ${DEFAULT-VALUE}).")
    String baselineInput;

    @Option(names = "--baseline-grad", defaultValue = "softmax", paramLabel = "softmax|rand",
            description = "Baseline upstream gradient: a normalized softmax's, or random x 1e-3 as before issue 13 (default: ${DEFAULT-VALUE}).")
    String baselineGrad;

    @Option(names = "--baseline-gc", defaultValue = "none", paramLabel = "none|step",
            description = "System.gc() after every baseline step (diagnosis; default: ${DEFAULT-VALUE}).")
    String baselineGc;

    @Option(names = "--seed", defaultValue = "42", description = "Seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--json", description = "Print one JSON object on stdout instead of a table.")
    boolean json;

    /** One worker count's result: the median and spread of its windows over all repeats. */
    record Run(@JsonProperty("workers") int workers, @JsonProperty("images_per_sec") double imagesPerSec,
               @JsonProperty("windows") int windows, @JsonProperty("spread") Spread spread,
               @JsonProperty("repeat_images_per_sec") List<Double> repeatImagesPerSec,
               @JsonProperty("ratio_vs_backbone") double ratioVsBackbone) {
    }

    /** The --json object (field names are a public contract; fields after runs added by issue 13). */
    record Result(@JsonProperty("version") String version, @JsonProperty("model") String model,
                  @JsonProperty("image_size") int imageSize, @JsonProperty("batch") int batch,
                  @JsonProperty("classes") int classes, @JsonProperty("samples") int samples,
                  @JsonProperty("threads") int threads,
                  @JsonProperty("backbone_images_per_sec") double backboneImagesPerSec,
                  @JsonProperty("runs") List<Run> runs,
                  @JsonProperty("backbone_spread") Spread backboneSpread,
                  @JsonProperty("backbone_repeat_images_per_sec") List<Double> backboneRepeatImagesPerSec,
                  @JsonProperty("backbone_process") String backboneProcess,
                  @JsonProperty("baseline_input") String baselineInput,
                  @JsonProperty("baseline_grad") String baselineGrad,
                  @JsonProperty("baseline_gc") String baselineGc,
                  @JsonProperty("baseline_grad_norm") double baselineGradNorm,
                  @JsonProperty("baseline_peak_rss_mb") double baselinePeakRssMb,
                  @JsonProperty("baseline_minor_faults_per_step") double baselineMinorFaultsPerStep,
                  @JsonProperty("baseline_cpu_ms_per_step") double baselineCpuMsPerStep,
                  @JsonProperty("warmup_steps") int warmupSteps, @JsonProperty("window_steps") int windowSteps,
                  @JsonProperty("repeats") int repeats,
                  @JsonProperty("load_before") Double loadBefore, @JsonProperty("load_after") Double loadAfter) {
    }

    @Override
    public Integer call() throws Exception {
        check(batch >= 1, "batch : " + batch + " (expected: >= 1)");
        check(!workers.isEmpty() && workers.stream().allMatch(w -> w >= 1 && batch % w == 0),
                "workers : " + workers + " (expected: counts >= 1 that divide --batch " + batch + ")");
        check(classes >= 2 && perClass >= 1 && (long) classes * perClass >= 3L * batch,
                "classes x per-class : " + classes + " x " + perClass + " (expected: at least 3 batches of " + batch + ")");
        check(repeats >= 1, "repeats : " + repeats + " (expected: >= 1)");
        check(backboneWarmup >= 0 && backboneSteps >= 0, "backbone-warmup, backbone-steps : " + backboneWarmup + ", "
                + backboneSteps + " (expected: >= 0)");
        check(List.of("data", "rand").contains(baselineInput), "baseline-input : " + baselineInput + " (expected: data or rand)");
        check(List.of("softmax", "rand").contains(baselineGrad), "baseline-grad : " + baselineGrad + " (expected: softmax or rand)");
        check(List.of("none", "step").contains(baselineGc), "baseline-gc : " + baselineGc + " (expected: none or step)");
        Double loadBefore = LoadAverage.oneMinute();
        Path tmp = Files.createTempDirectory("plsc4j-bench-train-");
        try {
            Path data = tmp.resolve("data");
            LOG.info("bench train: generating {} x {} images of {}px", classes, perClass, imageSize);
            DatasetGenerator.generate(new GeneratorOptions(data, classes, perClass, imageSize, 0, seed,
                    DatasetFormat.LABEL_TXT, 1, GeneratorOptions.DEFAULT_BIN));
            int steps = classes * perClass / batch;
            int timedWindows = backboneSteps > 0 ? Math.max(1, backboneSteps / WINDOW)
                    : Math.max(1, (steps - 1 + WINDOW - 1) / WINDOW);
            Map<Integer, List<Double>> windows = new LinkedHashMap<>();
            Map<Integer, List<Double>> perRepeat = new LinkedHashMap<>();
            List<Double> baseWindows = new ArrayList<>();
            List<Double> baseRepeat = new ArrayList<>();
            double[] gradNorm = {0};
            double[] baseRss = {0};
            List<Double> faults = new ArrayList<>();
            List<Double> cpu = new ArrayList<>();
            List<Interleave.Side> sides = new ArrayList<>();
            for (int w : workers) {
                windows.put(w, new ArrayList<>());
                perRepeat.put(w, new ArrayList<>());
                sides.add(() -> {
                    Path save = tmp.resolve("w" + w + "-" + perRepeat.get(w).size());
                    TrainConfig cfg = TrainConfigs.load(null, List.of("dataset_dir=" + data, "model_save_dir=" + save,
                            "num_classes=" + classes, "image_shape=[3, " + imageSize + ", " + imageSize + "]",
                            "model_name=" + model, "emb_size=128", "train_batch_size=" + batch, "train_epochs=1",
                            "with_test=false", "log_period=" + WINDOW, "lr=0.1", "scale_lr_by_batch=false", "scale=32",
                            "margin=0.3", "seed=" + seed));
                    LocalLauncher.train(cfg, w, null, null);
                    List<Double> rates = readWindows(save.resolve("metrics.jsonl"));
                    windows.get(w).addAll(rates);
                    double m = median(rates);
                    perRepeat.get(w).add(Stats.round(m, 2));
                    LOG.info("bench train: {} worker(s) {} images/s (median of {} windows)", w, fmt(m), rates.size());
                    return m;
                });
            }
            sides.add(() -> {
                JsonNode j = runBaseline(data, timedWindows);
                List<Double> rates = new ArrayList<>();
                j.get("window_images_per_sec").forEach(v -> rates.add(v.asDouble()));
                baseWindows.addAll(rates);
                double m = median(rates);
                baseRepeat.add(Stats.round(m, 2));
                gradNorm[0] = j.get("grad_norm").asDouble();
                baseRss[0] = Math.max(baseRss[0], j.get("peak_rss_mb").asDouble());
                faults.add(j.get("minor_faults_per_step").asDouble());
                cpu.add(j.get("cpu_ms_per_step").asDouble());
                LOG.info("bench train: bare backbone (child JVM) {} images/s (median of {} windows)", fmt(m), rates.size());
                return m;
            });
            Interleave.run(0, repeats, sides);
            double backbone = median(baseWindows);
            List<Run> runs = new ArrayList<>();
            for (int w : workers) {
                double ips = median(windows.get(w));
                runs.add(new Run(w, Stats.round(ips, 2), windows.get(w).size(), Spread.of(windows.get(w), 2),
                        perRepeat.get(w), Stats.round(ips / backbone, 3)));
            }
            print(new Result(BenchVersion.get(), model, imageSize, batch, classes, classes * perClass, ompThreads(),
                    Stats.round(backbone, 2), runs, Spread.of(baseWindows, 2), baseRepeat, "child_jvm", baselineInput,
                    baselineGrad, baselineGc, Stats.round(gradNorm[0], 6), Stats.round(baseRss[0], 1), Stats.round(median(faults), 1),
                    Stats.round(median(cpu), 1), backboneWarmup,
                    WINDOW, repeats, loadBefore, LoadAverage.oneMinute()));
            return 0;
        } finally {
            try (Stream<Path> s = Files.walk(tmp)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    /** One baseline child with the workers' JVM flags and environment; its last stdout line. */
    private JsonNode runBaseline(Path data, int timedWindows) throws java.io.IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(workerJvm());
        cmd.add(TrainBaselineChild.class.getName());
        for (Object a : new Object[] {model, imageSize, batch, 128, data, classes, seed, backboneWarmup, WINDOW,
            timedWindows, baselineInput, baselineGrad, baselineGc}) {
            cmd.add(String.valueOf(a));
        }
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD);
        // what LocalLauncher gives the first worker
        pb.environment().putIfAbsent(LocalLauncher.CPU_BACKEND_PRIORITY_ENV, "1000");
        if (System.getenv("OMP_NUM_THREADS") == null) {
            pb.environment().put("OMP_NUM_THREADS", Integer.toString(Runtime.getRuntime().availableProcessors()));
        }
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).trim();
        if (p.waitFor() != 0 || out.isEmpty()) {
            throw new IllegalStateException("bench train: the baseline child failed (exit " + p.exitValue() + "): " + out);
        }
        String[] lines = out.split("\n");
        return new ObjectMapper().readTree(lines[lines.length - 1]);
    }

    /** The java command and flags LocalLauncher starts a worker with (this JVM's, minus agents and debuggers). */
    static List<String> workerJvm() {
        return LocalLauncher.workerJvm();
    }

    private static double median(List<Double> l) {
        return Stats.median(l.stream().mapToDouble(Double::doubleValue).toArray());
    }

    /** samples_per_sec of every logged window after the first (JIT, graph building). */
    static List<Double> readWindows(Path metrics) throws java.io.IOException {
        ObjectMapper m = new ObjectMapper();
        List<Double> rates = new ArrayList<>();
        boolean first = true;
        for (String line : Files.readAllLines(metrics)) {
            JsonNode j = m.readTree(line);
            if (j.get("event").asText().equals("train")) {
                if (!first) {
                    rates.add(j.get("samples_per_sec").asDouble());
                }
                first = false;
            }
        }
        if (rates.isEmpty()) {
            throw new IllegalStateException("bench train: no timed windows in " + metrics + " (expected: more steps)");
        }
        return rates;
    }

    private void print(Result r) throws com.fasterxml.jackson.core.JsonProcessingException {
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(new ObjectMapper().writeValueAsString(r));
        } else {
            out.printf(Locale.ROOT, "plsc4j bench train (plsc4j %s): %s, %dx%d, global batch %d, %d classes, %d threads%n",
                    r.version(), r.model(), r.imageSize(), r.imageSize(), r.batch(), r.classes(), r.threads());
            out.printf(Locale.ROOT, "  %-22s %10s images/s   (windows %s..%s, %d)%n", "bare backbone (child JVM)",
                    fmt(r.backboneImagesPerSec()), fmt(r.backboneSpread().min()), fmt(r.backboneSpread().max()),
                    r.backboneSpread().n());
            for (Run run : r.runs()) {
                out.printf(Locale.ROOT, "  %-22s %10s images/s   (windows %s..%s, %d; %.2f of the bare backbone)%n",
                        run.workers() + " worker(s)", fmt(run.imagesPerSec()), fmt(run.spread().min()),
                        fmt(run.spread().max()), run.windows(), run.ratioVsBackbone());
            }
            out.printf(Locale.ROOT, "  %d repeats alternated; load average %.2f before, %.2f after%n", r.repeats(),
                    r.loadBefore(), r.loadAfter());
        }
        out.flush();
    }

    private void check(boolean ok, String message) {
        if (!ok) {
            throw new ParameterException(spec.commandLine(), message);
        }
    }

    private static int ompThreads() {
        String env = System.getenv("OMP_NUM_THREADS");
        return env != null ? Integer.parseInt(env.trim()) : Runtime.getRuntime().availableProcessors();
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.1f", v);
    }
}
