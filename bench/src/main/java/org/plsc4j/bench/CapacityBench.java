package org.plsc4j.bench;

import org.plsc4j.core.NativeBuild;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
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
import org.plsc4j.core.FcDtype;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code plsc4j bench capacity}: the largest class count whose FC trains a few steps within a memory
 * budget, for plsc4j (one rank, sampled, weights and momentum in {@code --fc-dtype}) and, in the same
 * run, for a DL4J {@code OutputLayer} of the same shape; prints both and their ratio.
 *
 * <p>Each probe is a child JVM ({@link CapacityProbe}) whose heap ({@code -Xmx}), direct memory and
 * JavaCPP limits ({@code org.bytedeco.javacpp.maxbytes}, {@code maxphysicalbytes}) add up to the
 * budget: ND4J allocates off-heap, so only these bound what the probe may use. The search starts at
 * the class count the memory formula predicts, then steps up or down and bisects until the bracket is
 * within {@code --precision}, at most {@code --max-probes} probes per implementation. Default budget:
 * the machine's memory minus 2 GiB for the OS.
 *
 * <p>Like for like (issue 13): the headline ratio compares plsc4j against a DL4J network storing in the
 * same type ({@code --fc-dtype float16}: DL4J's HALF network), and a second row compares float32 on
 * both sides ({@code float32_row}); the JSON names each side's storage type and each search's bracket
 * [largest that trained, smallest that did not], and says whether every bracket is within
 * {@code --precision}.
 */
@Command(name = "capacity", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Largest class count that trains within a memory budget: plsc4j against a DL4J OutputLayer.",
        description = {
            "Probes run in child JVMs limited to --memory-gib (heap + off-heap) that build the FC of C classes "
                + "and train --steps steps on random features and labels; success = exit 0. plsc4j: one rank, "
                + "ArcFace, sample ratio r, weights and momentum stored as --fc-dtype. DL4J: OutputLayer "
                + "softmax/MCXENT with Nesterovs, the same emb and batch.",
            "With --json exactly one JSON object is printed on stdout; progress goes to stderr.",
            ""})
public final class CapacityBench implements Callable<Integer> {

    private static final Logger LOG = LoggerFactory.getLogger(CapacityBench.class);
    private static final long MIB = 1L << 20;
    private static final long GIB = 1L << 30;

    @Spec
    CommandSpec spec;

    @Option(names = "--emb", defaultValue = "512", description = "Embedding size D (default: ${DEFAULT-VALUE}).")
    int emb;

    @Option(names = "--batch", defaultValue = "128", description = "Batch B (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--sample-ratio", defaultValue = "0.1", description = "plsc4j's sample ratio (default: ${DEFAULT-VALUE}).")
    double sampleRatio;

    @Option(names = "--fc-dtype", defaultValue = "float16", paramLabel = "float32|float16|bfloat16",
            description = "plsc4j's FC weights and momentum storage (default: ${DEFAULT-VALUE}).")
    String fcDtype;

    @Option(names = "--memory-gib", description = "Memory budget per probe in GiB (default: the machine's memory - 2).")
    Double memoryGib;

    @Option(names = "--steps", defaultValue = "10", description = "Training steps a probe must complete (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--max-probes", defaultValue = "8",
            description = "Probes per implementation and row (default: ${DEFAULT-VALUE}: enough to bracket within --precision).")
    int maxProbes;

    @Option(names = "--precision", defaultValue = "0.05",
            description = "Stop when (fail - ok) / ok is below this (default: ${DEFAULT-VALUE}).")
    double precision;

    @Option(names = "--probe-timeout-min", defaultValue = "30", description = "A probe taking longer fails (default: ${DEFAULT-VALUE}).")
    int probeTimeoutMin;

    @Option(names = "--no-dl4j", description = "Skip the DL4J search (its fields are null).")
    boolean noDl4j;

    @Option(names = "--start-classes",
            description = "First probe's class count of every search (default: what the memory formula predicts).")
    Integer startClasses;

    @Option(names = "--no-float32-row", description = "Skip the second row (float32 on both sides; float32_row is null).")
    boolean noFloat32Row;

    @Option(names = "--seed", defaultValue = "42", description = "Seed of inputs and weights (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--json", description = "Print one JSON object on stdout instead of a table.")
    boolean json;

    /** One probe. */
    @JsonPropertyOrder({"impl", "classes", "ok", "seconds", "init_ms", "step_ms", "exit", "dtype"})
    record Probe(@JsonProperty("impl") String impl, @JsonProperty("classes") int classes, @JsonProperty("ok") boolean ok,
                 @JsonProperty("seconds") double seconds, @JsonProperty("init_ms") Long initMs,
                 @JsonProperty("step_ms") Double stepMs, @JsonProperty("exit") String exit,
                 @JsonProperty("dtype") String dtype) {
    }

    /** One comparison: both sides' searches at given storage types. */
    @JsonInclude(JsonInclude.Include.ALWAYS)
    @JsonPropertyOrder({"plsc4j_dtype", "dl4j_dtype", "plsc4j_max_classes", "dl4j_max_classes", "ratio",
        "plsc4j_bracket", "dl4j_bracket", "ratio_low", "ratio_high", "bracketed"})
    record Row(@JsonProperty("plsc4j_dtype") String plsc4jDtype, @JsonProperty("dl4j_dtype") String dl4jDtype,
               @JsonProperty("plsc4j_max_classes") int plsc4jMaxClasses,
               @JsonProperty("dl4j_max_classes") Integer dl4jMaxClasses, @JsonProperty("ratio") Double ratio,
               @JsonProperty("plsc4j_bracket") List<Integer> plsc4jBracket,
               @JsonProperty("dl4j_bracket") List<Integer> dl4jBracket,
               @JsonProperty("ratio_low") Double ratioLow, @JsonProperty("ratio_high") Double ratioHigh,
               @JsonProperty("bracketed") boolean bracketed) {
    }

    /**
     * The result (the {@code --json} contract). Since issue 13 the headline fields compare the same
     * storage type on both sides ({@code plsc4j_dtype}, {@code dl4j_dtype}); {@code float32_row}
     * compares float32 on both sides.
     */
    @JsonInclude(JsonInclude.Include.ALWAYS)
    @JsonPropertyOrder({"version", "emb", "batch", "sample_ratio", "fc_dtype", "memory_gib", "steps",
        "plsc4j_max_classes", "dl4j_max_classes", "ratio", "plsc4j_step_ms", "dl4j_step_ms",
        "plsc4j_bytes_per_class", "probes", "plsc4j_dtype", "dl4j_dtype", "plsc4j_bracket", "dl4j_bracket",
        "ratio_low", "ratio_high", "bracketed", "precision", "float32_row", "load_before", "load_after"})
    record Result(@JsonProperty("version") String version, @JsonProperty("emb") int emb,
                  @JsonProperty("batch") int batch, @JsonProperty("sample_ratio") double sampleRatio,
                  @JsonProperty("fc_dtype") String fcDtype, @JsonProperty("memory_gib") double memoryGib,
                  @JsonProperty("steps") int steps, @JsonProperty("plsc4j_max_classes") int plsc4jMaxClasses,
                  @JsonProperty("dl4j_max_classes") Integer dl4jMaxClasses, @JsonProperty("ratio") Double ratio,
                  @JsonProperty("plsc4j_step_ms") Double plsc4jStepMs, @JsonProperty("dl4j_step_ms") Double dl4jStepMs,
                  @JsonProperty("plsc4j_bytes_per_class") double plsc4jBytesPerClass,
                  @JsonProperty("probes") List<Probe> probes,
                  @JsonProperty("plsc4j_dtype") String plsc4jDtype, @JsonProperty("dl4j_dtype") String dl4jDtype,
                  @JsonProperty("plsc4j_bracket") List<Integer> plsc4jBracket,
                  @JsonProperty("dl4j_bracket") List<Integer> dl4jBracket,
                  @JsonProperty("ratio_low") Double ratioLow, @JsonProperty("ratio_high") Double ratioHigh,
                  @JsonProperty("bracketed") boolean bracketed, @JsonProperty("precision") double precision,
                  @JsonProperty("float32_row") Row float32Row,
                  @JsonProperty("load_before") Double loadBefore, @JsonProperty("load_after") Double loadAfter) {
    }

    /** A search's outcome: the largest passing probe (or null) and the smallest failing class count (or null). */
    private record Bracket(Probe best, Integer fail) {
        List<Integer> list() {
            return java.util.Arrays.asList(best == null ? null : best.classes(), fail);
        }

        boolean within(double precision) {
            return best != null && fail != null && fail - best.classes() <= precision * best.classes();
        }
    }

    @Override
    public Integer call() throws Exception {
        check(emb >= 1, "emb : " + emb + " (expected: >= 1)");
        check(batch >= 1, "batch : " + batch + " (expected: >= 1)");
        check(sampleRatio > 0 && sampleRatio <= 1, "sample_ratio : " + sampleRatio + " (expected: 0 < x <= 1)");
        check(steps >= 1, "steps : " + steps + " (expected: >= 1)");
        check(maxProbes >= 1, "max_probes : " + maxProbes + " (expected: >= 1)");
        check(precision > 0, "precision : " + precision + " (expected: > 0)");
        check(startClasses == null || startClasses >= 1, "start_classes : " + startClasses + " (expected: >= 1)");
        FcDtype dtype;
        try {
            dtype = FcDtype.parse("fc_dtype", fcDtype);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        double gib = memoryGib != null ? memoryGib : Math.max(1, machineGib() - 2);
        check(gib >= 1, "memory_gib : " + gib + " (expected: >= 1)");
        Double loadBefore = LoadAverage.oneMinute();
        long budget = (long) (gib * GIB);
        List<Probe> probes = new ArrayList<>();
        Row head = row(dtype, budget, probes);
        Row f32 = noFloat32Row || dtype == FcDtype.FLOAT32 ? null : row(FcDtype.FLOAT32, budget, probes);
        Probe plsc = best(probes, "plsc4j", dtype, head.plsc4jMaxClasses());
        Probe dl4j = head.dl4jMaxClasses() == null ? null : best(probes, "dl4j", dtype, head.dl4jMaxClasses());
        Result r = new Result(BenchVersion.get(), emb, batch, sampleRatio, dtype.key(), gib, steps,
                head.plsc4jMaxClasses(), head.dl4jMaxClasses(), head.ratio(),
                plsc == null ? null : plsc.stepMs(), dl4j == null ? null : dl4j.stepMs(),
                Stats.round(plscPerClass(dtype), 1), probes, head.plsc4jDtype(), head.dl4jDtype(),
                head.plsc4jBracket(), head.dl4jBracket(), head.ratioLow(), head.ratioHigh(),
                head.bracketed() && (f32 == null || f32.bracketed()), precision, f32, loadBefore, LoadAverage.oneMinute());
        print(r);
        return 0;
    }

    private double plscPerClass(FcDtype dtype) {
        return 2.0 * emb * dtype.bytes() + 4 + 2.0 * 4 * batch * sampleRatio + 16;
    }

    /** plsc4j's and DL4J's searches, both storing in {@code dtype}. */
    private Row row(FcDtype dtype, long budget, List<Probe> probes) throws IOException {
        Bracket p = search("plsc4j", estimate(budget, plscPerClass(dtype)), budget, dtype, probes);
        Bracket d = null;
        if (!noDl4j) {
            double dl4jPerClass = (3.0 * (emb + 1) + 4.0 * batch) * dtype.bytes();
            d = search("dl4j", estimate(budget, dl4jPerClass), budget, dtype, probes);
        }
        int pMax = p.best() == null ? 0 : p.best().classes();
        Integer dMax = d == null ? null : d.best() == null ? 0 : d.best().classes();
        Double ratio = dMax == null || dMax == 0 ? null : Stats.round((double) pMax / dMax, 3);
        // the true maxima lie in [ok, fail): the ratio in (ok_p / fail_d, fail_p / ok_d)
        Double low = d == null || d.fail() == null ? null : Stats.round((double) pMax / d.fail(), 3);
        Double high = d == null || dMax == 0 || p.fail() == null ? null : Stats.round((double) p.fail() / dMax, 3);
        return new Row(dtype.key(), noDl4j ? null : dtype.key(), pMax, dMax, ratio, p.list(),
                d == null ? null : d.list(), low, high, p.within(precision) && (d == null || d.within(precision)));
    }

    private static Probe best(List<Probe> probes, String impl, FcDtype dtype, int classes) {
        return probes.stream().filter(p -> p.impl().equals(impl) && p.ok() && p.classes() == classes
                && dtype.key().equals(p.dtype())).findFirst().orElse(null);
    }

    private int estimate(long budget, double perClass) {
        if (startClasses != null) {
            return startClasses;
        }
        long usable = budget - Math.min(budget / 4, 768 * MIB); // JVM, heap slack, buffers
        return (int) Math.max(1000, Math.min(Integer.MAX_VALUE - 1, usable / perClass));
    }

    /** Brackets the largest class count that passes; returns its probe, or null when none passed. */
    private Bracket search(String impl, int start, long budget, FcDtype dtype, List<Probe> probes) throws IOException {
        Probe best = null;
        long hi = Long.MAX_VALUE;
        int c = round(start);
        for (int i = 0; i < maxProbes; i++) {
            Probe p = probe(impl, c, budget, dtype);
            probes.add(p);
            if (p.ok()) {
                best = p;
            } else {
                hi = c;
            }
            long lo = best == null ? 0 : best.classes();
            if (lo > 0 && hi != Long.MAX_VALUE && hi - lo <= precision * lo) {
                break;
            }
            long next = hi == Long.MAX_VALUE ? (long) (c * 1.25) : lo == 0 ? (long) (c * 0.7) : (lo + hi) / 2;
            next = Math.min(next, Integer.MAX_VALUE - 1);
            if (round((int) next) == c) {
                break;
            }
            c = round((int) next);
        }
        return new Bracket(best, hi == Long.MAX_VALUE ? null : (int) hi);
    }

    private static int round(int c) {
        int unit = c >= 1_000_000 ? 10_000 : c >= 10_000 ? 1000 : 1;
        return Math.max(1, c / unit * unit);
    }

    private Probe probe(String impl, int classes, long budget, FcDtype dtype) throws IOException {
        long heap = Math.max(256 * MIB, Math.min(1536 * MIB, budget / 8));
        long offHeap = Math.max(64 * MIB, budget - heap - 256 * MIB);
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx" + heap / MIB + "m");
        cmd.add("-XX:MaxDirectMemorySize=" + offHeap);
        cmd.add("-Dorg.bytedeco.javacpp.maxbytes=" + offHeap);
        cmd.add("-Dorg.bytedeco.javacpp.maxphysicalbytes=" + budget);
        cmd.addAll(NativeBuild.jvmArgs());
        cmd.add("-cp");
        cmd.add(absoluteClassPath());
        cmd.add(CapacityProbe.class.getName());
        for (Object a : new Object[] {impl, classes, emb, batch, sampleRatio, dtype.key(), steps, seed}) {
            cmd.add(String.valueOf(a));
        }
        LOG.info("capacity: {} with {} classes x {} ({}), budget {} MiB (heap {} MiB)", impl, classes, emb,
                dtype.key(), budget / MIB, heap / MIB);
        // the probe runs in a scratch directory: DL4J writes a crash dump into the working directory on OOM
        Path work = Files.createTempDirectory("plsc4j-capacity-");
        Path err = work.resolve("stderr.log");
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder(cmd).directory(work.toFile()).redirectError(err.toFile()).start();
        String out;
        String exit;
        try (InputStream in = p.getInputStream()) {
            boolean done = p.waitFor(probeTimeoutMin, TimeUnit.MINUTES);
            if (!done) {
                p.destroyForcibly();
                p.waitFor();
                exit = "timeout";
            } else {
                exit = p.exitValue() == 0 ? "ok" : p.exitValue() == CapacityProbe.EXIT_OOM ? "out_of_memory"
                        : "exit " + p.exitValue();
            }
            out = new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted during the probe of " + classes + " classes", e);
        }
        double seconds = Stats.round((System.nanoTime() - t0) / 1e9, 1);
        Long initMs = null;
        Double stepMs = null;
        boolean ok = exit.equals("ok") && out.startsWith("{");
        if (ok) {
            JsonNode n = new ObjectMapper().readTree(out.substring(out.lastIndexOf('{')));
            initMs = n.get("init_ms").asLong() < 0 ? null : n.get("init_ms").asLong();
            double[] ms = new double[n.get("step_ms").size()];
            for (int i = 0; i < ms.length; i++) {
                ms[i] = n.get("step_ms").get(i).asDouble();
            }
            // the first step allocates the step buffers: the median of the rest
            stepMs = Stats.round(Stats.median(ms.length > 1 ? java.util.Arrays.copyOfRange(ms, 1, ms.length) : ms), 1);
        } else if (exit.equals("ok")) {
            exit = "no result line";
        }
        if (!ok) {
            List<String> tail = Files.readAllLines(err, StandardCharsets.UTF_8);
            LOG.info("capacity: {} {} classes: {}; last stderr line: {}", impl, classes, exit,
                    tail.isEmpty() ? "-" : tail.get(tail.size() - 1));
        } else {
            LOG.info("capacity: {} {} classes: ok in {} s, step {} ms", impl, classes, seconds, stepMs);
        }
        try (var files = Files.list(work)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.deleteIfExists(f);
            }
        }
        Files.deleteIfExists(work);
        return new Probe(impl, classes, ok, seconds, initMs, stepMs, exit, dtype.key());
    }

    /** This JVM's class path with every entry absolute (the probe runs in another directory). */
    private static String absoluteClassPath() {
        StringBuilder sb = new StringBuilder();
        for (String e : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            if (e.isEmpty()) {
                continue;
            }
            if (sb.length() > 0) {
                sb.append(java.io.File.pathSeparatorChar);
            }
            sb.append(e.endsWith("*") ? Path.of(e.substring(0, e.length() - 1)).toAbsolutePath() + java.io.File.separator
                    + "*" : Path.of(e).toAbsolutePath().toString());
        }
        return sb.toString();
    }

    private static double machineGib() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024.0 / GIB;
                }
            }
        } catch (IOException | NumberFormatException e) {
            LOG.warn("cannot read /proc/meminfo ({}); pass --memory-gib", e.toString());
        }
        return 8;
    }

    private void check(boolean ok, String message) {
        if (!ok) {
            throw new ParameterException(spec.commandLine(), message);
        }
    }

    private void print(Result r) throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(new ObjectMapper().writeValueAsString(r));
            out.flush();
            return;
        }
        out.printf(Locale.ROOT, "plsc4j bench capacity (plsc4j %s)%n", r.version());
        out.printf(Locale.ROOT, "  emb %d, batch %d, sample_ratio %s, fc_dtype %s, budget %.1f GiB per probe, %d steps%n",
                r.emb(), r.batch(), r.sampleRatio(), r.fcDtype(), r.memoryGib(), r.steps());
        out.printf(Locale.ROOT, "  %-20s %12d   step %s ms%n", "plsc4j_max_classes", r.plsc4jMaxClasses(),
                r.plsc4jStepMs() == null ? "-" : r.plsc4jStepMs());
        out.printf(Locale.ROOT, "  %-20s %12s   step %s ms%n", "dl4j_max_classes",
                r.dl4jMaxClasses() == null ? "-" : r.dl4jMaxClasses(), r.dl4jStepMs() == null ? "-" : r.dl4jStepMs());
        out.printf(Locale.ROOT, "  %-20s %12s   (plsc4j %s vs DL4J %s; brackets %s / %s, ratio in [%s, %s])%n", "ratio",
                r.ratio() == null ? "-" : r.ratio() + "x", r.plsc4jDtype(), r.dl4jDtype(), r.plsc4jBracket(),
                r.dl4jBracket(), r.ratioLow(), r.ratioHigh());
        if (r.float32Row() != null) {
            Row f = r.float32Row();
            out.printf(Locale.ROOT, "  %-20s %12s   (plsc4j %d vs DL4J %s classes; brackets %s / %s)%n",
                    "float32 both sides", f.ratio() == null ? "-" : f.ratio() + "x", f.plsc4jMaxClasses(),
                    f.dl4jMaxClasses(), f.plsc4jBracket(), f.dl4jBracket());
        }
        out.printf(Locale.ROOT, "  brackets within %.0f %%: %s; load average %.2f before, %.2f after%n",
                r.precision() * 100, r.bracketed(), r.loadBefore(), r.loadAfter());
        for (Probe p : r.probes()) {
            out.printf(Locale.ROOT, "  probe %-6s %-8s %10d classes: %-13s %7.1f s%n", p.impl(), p.dtype(), p.classes(),
                    p.exit(), p.seconds());
        }
        out.flush();
    }
}
