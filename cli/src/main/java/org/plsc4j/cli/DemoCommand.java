package org.plsc4j.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.plsc4j.checkpoint.Checkpoints;
import org.plsc4j.core.TrainConfig;
import org.plsc4j.core.TrainConfigs;
import org.plsc4j.data.DatasetFormat;
import org.plsc4j.data.DatasetGenerator;
import org.plsc4j.data.GeneratorOptions;
import org.plsc4j.elastic.Jobs;
import org.plsc4j.elastic.LocalLauncher;
import org.plsc4j.worker.MetricsLog;
import org.plsc4j.worker.Trainer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code plsc4j demo}: the whole PLSC quick start on a fresh machine, nothing to download. Generates
 * a data set, trains it with dist_arcface on local worker processes, exports the inference model,
 * evaluates verification, and prints where everything is.
 *
 * <p>Why these settings: they are chosen so the demo finishes in a few minutes on 2 cores and still
 * shows learning (verification clearly above chance); every one can be changed by an option or by
 * running the printed {@code plsc4j train} command with the written job file.
 */
@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Generate a data set, train it on local workers (dist_arcface), export, evaluate.",
        description = {"Everything goes under --out; the job file it trained with is --out/job.yaml.", ""})
final class DemoCommand implements Callable<Integer> {

    private static final Logger LOG = LoggerFactory.getLogger(DemoCommand.class);

    @Spec
    CommandSpec spec;

    @Option(names = "--out", defaultValue = "work-dirs/demo", description = "Output directory (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--classes", defaultValue = "2000", description = "Classes (default: ${DEFAULT-VALUE}).")
    int classes;

    @Option(names = "--per-class", defaultValue = "4", description = "Training images per class (default: ${DEFAULT-VALUE}).")
    int perClass;

    @Option(names = "--image-size", defaultValue = "32", description = "Image side, pixels (default: ${DEFAULT-VALUE}).")
    int imageSize;

    @Option(names = "--pairs", defaultValue = "600", description = "Verification pairs (default: ${DEFAULT-VALUE}).")
    int pairs;

    @Option(names = "--epochs", defaultValue = "2", description = "Training epochs (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--workers", defaultValue = "2", description = "Local worker processes (default: ${DEFAULT-VALUE}).")
    int workers;

    @Option(names = "--model", defaultValue = "small", description = "model_name (default: ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--seed", defaultValue = "42", description = "Seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Override
    public Integer call() throws Exception {
        check(classes >= workers, "classes : " + classes + " (expected: >= workers = " + workers + ")");
        check(perClass >= 2, "per_class : " + perClass + " (expected: >= 2)");
        check(epochs >= 1, "epochs : " + epochs + " (expected: >= 1)");
        check(workers >= 1, "workers : " + workers + " (expected: >= 1)");
        Path data = out.resolve("data");
        Path save = out.resolve("output");
        if (Files.isRegularFile(data.resolve("label.txt")) && Files.isRegularFile(data.resolve("synth.bin"))) {
            LOG.info("demo: reusing the data set in {}", data);
        } else {
            LOG.info("demo: generating {} classes x {} images of {}x{} and {} verification pairs into {}", classes,
                    perClass, imageSize, imageSize, pairs, data);
            DatasetGenerator.generate(new GeneratorOptions(data, classes, perClass, imageSize, pairs, seed,
                    DatasetFormat.LABEL_TXT, 1, GeneratorOptions.DEFAULT_BIN));
        }
        if (Files.exists(save)) {
            throw new IllegalArgumentException("out : " + save + " exists (expected: a fresh --out, or remove it; "
                    + "checkpoints are never overwritten by the demo)");
        }
        List<String> sets = new ArrayList<>(List.of(
                "dataset_dir=" + data, "model_save_dir=" + save, "num_classes=" + classes,
                "image_shape=[3, " + imageSize + ", " + imageSize + "]", "model_name=" + model, "emb_size=128",
                "loss_type=dist_arcface", "margin=0.3", "scale=32", "train_batch_size=64", "lr=0.1",
                "scale_lr_by_batch=false", "momentum=0.9", "weight_decay=0.0005", "train_epochs=" + epochs,
                "lr_steps=[" + Math.max(1, (long) epochs * (classes * perClass / 64) * 2 / 3) + "]", "warmup_epochs=0",
                "val_targets=synth", "with_test=true", "test_batch_size=100", "calc_acc=true", "log_period=20",
                "seed=" + seed));
        TrainConfig cfg = TrainConfigs.load(null, sets);
        Files.createDirectories(out);
        Path jobFile = out.resolve("job.yaml");
        Files.writeString(jobFile, toYaml(sets));
        long t0 = System.nanoTime();
        if (workers == 1) {
            Jobs.trainInProcess(cfg, null, null);
        } else {
            LocalLauncher.train(cfg, workers, null, null);
        }
        double trainSecs = (System.nanoTime() - t0) / 1e9;
        Path checkpoint = Checkpoints.latest(save).orElseThrow(() -> new IllegalStateException("no checkpoint in " + save));
        Path exported = Jobs.export(checkpoint, out.resolve("inference"), null);
        TrainConfig testCfg = TrainConfigs.load(null, concat(sets, "checkpoint_dir=" + exported));
        Map<String, MetricsLog.EvalResult> results = Jobs.test(testCfg, null);
        MetricsLog.EvalResult r = results.get("synth");

        PrintWriter o = spec.commandLine().getOut();
        o.printf(Locale.ROOT, "plsc4j demo: %d classes, %d workers, %d epochs of %s + dist_arcface in %.0f s%n", classes,
                workers, epochs, model, trainSecs);
        o.printf(Locale.ROOT, "  verification (synth.bin, %d pairs): accuracy %.4f +- %.4f, VAL %.4f @ FAR %.4f%n",
                r.pairs(), r.accuracy(), r.accuracyStd(), r.val(), r.far());
        o.println("  data:        " + data);
        o.println("  job file:    " + jobFile + "   (./plsc4j train --config " + jobFile + " --workers " + workers + ")");
        o.println("  checkpoint:  " + checkpoint);
        o.println("  metrics:     " + save.resolve("metrics.jsonl"));
        o.println("  curves:      " + save.resolve(Trainer.CURVES_PNG));
        o.println("  inference:   " + exported + "   (./plsc4j test --config " + jobFile + " --checkpoint-dir " + exported
                + ")");
        o.flush();
        return 0;
    }

    private void check(boolean ok, String message) {
        if (!ok) {
            throw new ParameterException(spec.commandLine(), message);
        }
    }

    private static List<String> concat(List<String> a, String b) {
        List<String> l = new ArrayList<>(a);
        l.add(b);
        return l;
    }

    private static String toYaml(List<String> sets) {
        StringBuilder sb = new StringBuilder("# written by plsc4j demo\n");
        for (String s : sets) {
            int eq = s.indexOf('=');
            sb.append(s, 0, eq).append(": ").append(s.substring(eq + 1)).append('\n');
        }
        return sb.toString();
    }
}
