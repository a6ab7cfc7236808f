package org.plsc4j.bench;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.core.TrainConfig;
import org.plsc4j.core.TrainConfigs;
import org.plsc4j.data.DatasetFormat;
import org.plsc4j.data.DatasetGenerator;
import org.plsc4j.data.GeneratorOptions;
import org.plsc4j.elastic.LocalLauncher;
import org.plsc4j.worker.Backbone;
import org.plsc4j.worker.BackboneConfig;
import org.plsc4j.worker.Backbones;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code plsc4j bench train}: end-to-end training throughput (images/s) with 1, 2, ... local worker
 * processes, against the bare backbone (forward + backward of the same model and batch in this JVM,
 * no data loading, no FC, no collective) measured in the same run.
 *
 * <p>Why that baseline: on a CPU the backbone is most of a step; the ratio says what data loading, the
 * sharded FC and the collectives add, and the 2-worker figure what splitting the batch over
 * processes on the same cores gains or costs. Worker throughput is read from the runs' own
 * {@code metrics.jsonl} ({@code samples_per_sec} of each logged window after the first).
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Training images/s with 1, 2, ... local workers against the bare backbone (same run).",
        description = {"Generates a data set in a temporary directory (removed afterwards), trains one epoch per worker"
            + " count with dist_arcface, reads samples_per_sec from metrics.jsonl.", ""})
public final class TrainBench implements Callable<Integer> {

    private static final Logger LOG = LoggerFactory.getLogger(TrainBench.class);

    /** Untimed bare-backbone steps before the timed ones. */
    static final int BACKBONE_WARMUP = 10;

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

    @Option(names = "--backbone-steps", defaultValue = "30", description = "Timed bare-backbone steps (default: ${DEFAULT-VALUE}).")
    int backboneSteps;

    @Option(names = "--backbone-warmup", defaultValue = "" + BACKBONE_WARMUP,
            description = "Untimed bare-backbone steps first (default: ${DEFAULT-VALUE}; ResNets on SameDiff: 1).")
    int backboneWarmup;

    @Option(names = "--seed", defaultValue = "42", description = "Seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--json", description = "Print one JSON object on stdout instead of a table.")
    boolean json;

    /** One worker count's result. */
    record Run(@JsonProperty("workers") int workers, @JsonProperty("images_per_sec") double imagesPerSec,
               @JsonProperty("windows") int windows) {
    }

    /** The --json object (field names are a public contract). */
    record Result(@JsonProperty("version") String version, @JsonProperty("model") String model,
                  @JsonProperty("image_size") int imageSize, @JsonProperty("batch") int batch,
                  @JsonProperty("classes") int classes, @JsonProperty("samples") int samples,
                  @JsonProperty("threads") int threads,
                  @JsonProperty("backbone_images_per_sec") double backboneImagesPerSec,
                  @JsonProperty("runs") List<Run> runs) {
    }

    @Override
    public Integer call() throws Exception {
        check(batch >= 1, "batch : " + batch + " (expected: >= 1)");
        check(!workers.isEmpty() && workers.stream().allMatch(w -> w >= 1 && batch % w == 0),
                "workers : " + workers + " (expected: counts >= 1 that divide --batch " + batch + ")");
        check(classes >= 2 && perClass >= 1 && (long) classes * perClass >= 3L * batch,
                "classes x per-class : " + classes + " x " + perClass + " (expected: at least 3 batches of " + batch + ")");
        Path tmp = Files.createTempDirectory("plsc4j-bench-train-");
        try {
            Path data = tmp.resolve("data");
            LOG.info("bench train: generating {} x {} images of {}px", classes, perClass, imageSize);
            DatasetGenerator.generate(new GeneratorOptions(data, classes, perClass, imageSize, 0, seed,
                    DatasetFormat.LABEL_TXT, 1, GeneratorOptions.DEFAULT_BIN));
            List<Run> runs = new ArrayList<>();
            for (int w : workers) {
                Path save = tmp.resolve("w" + w);
                TrainConfig cfg = TrainConfigs.load(null, List.of("dataset_dir=" + data, "model_save_dir=" + save,
                        "num_classes=" + classes, "image_shape=[3, " + imageSize + ", " + imageSize + "]",
                        "model_name=" + model, "emb_size=128", "train_batch_size=" + batch, "train_epochs=1",
                        "with_test=false", "log_period=5", "lr=0.1", "scale_lr_by_batch=false", "scale=32",
                        "margin=0.3", "seed=" + seed));
                LocalLauncher.train(cfg, w, null, null);
                runs.add(readRun(w, save.resolve("metrics.jsonl")));
                LOG.info("bench train: {} worker(s) {} images/s", w, fmt(runs.get(runs.size() - 1).imagesPerSec()));
            }
            // the bare backbone last: freed native memory stays in this process's allocator, and the
            // workers plan their micro-batches from the memory left free (a ResNet50 backbone held ~10 GB)
            double backbone = backboneImagesPerSec();
            LOG.info("bench train: bare backbone {} images/s", fmt(backbone));
            print(new Result(BenchVersion.get(), model, imageSize, batch, classes, classes * perClass, ompThreads(),
                    Stats.round(backbone, 2), runs));
            return 0;
        } finally {
            try (Stream<Path> s = Files.walk(tmp)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    /** Forward + backward of the bare backbone on random images, one process, the whole batch. */
    private double backboneImagesPerSec() {
        Backbone b = Backbones.create(model, BackboneConfig.of(128, 3, imageSize, imageSize, seed));
        INDArray x = Nd4j.rand(DataType.FLOAT, batch, 3, imageSize, imageSize).subi(0.5);
        INDArray g = Nd4j.rand(DataType.FLOAT, batch, 128).subi(0.5).muli(1e-3);
        for (int i = 0; i < backboneWarmup; i++) { // graph building and JIT: the first steps are several times slower
            b.forwardTrain(x, i);
            b.backward(g);
        }
        double[] ms = new double[backboneSteps];
        for (int i = 0; i < backboneSteps; i++) {
            long t0 = System.nanoTime();
            b.forwardTrain(x, 100 + i);
            b.backward(g);
            ms[i] = Stats.ms(t0, System.nanoTime());
        }
        return batch / (Stats.median(ms) / 1e3);
    }

    /** samples_per_sec of every logged window after the first (JIT, graph building), median. */
    private static Run readRun(int workers, Path metrics) throws java.io.IOException {
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
        return new Run(workers, Stats.round(Stats.median(rates.stream().mapToDouble(Double::doubleValue).toArray()), 2),
                rates.size());
    }

    private void print(Result r) throws com.fasterxml.jackson.core.JsonProcessingException {
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(new ObjectMapper().writeValueAsString(r));
        } else {
            out.printf(Locale.ROOT, "plsc4j bench train (plsc4j %s): %s, %dx%d, global batch %d, %d classes, %d threads%n",
                    r.version(), r.model(), r.imageSize(), r.imageSize(), r.batch(), r.classes(), r.threads());
            out.printf(Locale.ROOT, "  %-22s %10s images/s%n", "bare backbone", fmt(r.backboneImagesPerSec()));
            for (Run run : r.runs()) {
                out.printf(Locale.ROOT, "  %-22s %10s images/s   (%.2f of the bare backbone)%n",
                        run.workers() + " worker(s)", fmt(run.imagesPerSec()),
                        run.imagesPerSec() / r.backboneImagesPerSec());
            }
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
