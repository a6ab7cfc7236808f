package org.plsc4j.worker;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code model_save_dir/metrics.jsonl}: one JSON object per line, appended and flushed as training
 * goes, so a crash loses nothing already logged and {@code tail -f}/pandas can read it live.
 *
 * <p>Why JSON lines with fixed names: it is a public contract scripts read. Every line has
 * {@code event} and {@code time}; {@code "train"} lines carry {@code step}, {@code epoch}, {@code loss},
 * {@code lr}, {@code samples_per_sec}, {@code world_size} and, with calc_acc, {@code acc1}/{@code acc5};
 * {@code "eval"} lines carry {@code step}, {@code epoch} and {@code targets}: per verification set
 * {@code accuracy}, {@code accuracy_std}, {@code val}, {@code val_std}, {@code far}, {@code pairs}. Names
 * are only ever added. The log also keeps the points in memory for the end-of-training plot.
 */
public final class MetricsLog implements AutoCloseable {

    /** The file's name in {@code model_save_dir}. */
    public static final String FILE_NAME = "metrics.jsonl";

    private static final ObjectMapper JSON = new ObjectMapper();

    /** One evaluated verification set. */
    public record EvalResult(double accuracy, double accuracyStd, double val, double valStd, double far, int pairs) {
    }

    /** A logged training step (for the plot). */
    public record TrainPoint(long step, double loss, double acc1) {
    }

    /** A logged evaluation (for the plot). */
    public record EvalPoint(long step, Map<String, Double> accuracy) {
    }

    private final Path file;
    private final BufferedWriter out;
    private final List<TrainPoint> train = new ArrayList<>();
    private final List<EvalPoint> evals = new ArrayList<>();

    private MetricsLog(Path file, BufferedWriter out) {
        this.file = file;
        this.out = out;
    }

    /** Opens (appending to) {@code dir/metrics.jsonl}, creating the directory. */
    public static MetricsLog open(Path dir) {
        try {
            Files.createDirectories(dir);
            Path f = dir.resolve(FILE_NAME);
            return new MetricsLog(f, Files.newBufferedWriter(f, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open metrics log in " + dir, e);
        }
    }

    /** The file written. */
    public Path file() {
        return file;
    }

    /** Logs a training step; {@code acc1}/{@code acc5} are omitted when NaN (calc_acc off). */
    public synchronized void train(long step, int epoch, double loss, double lr, double samplesPerSec, int worldSize,
                                   double acc1, double acc5) {
        train(step, epoch, loss, lr, samplesPerSec, worldSize, acc1, acc5, Double.NaN, -1);
    }

    /**
     * As {@link #train(long, int, double, double, double, int, double, double)} and, with loss scaling
     * (use_fp16), the loss scale of the next step and the number of steps skipped so far for Inf/NaN
     * gradients ({@code loss_scale}, {@code skipped_steps}; left out when {@code lossScale} is NaN).
     */
    public synchronized void train(long step, int epoch, double loss, double lr, double samplesPerSec, int worldSize,
                                   double acc1, double acc5, double lossScale, long skippedSteps) {
        ObjectNode n = line("train");
        n.put("step", step);
        n.put("epoch", epoch);
        n.put("loss", loss);
        n.put("lr", lr);
        n.put("samples_per_sec", samplesPerSec);
        n.put("world_size", worldSize);
        if (!Double.isNaN(acc1)) {
            n.put("acc1", acc1);
            n.put("acc5", acc5);
        }
        if (!Double.isNaN(lossScale)) {
            n.put("loss_scale", lossScale);
            n.put("skipped_steps", skippedSteps);
        }
        write(n);
        train.add(new TrainPoint(step, loss, acc1));
    }

    /** Logs one evaluation over the verification sets (name → result, in the order given). */
    public synchronized void eval(long step, int epoch, Map<String, EvalResult> results) {
        ObjectNode n = line("eval");
        n.put("step", step);
        n.put("epoch", epoch);
        ObjectNode targets = n.putObject("targets");
        Map<String, Double> acc = new LinkedHashMap<>();
        results.forEach((name, r) -> {
            ObjectNode t = targets.putObject(name);
            t.put("accuracy", r.accuracy());
            t.put("accuracy_std", r.accuracyStd());
            t.put("val", r.val());
            t.put("val_std", r.valStd());
            t.put("far", r.far());
            t.put("pairs", r.pairs());
            acc.put(name, r.accuracy());
        });
        write(n);
        evals.add(new EvalPoint(step, acc));
    }

    /** Logs a free-form event (e.g. a checkpoint written, a warm start) with the given fields. */
    public synchronized void event(String event, Map<String, ?> fields) {
        ObjectNode n = line(event);
        fields.forEach((k, v) -> n.set(k, JSON.valueToTree(v)));
        write(n);
    }

    /** Training points logged so far (a copy). */
    public synchronized List<TrainPoint> trainPoints() {
        return List.copyOf(train);
    }

    /** Evaluations logged so far (a copy). */
    public synchronized List<EvalPoint> evalPoints() {
        return List.copyOf(evals);
    }

    private static ObjectNode line(String event) {
        ObjectNode n = JSON.createObjectNode();
        n.put("event", event);
        n.put("time", Instant.now().toString());
        return n;
    }

    private void write(ObjectNode n) {
        try {
            out.write(JSON.writeValueAsString(n));
            out.newLine();
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    @Override
    public synchronized void close() {
        try {
            out.close();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot close " + file, e);
        }
    }
}
