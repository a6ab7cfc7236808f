package org.plsc4j.bench;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.OptionalLong;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.core.Device;
import org.plsc4j.core.FcConfig;
import org.plsc4j.core.FcEngine;
import org.plsc4j.core.MarginConfig;
import org.plsc4j.core.PartialFc;
import org.plsc4j.core.collective.Collective;
import org.plsc4j.core.collective.CollectiveConfig;
import org.plsc4j.core.collective.Collectives;
import org.plsc4j.worker.TcpRendezvous;
import org.plsc4j.worker.internal.NettyCollective;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code plsc4j bench fc}: times plsc4j's sharded margin-softmax FC step and, in the same run and on
 * the same inputs, the two references that make the number meaningful: the machine's sgemm rate (the
 * roofline: an FC step is three B×D×S products) and a plain DL4J {@code OutputLayer} (what a JVM user
 * would otherwise write).
 *
 * <p>Order: the load average; sgemm 2048³; plsc4j's shards are created (N ranks as threads of this JVM
 * joined by the in-process collective) and, for the torch baseline, their initial rows written to a file
 * that {@code torch_fc.py} loads; then plsc4j and every baseline (DL4J in this JVM, PyTorch in its own
 * process) alternate step by step, in rotated order, each with the same warm-up and timed counts
 * ({@link Alternation}); the load average again. Every side's median comes with its min, max and
 * quartiles. With {@code --json} exactly one JSON object ({@link FcBenchResult}) goes to stdout;
 * progress is logged to stderr.
 */
@Command(name = "fc", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Time plsc4j's FC step against the sgemm roofline, a DL4J OutputLayer and PyTorch (alternated).",
        description = {
            "One FC step = normalise, matmul, ArcFace margin softmax (m2 = 0.5, s = 64), backward and "
                + "SGD-momentum update of the touched columns, on N ranks (threads of this JVM) joined by "
                + "the in-process collective. Measured in the same run: ND4J sgemm 2048^3 (the roofline "
                + "floor 6*B*D*S/rate), and alternated step by step with plsc4j on the same inputs, a DL4J OutputLayer"
                + " (softmax, MCXENT, Nesterovs) and with --baseline torch an arcface_torch-style Partial FC step in"
                + " PyTorch (same weights, margin, sampling ratio, SGD momentum and thread count).",
            "With --json exactly one JSON object is printed on stdout; progress goes to stderr.",
            ""})
public final class FcBench implements Callable<Integer> {

    private static final Logger LOG = LoggerFactory.getLogger(FcBench.class);

    static final int SGEMM_N = 2048;
    static final int SGEMM_WARMUP = 2;
    static final int SGEMM_RUNS = 5;
    static final double ARCFACE_M2 = 0.5;
    static final double SCALE = 64;
    static final double MOMENTUM = 0.9;
    static final Duration COLLECTIVE_TIMEOUT = Duration.ofMinutes(10);

    @Spec
    CommandSpec spec;

    @Option(names = "--classes", defaultValue = "100000", description = "Total number of classes C (default: ${DEFAULT-VALUE}).")
    int classes;

    @Option(names = "--emb", defaultValue = "512", description = "Embedding size D (default: ${DEFAULT-VALUE}).")
    int emb;

    @Option(names = "--batch", defaultValue = "128", description = "Global batch B over all workers (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--workers", defaultValue = "1", description = "Ranks N, threads of this JVM (default: ${DEFAULT-VALUE}).")
    int workers;

    @Option(names = "--sample-ratio", defaultValue = "1.0", description = "Partial FC sample ratio r in (0, 1] (default: ${DEFAULT-VALUE}).")
    double sampleRatio;

    @Option(names = "--steps", defaultValue = "5", description = "Timed steps K (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--warmup", defaultValue = "2", description = "Untimed warm-up steps (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--dl4j-steps",
            description = "Kept for compatibility and ignored: every baseline runs --warmup + --steps steps, alternated"
                + " with plsc4j's (a different value is logged as ignored).")
    Integer dl4jSteps;

    @Option(names = "--no-dl4j", description = "Skip the DL4J baseline (its fields are null).")
    boolean noDl4j;

    @Option(names = "--baseline", split = ",", defaultValue = "dl4j",
            description = "Baselines alternated with plsc4j step by step: dl4j, torch (arcface_torch-style Partial FC in"
                + " PyTorch, needs --python with torch, else its fields are null with torch_unavailable_reason),"
                + " dl4j,torch, or none (default: ${DEFAULT-VALUE}).")
    List<String> baselines;

    @Option(names = "--processes",
            description = "Ranks 1..N-1 in their own JVMs, joined to rank 0 (this JVM) by the Netty collective over"
                + " 127.0.0.1, instead of threads of this JVM joined by the in-process collective.")
    boolean processes;

    @Option(names = "--one-at-a-time",
            description = "Hold one side in memory at a time, for sizes where plsc4j and a baseline do not fit together"
                + " (1M classes with torch): in each of --rounds rounds every side is opened fresh from the same initial"
                + " weights, runs --warmup + --steps steps and is closed before the next side opens; the order rotates"
                + " per round. Default: all sides resident, alternated step by step.")
    boolean oneAtATime;

    @Option(names = "--rounds",
            description = "With --one-at-a-time: rounds, each running every side's warm-up and timed steps (default: 3)."
                + " Every side then has rounds * steps timed steps.")
    Integer rounds;

    @Option(names = "--python", defaultValue = "/usr/bin/python3",
            description = "Python with torch for --baseline torch (default: ${DEFAULT-VALUE}).")
    String python;

    @Option(names = "--lr", defaultValue = "0.1", description = "Learning rate of plsc4j and DL4J (default: ${DEFAULT-VALUE}).")
    double lr;

    @Option(names = "--seed", defaultValue = "42", description = "Seed of inputs, weights and sampling (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--json", description = "Print one JSON object on stdout instead of a table.")
    boolean json;

    @Option(names = "--device", defaultValue = "cpu",
            description = "cpu or cuda:K: the FC step's device (a -Pcuda build); ranks are threads on that one device"
                + " (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--engine", defaultValue = "auto",
            description = "FC step implementation: auto (ops on CUDA, fused on the CPU), fused or ops (default: ${DEFAULT-VALUE}).")
    String engine;

    @Override
    public Integer call() throws Exception {
        validate();
        Set<String> sides = baselineSet();
        Device dev = Device.parse(device);
        dev.check();
        FcEngine eng = FcEngine.parse(engine, "engine");
        System.setProperty(FcEngine.PROPERTY, eng.name().toLowerCase(Locale.ROOT)); // PartialFc.create's AUTO
        if (dev.isCuda()) {
            org.plsc4j.elastic.CudaDevice.select(dev);
        }
        Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);
        Double loadBefore = LoadAverage.oneMinute();
        String notice = dl4jStepsNotice();
        if (notice != null) {
            LOG.warn(notice);
        }
        LOG.info("load average before: {}", loadBefore);

        Inputs inputs = inputs(seed, batch, emb, classes);
        float[] features = inputs.features();
        int[] labels = inputs.labels();

        LOG.info("sgemm: {}^3 fp32, {} warm-up + {} timed runs", SGEMM_N, SGEMM_WARMUP, SGEMM_RUNS);
        double gflops = Sgemm.gflops(SGEMM_N, SGEMM_WARMUP, SGEMM_RUNS, seed);
        LOG.info("sgemm: {} GFLOP/s", String.format(Locale.ROOT, "%.1f", gflops));

        boolean useDl4j = sides.contains("dl4j");
        String torchReason = null;
        String torchVersion = null;
        if (!sides.contains("torch")) {
            torchReason = "not requested (--baseline torch)";
        } else {
            TorchFcBaseline.Probe probe = TorchFcBaseline.probe(python);
            torchVersion = probe.version();
            torchReason = probe.unavailableReason();
            if (torchReason != null) {
                LOG.warn("bench fc: {}; the torch fields are null (apt-get install python3-torch, or pass --python)",
                        torchReason);
            }
        }
        boolean useTorch = torchReason == null;
        List<String> ran = new ArrayList<>();
        for (String b : List.of("dl4j", "torch")) {
            if (b.equals("dl4j") ? useDl4j : useTorch) {
                ran.add(b);
            }
        }

        Path dir = useTorch ? Files.createTempDirectory("plsc4j-bench-fc-") : null;
        long rss0 = ProcStatus.rssKb().orElse(-1);
        FcConfig config = fcConfig();
        TorchFcBaseline.Settings torchSettings = new TorchFcBaseline.Settings(classes, emb, batch, sampleRatio, SCALE,
                ARCFACE_M2, lr, MOMENTUM, config.weightDecay(), ompThreads(), seed);
        int roundCount = oneAtATime ? (rounds == null ? 3 : rounds) : 1;
        Sides run;
        try {
            if (useTorch) {
                TorchFcBaseline.writeFloats(dir.resolve("features.f32"), features);
                TorchFcBaseline.writeInts(dir.resolve("labels.i32"), labels);
            }
            run = oneAtATime
                    ? runOneAtATime(roundCount, config, features, labels, rss0, useDl4j, dir, torchSettings)
                    : runTogether(config, features, labels, rss0, useDl4j, dir, torchSettings, ran);
        } finally {
            if (dir != null) {
                try (var files = Files.list(dir)) {
                    for (Path f : files.toList()) {
                        Files.deleteIfExists(f);
                    }
                }
                Files.deleteIfExists(dir);
            }
        }
        Alternation.Timings t = run.timings();
        Plsc4jSide fc = run.fc();
        Dl4jSide dl4j = run.dl4j();
        TorchFcBaseline torch = run.torch();
        Double loadAfter = LoadAverage.oneMinute();
        LOG.info("load average after: {}", loadAfter);

        double[] fcTimed = t.timed(0);
        Spread fcSpread = Spread.of(fcTimed);
        long[] sampledTimed = Arrays.copyOfRange(fc.sampled, warmup, warmup + steps); // the last round's (all equal)
        long sampled = Stats.median(sampledTimed);
        double fcMs = fcSpread.median();
        double floorMs = floorMs(batch, emb, sampled, gflops);
        double[] dl4jTimed = dl4j == null ? null : t.timed(1);
        Spread dl4jSpread = dl4jTimed == null ? null : Spread.of(dl4jTimed);
        double[] torchTimed = torch == null ? null : t.timed(t.names().indexOf("torch"));
        Spread torchSpread = torchTimed == null ? null : Spread.of(torchTimed);

        FcBenchDiscipline disc = new FcBenchDiscipline(true, ran, processes ? "netty" : "inprocess",
                Stats.round(fcSpread.min(), 3), Stats.round(fcSpread.max(), 3),
                Stats.round(fcSpread.q1(), 3), Stats.round(fcSpread.q3(), 3),
                dl4j == null ? null : warmup,
                dl4jSpread == null ? null : Stats.round(dl4jSpread.min(), 3),
                dl4jSpread == null ? null : Stats.round(dl4jSpread.max(), 3),
                dl4jSpread == null ? null : Stats.round(dl4jSpread.q1(), 3),
                dl4jSpread == null ? null : Stats.round(dl4jSpread.q3(), 3),
                torch == null ? null : torch.version(),
                torch == null ? null : torch.threads(),
                torch == null ? null : steps,
                torch == null ? null : warmup,
                torch == null ? null : Stats.median(torch.sampled().subList(warmup, warmup + steps).stream()
                        .mapToLong(Long::longValue).toArray()),
                torchSpread == null ? null : Stats.round(torchSpread.median(), 3),
                torchTimed == null ? null : rounded(torchTimed, 3),
                torchSpread == null ? null : Stats.round(torchSpread.min(), 3),
                torchSpread == null ? null : Stats.round(torchSpread.max(), 3),
                torchSpread == null ? null : Stats.round(torchSpread.q1(), 3),
                torchSpread == null ? null : Stats.round(torchSpread.q3(), 3),
                torch == null ? null : torch.losses().get(0),
                torch == null ? null : torch.losses().get(torch.losses().size() - 1),
                torch == null ? null : torch.peakRssMb(),
                torchSpread == null ? null : Stats.round(torchSpread.median() / fcMs, 3),
                torchReason, loadBefore, loadAfter, oneAtATime ? "round" : "step", roundCount);
        if (torch == null && torchVersion != null) {
            LOG.debug("torch {} was importable but did not run", torchVersion);
        }
        FcBenchResult result = new FcBenchResult(
                BenchVersion.get(), classes, emb, batch, workers, sampleRatio, sampled, steps, warmup, seed, lr,
                ompThreads(),
                Stats.round(gflops, 2),
                Stats.round(fcMs, 3),
                rounded(fcTimed, 3),
                Stats.round(floorMs, 3),
                Stats.round(floorMs / fcMs, 4),
                dl4j == null ? null : steps,
                dl4jSpread == null ? null : Stats.round(dl4jSpread.median(), 3),
                dl4jTimed == null ? null : rounded(dl4jTimed, 3),
                dl4jSpread == null ? null : Stats.round(dl4jSpread.median() / fcMs, 3),
                fc.peakKb.isPresent() ? fc.peakKb.getAsLong() / 1024 : null,
                dl4j == null || dl4j.peakKb.isEmpty() ? null : dl4j.peakKb.getAsLong() / 1024,
                fc.loss[0],
                fc.loss[fc.loss.length - 1],
                dev.toString(),
                fc.engineName,
                disc);
        print(result);
        return 0;
    }

    /** What a run left: every side's timings and its last (closed) instance, whose losses and counts it reports. */
    private record Sides(Alternation.Timings timings, Plsc4jSide fc, Dl4jSide dl4j, TorchFcBaseline torch) {
    }

    /** The default: every side resident for the whole run, alternated step by step ({@link Alternation}). */
    private Sides runTogether(FcConfig config, float[] features, int[] labels, long rss0, boolean useDl4j, Path dir,
            TorchFcBaseline.Settings ts, List<String> ran) throws Exception {
        Plsc4jSide fc = new Plsc4jSide(config, features, labels);
        Dl4jSide dl4j = useDl4j ? new Dl4jSide(features, labels, rss0) : null;
        TorchFcBaseline torch = null;
        try {
            fc.open(dir == null ? null : dir.resolve("weights.f32"));
            if (dir != null) {
                torch = TorchFcBaseline.start(python, dir.resolve("features.f32"), dir.resolve("labels.i32"),
                        dir.resolve("weights.f32"), ts);
                Files.deleteIfExists(dir.resolve("weights.f32")); // loaded: give the disk back
            }
            List<Alternation.Side> order = new ArrayList<>();
            order.add(fc);
            if (dl4j != null) {
                order.add(dl4j);
            }
            if (torch != null) {
                order.add(torchSide(torch));
            }
            LOG.info("alternating {} and {}: {} warm-up + {} timed steps each", "plsc4j", ran, warmup, steps);
            return new Sides(Alternation.run(order, warmup, steps, LOG), fc, dl4j, torch);
        } finally {
            if (torch != null) {
                torch.close();
            }
            if (dl4j != null) {
                dl4j.close();
            }
            fc.close();
        }
    }

    /**
     * {@code --one-at-a-time}: in each round every side is opened fresh (plsc4j's shards from the seed, so
     * the same initial weights every round; torch loads them from the file plsc4j's first round wrote),
     * runs its warm-up and timed steps alone and is closed before the next side opens, so that only one
     * side's memory is resident. The order rotates per round ({@link Alternation#order}); round 0 starts
     * with plsc4j, which writes the weights. Each side's timed steps are all its rounds' timed steps.
     */
    private Sides runOneAtATime(int count, FcConfig config, float[] features, int[] labels, long rss0,
            boolean useDl4j, Path dir, TorchFcBaseline.Settings ts) throws Exception {
        List<String> names = new ArrayList<>(List.of("plsc4j"));
        if (useDl4j) {
            names.add("dl4j");
        }
        if (dir != null) {
            names.add("torch");
        }
        List<double[]> timed = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            timed.add(new double[count * steps]);
        }
        Plsc4jSide fc = null;
        Dl4jSide dl4j = null;
        TorchFcBaseline torch = null;
        for (int round = 0; round < count; round++) {
            for (int k : Alternation.order(names.size(), round)) {
                String name = names.get(k);
                LOG.info("round {}/{}: {} alone, {} warm-up + {} timed steps (JVM RSS {} MiB)", round + 1, count, name,
                        warmup, steps, mib(ProcStatus.rssKb()));
                ProcStatus.resetPeakRss();
                Alternation.Side side;
                AutoCloseable resident;
                switch (name) {
                    case "plsc4j" -> {
                        fc = new Plsc4jSide(config, features, labels);
                        resident = fc;
                        fc.open(round == 0 && dir != null ? dir.resolve("weights.f32") : null);
                        side = fc;
                    }
                    case "dl4j" -> {
                        dl4j = new Dl4jSide(features, labels, rss0);
                        resident = dl4j;
                        side = dl4j;
                    }
                    default -> {
                        torch = TorchFcBaseline.start(python, dir.resolve("features.f32"), dir.resolve("labels.i32"),
                                dir.resolve("weights.f32"), ts);
                        resident = torch;
                        side = torchSide(torch);
                    }
                }
                try {
                    double[] ms = Alternation.run(List.of(side), warmup, steps, LOG).timed(0);
                    System.arraycopy(ms, 0, timed.get(k), round * steps, steps);
                } finally {
                    resident.close();
                }
            }
        }
        return new Sides(new Alternation.Timings(List.copyOf(names), timed, 0), fc, dl4j, torch);
    }

    private static Alternation.Side torchSide(TorchFcBaseline torch) {
        return new Alternation.Side() {
            @Override
            public String name() {
                return "torch";
            }

            @Override
            public double iteration(int index) throws Exception {
                return torch.step();
            }
        };
    }

    /**
     * The roofline floor of a step in milliseconds: its three B×D×S products (logits, dL/dx, dL/dW),
     * 2·B·D·S flops each, at the measured sgemm rate.
     */
    static double floorMs(int batch, int emb, long sampled, double gflops) {
        return 6.0 * batch * emb * sampled / (gflops * 1e9) * 1e3;
    }

    /** The benchmark's inputs: seeded Gaussian features [B, D] (row-major) and labels uniform in [0, C). */
    record Inputs(float[] features, int[] labels) {
    }

    /** The inputs of {@code seed} (every process of a run computes the same ones). */
    static Inputs inputs(long seed, int batch, int emb, int classes) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] features = new float[batch * emb];
        for (int i = 0; i < features.length; i++) {
            features[i] = (float) rng.nextGaussian();
        }
        int[] labels = new int[batch];
        for (int i = 0; i < batch; i++) {
            labels[i] = rng.nextInt(classes);
        }
        return new Inputs(features, labels);
    }

    private FcConfig fcConfig() {
        return fcConfig(classes, emb, sampleRatio, seed);
    }

    /** The FC of the benchmark: ArcFace (m2 0.5, s 64), SGD momentum 0.9, weight decay 5e-4. */
    static FcConfig fcConfig(int classes, int emb, double sampleRatio, long seed) {
        return FcConfig.builder()
                .numClasses(classes)
                .embSize(emb)
                .margin(MarginConfig.arcface(ARCFACE_M2, SCALE))
                .sampleRatio(sampleRatio)
                .seed(seed)
                .momentum(MOMENTUM)
                .build();
    }

    private Set<String> baselineSet() {
        Set<String> set = new LinkedHashSet<>();
        for (String b : baselines) {
            String k = b.trim().toLowerCase(Locale.ROOT);
            check(k.equals("dl4j") || k.equals("torch") || k.equals("none"),
                    "baseline : " + b + " (expected: dl4j, torch or none, comma-separated)");
            if (!k.equals("none")) {
                set.add(k);
            }
        }
        if (noDl4j) {
            set.remove("dl4j");
        }
        return set;
    }

    private void validate() {
        check(workers >= 1, "workers : " + workers + " (expected: >= 1)");
        check(classes >= workers, "classes : " + classes + " (expected: >= workers = " + workers + ")");
        check(emb >= 1, "emb : " + emb + " (expected: >= 1)");
        check(batch >= 1, "batch : " + batch + " (expected: >= 1)");
        check(batch % workers == 0, "batch : " + batch + " (expected: divisible by workers = " + workers + ")");
        check((long) batch * emb <= Integer.MAX_VALUE - 8,
                "batch : " + batch + " (expected: batch * emb <= 2^31 - 9, emb = " + emb + ")");
        check(sampleRatio > 0 && sampleRatio <= 1, "sample_ratio : " + sampleRatio + " (expected: 0 < x <= 1)");
        check(steps >= 1, "steps : " + steps + " (expected: >= 1)");
        check(warmup >= 0, "warmup : " + warmup + " (expected: >= 0)");
        check(lr > 0 && Double.isFinite(lr), "lr : " + lr + " (expected: a finite value > 0)");
        check(!processes || device.equals("cpu"), "device : " + device + " (expected: cpu with --processes)");
        check(rounds == null || oneAtATime, "rounds : " + rounds + " (expected: only with --one-at-a-time; without it"
                + " the sides alternate step by step in one round)");
        check(rounds == null || rounds >= 1, "rounds : " + rounds + " (expected: >= 1)");
    }

    /** The warning a script still passing an old {@code --dl4j-steps} gets, or null when there is nothing to say. */
    String dl4jStepsNotice() {
        return dl4jSteps == null || dl4jSteps == steps ? null
                : "--dl4j-steps " + dl4jSteps + " is ignored: DL4J now runs --steps = " + steps
                        + " timed steps, alternated with plsc4j's, with the same warm-up";
    }

    private void check(boolean ok, String message) {
        if (!ok) {
            throw new ParameterException(spec.commandLine(), message);
        }
    }

    /**
     * plsc4j's side: N ranks, threads of this JVM joined by the in-process collective, each owning a
     * PartialFc shard for the whole run; one iteration is one global step (the wall time from the ranks'
     * common start to the last rank's return). Its peak RSS is read after its first step, before any
     * baseline has allocated anything.
     */
    private final class Plsc4jSide implements Alternation.Side, AutoCloseable {
        private final FcConfig config;
        private final float[] features;
        private final int[] labels;
        private final int local;
        private final int perRank;
        private final RankThreads threads;
        private final Collective[] collectives;
        private final PartialFc[] fcs;
        private final INDArray[] xs;
        private final double[] loss;
        private final long[] sampled;
        private final String[] engines;
        private String engineName;
        private OptionalLong peakKb = OptionalLong.empty();
        /** With --processes: the rendezvous of the Netty group and ranks 1..N-1's JVMs (rank 0 runs here). */
        private TcpRendezvous.Server server;
        private RankProcesses children;

        Plsc4jSide(FcConfig config, float[] features, int[] labels) {
            this.config = config;
            this.features = features;
            this.labels = labels;
            this.local = batch / workers;
            // N rank threads each running OpenMP/BLAS regions would oversubscribe the cores (spinning
            // OpenMP barriers make that catastrophic): give each rank its share of the threads
            this.perRank = Math.max(1, ompThreads() / workers);
            this.threads = new RankThreads("plsc4j-rank-", workers);
            this.collectives = new Collective[workers];
            this.fcs = new PartialFc[workers];
            this.xs = new INDArray[workers];
            this.loss = new double[warmup + steps];
            this.sampled = new long[warmup + steps];
            this.engines = new String[workers];
        }

        /** Joins the ranks and creates their shards; writes each shard's initial rows to {@code weights} if given. */
        void open(Path weights) throws Exception {
            LOG.info("plsc4j: {} classes x {} over {} worker(s), batch {} ({} per worker), sample_ratio {}",
                    classes, emb, workers, batch, local, sampleRatio);
            String jobId = "bench-fc-" + UUID.randomUUID();
            if (processes) {
                openProcesses(jobId, weights);
                return;
            }
            threads.runAll(rank -> {
                CollectiveConfig cc = CollectiveConfig.builder().jobId(jobId).rank(rank).worldSize(workers)
                        .timeout(COLLECTIVE_TIMEOUT).build();
                collectives[rank] = Collectives.join("inprocess", cc);
                xs[rank] = Nd4j.create(Arrays.copyOfRange(features, rank * local * emb, (rank + 1) * local * emb),
                        new long[] {local, emb}, 'c');
                fcs[rank] = PartialFc.create(config, collectives[rank]);
                engines[rank] = fcs[rank].engine().name().toLowerCase(Locale.ROOT);
                if (weights != null) {
                    TorchFcBaseline.writeRows(weights, fcs[rank].weights(), fcs[rank].layout().start(rank));
                }
            });
            engineName = engines[0];
        }

        /** Rank 0 here, ranks 1..N-1 in child JVMs ({@link FcBenchRank}), all joined by the Netty collective. */
        private void openProcesses(String jobId, Path weights) throws Exception {
            String token = UUID.randomUUID().toString();
            server = TcpRendezvous.Server.start("127.0.0.1", 0, jobId, token);
            List<List<String>> cmds = new ArrayList<>();
            for (int r = 1; r < workers; r++) {
                cmds.add(RankProcesses.javaCommand(FcBenchRank.class, List.of(Integer.toString(classes),
                        Integer.toString(emb), Integer.toString(batch), Integer.toString(workers), Integer.toString(r),
                        Double.toString(sampleRatio), Double.toString(lr), Long.toString(seed), server.address(), jobId,
                        token, weights == null ? "-" : weights.toString())));
            }
            String t = Integer.toString(perRank);
            children = RankProcesses.start(cmds, Map.of("OMP_NUM_THREADS", t, "MKL_NUM_THREADS", t), FcBenchRank.PREFIX);
            CollectiveConfig cc = CollectiveConfig.builder().jobId(jobId).token(token).rank(0).worldSize(workers)
                    .timeout(COLLECTIVE_TIMEOUT).rendezvous(TcpRendezvous.parse(server.address(), jobId, token)).build();
            NettyCollective c = NettyCollective.join(cc); // returns once every rank has joined
            collectives[0] = c;
            xs[0] = Nd4j.create(Arrays.copyOfRange(features, 0, local * emb), new long[] {local, emb}, 'c');
            fcs[0] = PartialFc.create(config, c);
            if (weights != null) {
                TorchFcBaseline.writeRows(weights, fcs[0].weights(), fcs[0].layout().start(0));
            }
            engineName = fcs[0].engine().name().toLowerCase(Locale.ROOT);
            for (JsonNode ready : children.readAll()) { // each has built (and written) its shard
                if (!engineName.equals(ready.get("engine").asText())) {
                    throw new IllegalStateException("engine : a child runs " + ready.get("engine").asText()
                            + " (expected: " + engineName + " as rank 0)");
                }
            }
            LOG.info("plsc4j: {} ranks in {} processes joined by the Netty collective ({})", workers, workers,
                    c.transport().label());
        }

        /** One global step on the rank threads: from their common start to the last one's return. */
        private double iterationThreads(int index) throws Exception {
            double[] rankLoss = new double[workers];
            long[] rankSampled = new long[workers];
            double ms = threads.runAll(rank -> {
                int[] y = Arrays.copyOfRange(labels, rank * local, (rank + 1) * local);
                PartialFc.StepResult res = fcs[rank].step(xs[rank], y, lr, index);
                rankLoss[rank] = res.loss();
                rankSampled[rank] = res.sampledClasses();
                Sgemm.close(res.featureGrad());
            });
            loss[index] = rankLoss[0];
            sampled[index] = Arrays.stream(rankSampled).sum();
            return ms;
        }

        /** One global step with --processes: every rank's own step time, the slowest being the step's. */
        private double iterationProcesses(int index) throws Exception {
            children.sendAll("step " + index);
            long t0 = System.nanoTime();
            PartialFc.StepResult res = fcs[0].step(xs[0], Arrays.copyOfRange(labels, 0, local), lr, index);
            double ms = Stats.ms(t0, System.nanoTime());
            Sgemm.close(res.featureGrad());
            long total = res.sampledClasses();
            for (JsonNode r : children.readAll()) {
                ms = Math.max(ms, r.get("ms").asDouble());
                total += r.get("sampled").asLong();
            }
            loss[index] = res.loss();
            sampled[index] = total;
            return ms;
        }

        @Override
        public String name() {
            return "plsc4j";
        }

        @Override
        public double iteration(int index) throws Exception {
            Nd4j.getEnvironment().setMaxThreads(perRank);
            Nd4j.factory().blas().setMaxThreads(perRank);
            double ms;
            try {
                ms = processes ? iterationProcesses(index) : iterationThreads(index);
            } finally {
                Nd4j.getEnvironment().setMaxThreads(ompThreads());
                Nd4j.factory().blas().setMaxThreads(ompThreads());
            }
            if (index == 0) {
                peakKb = ProcStatus.peakRssKb();
                LOG.info("plsc4j: peak RSS {} MiB after the first step", mib(peakKb));
            }
            LOG.info("plsc4j: step {} loss {}", index, String.format(Locale.ROOT, "%.4f", loss[index]));
            return ms;
        }

        @Override
        public void close() {
            if (processes) {
                if (children != null) {
                    children.close();
                }
                Sgemm.close(xs[0]);
                closeIfCloseable(fcs[0]);
                closeIfCloseable(collectives[0]);
                closeIfCloseable(server);
                threads.close();
                return;
            }
            try {
                threads.runAll(rank -> {
                    Sgemm.close(xs[rank]);
                    closeIfCloseable(fcs[rank]);
                    closeIfCloseable(collectives[rank]);
                });
            } catch (Exception e) {
                LOG.warn("plsc4j: closing the ranks failed: {}", describe(e));
            } finally {
                threads.close();
            }
        }
    }

    /**
     * DL4J's side: the OutputLayer is built at its first iteration; its peak RSS is what it added to the
     * JVM during that build and first fit (the peak is reset before), on top of the JVM's RSS before
     * any side existed: what DL4J alone would have peaked at.
     */
    private final class Dl4jSide implements Alternation.Side, AutoCloseable {
        private final float[] features;
        private final int[] labels;
        private final long rssBase;
        private Dl4jBaseline.Session session;
        private OptionalLong peakKb = OptionalLong.empty();

        Dl4jSide(float[] features, int[] labels, long rssBase) {
            this.features = features;
            this.labels = labels;
            this.rssBase = rssBase;
        }

        @Override
        public String name() {
            return "dl4j";
        }

        @Override
        public double iteration(int index) {
            boolean first = session == null;
            boolean reset = false;
            long before = -1;
            if (first) {
                reset = ProcStatus.resetPeakRss();
                before = ProcStatus.rssKb().orElse(-1);
                LOG.info("dl4j: OutputLayer softmax/MCXENT {} -> {}, Nesterovs(lr={}, 0.9), batch {}", emb, classes,
                        lr, batch);
                session = Dl4jBaseline.Session.open(features, labels, classes, emb, lr, seed);
            }
            double ms = session.fit();
            if (first && reset && before >= 0 && rssBase >= 0) {
                OptionalLong peak = ProcStatus.peakRssKb();
                if (peak.isPresent()) {
                    peakKb = OptionalLong.of(peak.getAsLong() - before + rssBase);
                }
            }
            return ms;
        }

        @Override
        public void close() {
            if (session != null) {
                session.close();
                session = null;
            }
        }
    }

    /** {@code SimpleName: first line of the message}. */
    static String describe(Throwable t) {
        String m = t.getMessage();
        String first = m == null ? "" : m.lines().findFirst().orElse("");
        return t.getClass().getSimpleName() + (first.isEmpty() ? "" : ": " + first);
    }

    private static void closeIfCloseable(Object o) {
        if (o instanceof AutoCloseable c) {
            try {
                c.close();
            } catch (Exception e) {
                LOG.warn("plsc4j: closing {} failed: {}", o.getClass().getSimpleName(), describe(e));
            }
        }
    }

    private static String mib(OptionalLong kb) {
        return kb.isPresent() ? Long.toString(kb.getAsLong() / 1024) : "?";
    }

    private static int ompThreads() {
        String env = System.getenv("OMP_NUM_THREADS");
        if (env != null) {
            try {
                return Integer.parseInt(env.trim());
            } catch (NumberFormatException e) {
                LOG.warn("OMP_NUM_THREADS : {} (expected: an integer); reporting the core count", env);
            }
        }
        return Runtime.getRuntime().availableProcessors();
    }

    private static List<Double> rounded(double[] values, int digits) {
        List<Double> out = new ArrayList<>(values.length);
        for (double v : values) {
            out.add(Stats.round(v, digits));
        }
        return out;
    }

    private void print(FcBenchResult r) throws JsonProcessingException {
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(new ObjectMapper().writeValueAsString(r));
            out.flush();
            return;
        }
        out.printf(Locale.ROOT, "plsc4j bench fc (plsc4j %s)%n", r.version());
        out.printf(Locale.ROOT, "  classes %d, emb %d, batch %d, workers %d, sample_ratio %s, sampled_classes %d, threads %d%n",
                r.classes(), r.emb(), r.batch(), r.workers(), r.sampleRatio(), r.sampledClasses(), r.threads());
        row(out, "sgemm_gflops", fmt(r.sgemmGflops(), 1), "ND4J fp32 gemm 2048^3, median of " + SGEMM_RUNS);
        FcBenchDiscipline d = r.discipline();
        row(out, "fc_step_ms", fmt(r.fcStepMs(), 1), "plsc4j global step, median of " + r.steps()
                + " (min " + fmt(d.fcStepMsMin(), 1) + ", max " + fmt(d.fcStepMsMax(), 1) + ")");
        row(out, "floor_ms", fmt(r.floorMs(), 1), "6*B*D*S at the sgemm rate");
        row(out, "roofline_fraction", fmt(r.rooflineFraction(), 3), "floor_ms / fc_step_ms");
        row(out, "dl4j_step_ms", r.dl4jStepMs() == null ? "-" : fmt(r.dl4jStepMs(), 1),
                r.dl4jStepMs() == null ? "not run (--baseline dl4j)" : "DL4J OutputLayer fit, median of " + r.dl4jSteps()
                        + " (min " + fmt(d.dl4jStepMsMin(), 1) + ", max " + fmt(d.dl4jStepMsMax(), 1) + ")");
        row(out, "speedup_vs_dl4j", r.speedupVsDl4j() == null ? "-" : fmt(r.speedupVsDl4j(), 2) + "x",
                "dl4j_step_ms / fc_step_ms");
        row(out, "torch_step_ms", d.torchStepMs() == null ? "-" : fmt(d.torchStepMs(), 1),
                d.torchStepMs() == null ? d.torchUnavailableReason() : "arcface_torch-style step (torch "
                        + d.torchVersion() + "), median of " + d.torchSteps() + " (min " + fmt(d.torchStepMsMin(), 1)
                        + ", max " + fmt(d.torchStepMsMax(), 1) + ")");
        row(out, "speedup_vs_torch", d.speedupVsTorch() == null ? "-" : fmt(d.speedupVsTorch(), 2) + "x",
                "torch_step_ms / fc_step_ms");
        row(out, "peak_rss_mb", r.peakRssMb() == null ? "-" : r.peakRssMb().toString(), "VmHWM after plsc4j's first step (rank 0's JVM)");
        row(out, "dl4j_peak_rss_mb", r.dl4jPeakRssMb() == null ? "-" : r.dl4jPeakRssMb().toString(),
                "DL4J alone: JVM RSS before any side + its peak rise");
        row(out, "loss", (r.lossFirst() == null ? "-" : fmt(r.lossFirst(), 4)) + " -> "
                + (r.lossLast() == null ? "-" : fmt(r.lossLast(), 4)), "first step -> last timed step");
        if (d.torchLossFirst() != null) {
            row(out, "torch_loss", fmt(d.torchLossFirst(), 4) + " -> " + (d.torchLossLast() == null ? "-"
                    : fmt(d.torchLossLast(), 4)), "first step -> last timed step");
        }
        row(out, "load_average", (d.loadAverageBefore() == null ? "-" : fmt(d.loadAverageBefore(), 2)) + " -> "
                + (d.loadAverageAfter() == null ? "-" : fmt(d.loadAverageAfter(), 2)), "1-minute, before -> after; "
                + "sides alternated step by step");
        out.flush();
    }

    private static void row(PrintWriter out, String name, String value, String note) {
        out.printf(Locale.ROOT, "  %-18s %18s   %s%n", name, value, note);
    }

    private static String fmt(double v, int digits) {
        return String.format(Locale.ROOT, "%." + digits + "f", v);
    }
}
