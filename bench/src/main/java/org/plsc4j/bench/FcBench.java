package org.plsc4j.bench;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.OptionalLong;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionService;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorCompletionService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
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
import org.plsc4j.core.collective.CollectiveException;
import org.plsc4j.core.collective.Collectives;
import org.plsc4j.elastic.CudaDevice;
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
 * <p>Phases, in this order: sgemm 2048³; plsc4j with N ranks as threads of this JVM joined by the
 * in-process collective, each global step aligned by barriers; the peak RSS is read; plsc4j's arrays
 * are released; DL4J. With {@code --json} exactly one JSON object ({@link FcBenchResult}) goes to
 * stdout; progress is logged to stderr.
 */
@Command(name = "fc", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Time plsc4j's FC step against the sgemm roofline and a DL4J OutputLayer.",
        description = {
            "One FC step = normalise, matmul, ArcFace margin softmax (m2 = 0.5, s = 64), backward and "
                + "SGD-momentum update of the touched columns, on N ranks (threads of this JVM) joined by "
                + "the in-process collective. Measured in the same run: ND4J sgemm 2048^3 (the roofline "
                + "floor 6*B*D*S/rate) and a DL4J OutputLayer (softmax, MCXENT, Nesterovs) on the same inputs.",
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

    @Option(names = "--dl4j-steps", defaultValue = "3", description = "Timed DL4J fits, after one warm-up fit (default: ${DEFAULT-VALUE}).")
    int dl4jSteps;

    @Option(names = "--no-dl4j", description = "Skip the DL4J baseline (its fields are null).")
    boolean noDl4j;

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

    /** Per-rank record of the timed loop. */
    private record RankLog(double[] stepMs, double[] loss, int[] sampled, String engine) {
    }

    /** What the plsc4j phase produced. */
    private record Plsc4jRun(double[] stepMs, double[] loss, long[] sampled, String engine) {
    }

    @Override
    public Integer call() throws Exception {
        validate();
        Device dev = Device.parse(device);
        dev.check();
        FcEngine eng = FcEngine.parse(engine, "engine");
        System.setProperty(FcEngine.PROPERTY, eng.name().toLowerCase(Locale.ROOT)); // PartialFc.create's AUTO
        if (dev.isCuda()) {
            org.plsc4j.elastic.CudaDevice.select(dev);
        }
        Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);

        SplittableRandom rng = new SplittableRandom(seed);
        float[] features = new float[batch * emb];
        for (int i = 0; i < features.length; i++) {
            features[i] = (float) rng.nextGaussian();
        }
        int[] labels = new int[batch];
        for (int i = 0; i < batch; i++) {
            labels[i] = rng.nextInt(classes);
        }

        LOG.info("sgemm: {}^3 fp32, {} warm-up + {} timed runs", SGEMM_N, SGEMM_WARMUP, SGEMM_RUNS);
        double gflops = Sgemm.gflops(SGEMM_N, SGEMM_WARMUP, SGEMM_RUNS, seed);
        LOG.info("sgemm: {} GFLOP/s", String.format(Locale.ROOT, "%.1f", gflops));

        Plsc4jRun fc = runPlsc4j(features, labels);
        OptionalLong peakKb = ProcStatus.peakRssKb();
        long rssBefore = ProcStatus.rssKb().orElse(-1);
        releaseOffHeap();

        LOG.info("plsc4j: peak RSS {} MiB; RSS {} MiB at the end, {} MiB after release", mib(peakKb),
                rssBefore / 1024, ProcStatus.rssKb().orElse(-1) / 1024);

        double[] fcTimed = Arrays.copyOfRange(fc.stepMs(), warmup, warmup + steps);
        long[] sampledTimed = Arrays.copyOfRange(fc.sampled(), warmup, warmup + steps);
        double fcMs = Stats.median(fcTimed);
        long sampled = Stats.median(sampledTimed);
        double floorMs = 6.0 * batch * emb * sampled / (gflops * 1e9) * 1e3;

        Dl4jBaseline.Result dl4j = null;
        OptionalLong dl4jPeakKb = OptionalLong.empty();
        if (!noDl4j) {
            boolean reset = ProcStatus.resetPeakRss();
            LOG.info("dl4j: OutputLayer softmax/MCXENT {} -> {}, Nesterovs(lr={}, 0.9), batch {}", emb, classes, lr, batch);
            dl4j = Dl4jBaseline.run(features, labels, classes, emb, lr, seed, dl4jSteps);
            dl4jPeakKb = reset ? ProcStatus.peakRssKb() : OptionalLong.empty();
        }
        Double dl4jMs = dl4j == null ? null : Stats.median(dl4j.stepMs());

        FcBenchResult result = new FcBenchResult(
                BenchVersion.get(), classes, emb, batch, workers, sampleRatio, sampled, steps, warmup, seed, lr,
                ompThreads(),
                Stats.round(gflops, 2),
                Stats.round(fcMs, 3),
                rounded(fcTimed, 3),
                Stats.round(floorMs, 3),
                Stats.round(floorMs / fcMs, 4),
                dl4j == null ? null : dl4jSteps,
                dl4jMs == null ? null : Stats.round(dl4jMs, 3),
                dl4j == null ? null : rounded(dl4j.stepMs(), 3),
                dl4jMs == null ? null : Stats.round(dl4jMs / fcMs, 3),
                peakKb.isPresent() ? peakKb.getAsLong() / 1024 : null,
                dl4jPeakKb.isPresent() ? dl4jPeakKb.getAsLong() / 1024 : null,
                fc.loss()[0],
                fc.loss()[fc.loss().length - 1],
                dev.toString(),
                fc.engine());
        print(result);
        return 0;
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
        check(dl4jSteps >= 1, "dl4j_steps : " + dl4jSteps + " (expected: >= 1)");
        check(lr > 0 && Double.isFinite(lr), "lr : " + lr + " (expected: a finite value > 0)");
    }

    private void check(boolean ok, String message) {
        if (!ok) {
            throw new ParameterException(spec.commandLine(), message);
        }
    }

    /** Runs warmup + steps global steps on {@code workers} rank threads; rethrows the first rank failure with context. */
    private Plsc4jRun runPlsc4j(float[] features, int[] labels) throws InterruptedException {
        FcConfig config = FcConfig.builder()
                .numClasses(classes)
                .embSize(emb)
                .margin(MarginConfig.arcface(ARCFACE_M2, SCALE))
                .sampleRatio(sampleRatio)
                .seed(seed)
                .momentum(MOMENTUM)
                .build();
        String jobId = "bench-fc-" + UUID.randomUUID();
        int total = warmup + steps;
        int local = batch / workers;
        LOG.info("plsc4j: {} classes x {} over {} worker(s), batch {} ({} per worker), sample_ratio {}, {} warm-up + {} timed steps",
                classes, emb, workers, batch, local, sampleRatio, warmup, steps);

        // N rank threads each running OpenMP/BLAS regions would oversubscribe the cores (spinning
        // OpenMP barriers make that catastrophic): give each rank its share of the threads
        int perRank = Math.max(1, ompThreads() / workers);
        Nd4j.getEnvironment().setMaxThreads(perRank);
        Nd4j.factory().blas().setMaxThreads(perRank);

        AtomicInteger threadIds = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(workers, r -> {
            Thread t = new Thread(r, "plsc4j-rank-" + threadIds.getAndIncrement());
            t.setDaemon(true);
            return t;
        });
        CompletionService<RankLog> done = new ExecutorCompletionService<>(pool);
        List<Future<RankLog>> futures = new ArrayList<>();
        for (int r = 0; r < workers; r++) {
            int rank = r;
            futures.add(done.submit(() -> runRank(config, jobId, rank, features, labels, local, total)));
        }
        RankLog[] logs = new RankLog[workers];
        try {
            for (int i = 0; i < workers; i++) {
                Future<RankLog> f = done.take();
                RankLog log;
                try {
                    log = f.get();
                } catch (ExecutionException e) {
                    throw rankFailure(e.getCause());
                }
                logs[futures.indexOf(f)] = log;
            }
        } finally {
            for (Future<RankLog> f : futures) {
                f.cancel(true); // no-op for finished ranks; wakes ranks blocked on a dead peer
            }
            pool.shutdownNow();
            if (!pool.awaitTermination(COLLECTIVE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                LOG.warn("plsc4j: rank threads did not stop within {}", COLLECTIVE_TIMEOUT);
            }
            Nd4j.getEnvironment().setMaxThreads(ompThreads());
            Nd4j.factory().blas().setMaxThreads(ompThreads());
        }

        double[] stepMs = new double[total];
        long[] sampled = new long[total];
        for (int s = 0; s < total; s++) {
            for (RankLog log : logs) {
                stepMs[s] = Math.max(stepMs[s], log.stepMs()[s]);
                sampled[s] += log.sampled()[s];
            }
        }
        return new Plsc4jRun(stepMs, logs[0].loss(), sampled, logs[0].engine());
    }

    private RankLog runRank(FcConfig config, String jobId, int rank, float[] features, int[] labels,
                            int local, int total) {
        CollectiveConfig cc = CollectiveConfig.builder()
                .jobId(jobId)
                .rank(rank)
                .worldSize(workers)
                .timeout(COLLECTIVE_TIMEOUT)
                .build();
        double[] ms = new double[total];
        double[] loss = new double[total];
        int[] sampled = new int[total];
        String where = "in PartialFc.create";
        INDArray x = null;
        Object fc = null;
        try (Collective collective = Collectives.join("inprocess", cc)) {
            x = Nd4j.create(Arrays.copyOfRange(features, rank * local * emb, (rank + 1) * local * emb),
                    new long[] {local, emb}, 'c');
            int[] y = Arrays.copyOfRange(labels, rank * local, (rank + 1) * local);
            PartialFc partialFc = PartialFc.create(config, collective);
            fc = partialFc;
            for (int s = 0; s < total; s++) {
                where = "at step " + s;
                collective.barrier();
                long t0 = System.nanoTime();
                PartialFc.StepResult res = partialFc.step(x, y, lr, s);
                collective.barrier();
                ms[s] = Stats.ms(t0, System.nanoTime());
                loss[s] = res.loss();
                sampled[s] = res.sampledClasses();
                if (rank == 0) {
                    LOG.info("plsc4j: step {}/{}{} {} ms, loss {}", s + 1, total, s < warmup ? " (warm-up)" : "",
                            String.format(Locale.ROOT, "%.1f", ms[s]), String.format(Locale.ROOT, "%.4f", loss[s]));
                }
                Sgemm.close(res.featureGrad());
            }
            return new RankLog(ms, loss, sampled, partialFc.engine().name().toLowerCase(Locale.ROOT));
        } catch (RuntimeException e) {
            throw new RankFailure(rank, where, e);
        } finally {
            Sgemm.close(x);
            closeIfCloseable(fc);
        }
    }

    /** A rank's failure with where it happened; the message is one line for the CLI. */
    private static final class RankFailure extends RuntimeException {
        private static final long serialVersionUID = 1L;

        RankFailure(int rank, String where, RuntimeException cause) {
            super("rank " + rank + " " + where + ": " + describe(cause), cause);
        }
    }

    private static IllegalStateException rankFailure(Throwable cause) {
        if (cause instanceof RankFailure rf && rf.getCause() instanceof CollectiveException) {
            // a peer saw the group break; the rank that broke it reported first, but say what we know
            return new IllegalStateException("plsc4j FC phase failed: " + rf.getMessage(), rf);
        }
        String msg = cause instanceof RankFailure ? cause.getMessage() : describe(cause);
        return new IllegalStateException("plsc4j FC phase failed on " + msg, cause);
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

    /**
     * Lets the JVM free what the rank threads dropped, so that the DL4J phase starts without plsc4j's
     * arrays. ND4J frees native buffers on its own deallocator threads once the GC has found them
     * unreachable, so the RSS is watched (at most ~2 s) until it stops falling.
     */
    private static void releaseOffHeap() throws InterruptedException {
        System.gc();
        long prev = ProcStatus.rssKb().orElse(0);
        for (int i = 0; i < 40; i++) {
            TimeUnit.MILLISECONDS.sleep(50);
            long rss = ProcStatus.rssKb().orElse(0);
            if (i >= 3 && Math.abs(prev - rss) < 4096) {
                break;
            }
            prev = rss;
            if (i == 10) {
                System.gc();
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
        row(out, "fc_step_ms", fmt(r.fcStepMs(), 1), "plsc4j global step, median of " + r.steps());
        row(out, "floor_ms", fmt(r.floorMs(), 1), "6*B*D*S at the sgemm rate");
        row(out, "roofline_fraction", fmt(r.rooflineFraction(), 3), "floor_ms / fc_step_ms");
        row(out, "dl4j_step_ms", r.dl4jStepMs() == null ? "-" : fmt(r.dl4jStepMs(), 1),
                r.dl4jStepMs() == null ? "skipped (--no-dl4j)" : "DL4J OutputLayer fit, median of " + r.dl4jSteps());
        row(out, "speedup_vs_dl4j", r.speedupVsDl4j() == null ? "-" : fmt(r.speedupVsDl4j(), 2) + "x",
                "dl4j_step_ms / fc_step_ms");
        row(out, "peak_rss_mb", r.peakRssMb() == null ? "-" : r.peakRssMb().toString(), "VmHWM after the plsc4j phase");
        row(out, "dl4j_peak_rss_mb", r.dl4jPeakRssMb() == null ? "-" : r.dl4jPeakRssMb().toString(),
                "VmHWM of the DL4J phase");
        row(out, "loss", (r.lossFirst() == null ? "-" : fmt(r.lossFirst(), 4)) + " -> "
                + (r.lossLast() == null ? "-" : fmt(r.lossLast(), 4)), "first step -> last timed step");
        out.flush();
    }

    private static void row(PrintWriter out, String name, String value, String note) {
        out.printf(Locale.ROOT, "  %-18s %18s   %s%n", name, value, note);
    }

    private static String fmt(double v, int digits) {
        return String.format(Locale.ROOT, "%." + digits + "f", v);
    }
}
