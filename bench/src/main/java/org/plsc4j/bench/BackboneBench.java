package org.plsc4j.bench;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code plsc4j bench backbone}: the bare backbone's training (forward + backward from an upstream
 * embedding gradient + SGD momentum) and inference images/s and peak RSS, against the same
 * architecture in PyTorch ({@code torch_backbone.py}, layer for layer, parameter counts checked)
 * measured in the same run: rounds alternate a JVM child and a torch process, each with the same
 * warm-up, iterations, batch and OMP_NUM_THREADS; each side's figure is the median over all timed
 * iterations of all its rounds, its spread (max − min) / median.
 *
 * <p>Why separate processes: each side's peak RSS (VmHWM) is then its own, and neither warms the
 * other's caches or allocator.
 */
@Command(name = "backbone", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Bare backbone train/inference images/s and peak RSS against PyTorch (same run, alternated).",
        description = {"Runs --rounds x (one JVM child, one python3 torch process) on random images; needs python3"
            + " with torch for the comparison (apt-get install python3-torch), else the torch fields are null.", ""})
public final class BackboneBench implements Callable<Integer> {

    private static final Logger LOG = LoggerFactory.getLogger(BackboneBench.class);
    static final String SCRIPT = "torch_backbone.py";

    @Spec
    CommandSpec spec;

    @Option(names = "--model", defaultValue = "ResNet50", description = "model_name (default: ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--image-size", defaultValue = "112", description = "Image side (default: ${DEFAULT-VALUE}).")
    int imageSize;

    @Option(names = "--batch", defaultValue = "16", description = "Batch (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--emb-size", defaultValue = "512", description = "Embedding size (default: ${DEFAULT-VALUE}).")
    int embSize;

    @Option(names = "--warmup", defaultValue = "2", description = "Untimed iterations per process and phase (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--iterations", defaultValue = "5", description = "Timed iterations per process and phase (default: ${DEFAULT-VALUE}).")
    int iterations;

    @Option(names = "--rounds", defaultValue = "2", description = "Alternations JVM / torch (default: ${DEFAULT-VALUE}).")
    int rounds;

    @Option(names = "--threads", defaultValue = "2", description = "OMP_NUM_THREADS of both sides (default: ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--python", defaultValue = "/usr/bin/python3", description = "Python with torch (default: ${DEFAULT-VALUE}).")
    String python;

    @Option(names = "--seed", defaultValue = "42", description = "Seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--json", description = "Print one JSON object on stdout instead of a table.")
    boolean json;

    /** The --json object (field names are a public contract; torch fields are null without torch). */
    record Result(@JsonProperty("version") String version, @JsonProperty("model") String model,
                  @JsonProperty("image_size") int imageSize, @JsonProperty("batch") int batch,
                  @JsonProperty("emb_size") int embSize, @JsonProperty("threads") int threads,
                  @JsonProperty("warmup") int warmup, @JsonProperty("iterations") int iterations,
                  @JsonProperty("rounds") int rounds, @JsonProperty("native_build") String nativeBuild,
                  @JsonProperty("params") long params,
                  @JsonProperty("train_images_per_sec") double trainImagesPerSec,
                  @JsonProperty("train_spread") double trainSpread,
                  @JsonProperty("inference_images_per_sec") double inferenceImagesPerSec,
                  @JsonProperty("inference_spread") double inferenceSpread,
                  @JsonProperty("peak_rss_mb") double peakRssMb,
                  @JsonProperty("torch_version") String torchVersion,
                  @JsonProperty("torch_params") Long torchParams,
                  @JsonProperty("torch_train_images_per_sec") Double torchTrainImagesPerSec,
                  @JsonProperty("torch_train_spread") Double torchTrainSpread,
                  @JsonProperty("torch_inference_images_per_sec") Double torchInferenceImagesPerSec,
                  @JsonProperty("torch_inference_spread") Double torchInferenceSpread,
                  @JsonProperty("torch_peak_rss_mb") Double torchPeakRssMb,
                  @JsonProperty("train_ratio_vs_torch") Double trainRatioVsTorch,
                  @JsonProperty("inference_ratio_vs_torch") Double inferenceRatioVsTorch,
                  @JsonProperty("load_before") double loadBefore, @JsonProperty("load_after") double loadAfter) {
    }

    @Override
    public Integer call() throws Exception {
        check(batch >= 1 && imageSize >= 1 && embSize >= 1, "batch, image-size, emb-size : " + batch + ", " + imageSize
                + ", " + embSize + " (expected: >= 1)");
        check(warmup >= 0 && iterations >= 1 && rounds >= 1, "warmup, iterations, rounds : " + warmup + ", "
                + iterations + ", " + rounds + " (expected: >= 0, >= 1, >= 1)");
        check(threads >= 1, "threads : " + threads + " (expected: >= 1)");
        double loadBefore = loadAverage();
        String torchVersion = torchVersion();
        Path script = null;
        if (torchVersion == null) {
            LOG.warn("bench backbone: {} cannot import torch; the torch fields are null (install it: apt-get install"
                    + " python3-torch, or pass --python)", python);
        } else {
            script = Files.createTempFile("plsc4j-torch-backbone-", ".py");
            try (InputStream in = BackboneBench.class.getResourceAsStream(SCRIPT)) {
                Files.write(script, in.readAllBytes());
            }
        }
        try {
            List<Double> jTrain = new ArrayList<>();
            List<Double> jInfer = new ArrayList<>();
            List<Double> tTrain = new ArrayList<>();
            List<Double> tInfer = new ArrayList<>();
            double jRss = 0;
            double tRss = 0;
            long jParams = -1;
            long tParams = -1;
            String build = null;
            for (int r = 0; r < rounds; r++) {
                JsonNode j = run(jvmCommand(), "JVM child");
                jParams = j.get("params").asLong();
                build = j.get("native_build").asText();
                add(jTrain, j.get("train_ms"));
                add(jInfer, j.get("infer_ms"));
                jRss = Math.max(jRss, j.get("peak_rss_mb").asDouble());
                LOG.info("bench backbone round {}: plsc4j train {} ms, inference {} ms (median), peak {} MB", r,
                        fmt(median(j.get("train_ms"))), fmt(median(j.get("infer_ms"))), fmt(jRss));
                if (script != null) {
                    JsonNode t = run(List.of(python, script.toString(), model, Integer.toString(imageSize),
                            Integer.toString(batch), Integer.toString(embSize), Integer.toString(warmup),
                            Integer.toString(iterations), Long.toString(seed)), "torch process");
                    tParams = t.get("params").asLong();
                    if (tParams != jParams) {
                        throw new IllegalStateException("bench backbone: the PyTorch twin of " + model + " has " + tParams
                                + " parameters, plsc4j's " + jParams + " (expected: equal; " + SCRIPT
                                + " no longer mirrors the model)");
                    }
                    add(tTrain, t.get("train_ms"));
                    add(tInfer, t.get("infer_ms"));
                    tRss = Math.max(tRss, t.get("peak_rss_mb").asDouble());
                    LOG.info("bench backbone round {}: torch train {} ms, inference {} ms (median), peak {} MB", r,
                            fmt(median(t.get("train_ms"))), fmt(median(t.get("infer_ms"))), fmt(tRss));
                }
            }
            double jt = batch / (median(jTrain) / 1e3);
            double ji = batch / (median(jInfer) / 1e3);
            boolean torch = script != null;
            Double tt = torch ? batch / (median(tTrain) / 1e3) : null;
            Double ti = torch ? batch / (median(tInfer) / 1e3) : null;
            print(new Result(BenchVersion.get(), model, imageSize, batch, embSize, threads, warmup, iterations, rounds,
                    build, jParams, Stats.round(jt, 3), Stats.round(spread(jTrain), 3), Stats.round(ji, 3),
                    Stats.round(spread(jInfer), 3), Stats.round(jRss, 1), torchVersion, torch ? tParams : null,
                    torch ? Stats.round(tt, 3) : null, torch ? Stats.round(spread(tTrain), 3) : null,
                    torch ? Stats.round(ti, 3) : null, torch ? Stats.round(spread(tInfer), 3) : null,
                    torch ? Stats.round(tRss, 1) : null, torch ? Stats.round(jt / tt, 3) : null,
                    torch ? Stats.round(ji / ti, 3) : null, loadBefore, loadAverage()));
            return 0;
        } finally {
            if (script != null) {
                Files.deleteIfExists(script);
            }
        }
    }

    private List<String> jvmCommand() {
        List<String> args = new ArrayList<>();
        for (Object a : new Object[] {model, imageSize, batch, embSize, warmup, iterations, seed}) {
            args.add(String.valueOf(a));
        }
        return RankProcesses.javaCommand(BackboneBenchChild.class, args);
    }

    /** Runs a child with OMP_NUM_THREADS = --threads; its last stdout line is its JSON result. */
    private JsonNode run(List<String> cmd, String what) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD);
        pb.environment().put("OMP_NUM_THREADS", Integer.toString(threads));
        pb.environment().put("MKL_NUM_THREADS", Integer.toString(threads));
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        if (!p.waitFor(6, TimeUnit.HOURS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IllegalStateException("bench backbone: the " + what + " failed (exit " + p.exitValue() + "): "
                    + String.join(" ", cmd.subList(Math.max(0, cmd.size() - 8), cmd.size())) + " printed: " + out);
        }
        String[] lines = out.split("\n");
        return new ObjectMapper().readTree(lines[lines.length - 1]);
    }

    /** torch.__version__ of --python, or null when it cannot import torch. */
    private String torchVersion() {
        try {
            Process p = new ProcessBuilder(python, "-c", "import torch; print(torch.__version__)")
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String v = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            return p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0 && !v.isEmpty() ? v : null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** This process's peak resident set (VmHWM) in MB, or -1 when unknown. */
    static double peakRssMb() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (l.startsWith("VmHWM:")) {
                    return Long.parseLong(l.replaceAll("[^0-9]", "")) / 1024.0;
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    private static double loadAverage() {
        try {
            return Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+")[0]);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    private static void add(List<Double> to, JsonNode arr) {
        arr.forEach(v -> to.add(v.asDouble()));
    }

    private static double median(JsonNode arr) {
        List<Double> l = new ArrayList<>();
        add(l, arr);
        return median(l);
    }

    private static double median(List<Double> l) {
        return Stats.median(l.stream().mapToDouble(Double::doubleValue).toArray());
    }

    /** (max − min) / median of the per-iteration times. */
    private static double spread(List<Double> l) {
        double max = l.stream().mapToDouble(Double::doubleValue).max().orElse(0);
        double min = l.stream().mapToDouble(Double::doubleValue).min().orElse(0);
        return (max - min) / median(l);
    }

    private void print(Result r) throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(new ObjectMapper().writeValueAsString(r));
        } else {
            out.printf(Locale.ROOT, "plsc4j bench backbone (plsc4j %s): %s, %dx%d, batch %d, %d threads, nd4j build %s,"
                    + " %d rounds x %d iterations%n", r.version(), r.model(), r.imageSize(), r.imageSize(), r.batch(),
                    r.threads(), r.nativeBuild(), r.rounds(), r.iterations());
            out.printf(Locale.ROOT, "  %-8s train %9.3f images/s (spread %.2f), inference %9.3f images/s (spread %.2f),"
                    + " peak RSS %.0f MB%n", "plsc4j", r.trainImagesPerSec(), r.trainSpread(),
                    r.inferenceImagesPerSec(), r.inferenceSpread(), r.peakRssMb());
            if (r.torchTrainImagesPerSec() != null) {
                out.printf(Locale.ROOT, "  %-8s train %9.3f images/s (spread %.2f), inference %9.3f images/s (spread"
                        + " %.2f), peak RSS %.0f MB%n", "torch", r.torchTrainImagesPerSec(), r.torchTrainSpread(),
                        r.torchInferenceImagesPerSec(), r.torchInferenceSpread(), r.torchPeakRssMb());
                out.printf(Locale.ROOT, "  ratio vs torch: train %.3f, inference %.3f%n", r.trainRatioVsTorch(),
                        r.inferenceRatioVsTorch());
            } else {
                out.println("  torch: not measured (apt-get install python3-torch)");
            }
            out.printf(Locale.ROOT, "  load average %.2f before, %.2f after%n", r.loadBefore(), r.loadAfter());
        }
        out.flush();
    }

    private void check(boolean ok, String message) {
        if (!ok) {
            throw new ParameterException(spec.commandLine(), message);
        }
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.1f", v);
    }
}
