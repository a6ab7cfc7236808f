package org.plsc4j.examples;

import org.plsc4j.core.NativeBuild;
import java.nio.file.Path;
import java.util.Map;
import org.plsc4j.Entry;
import org.plsc4j.data.DatasetGenerator;
import org.plsc4j.data.GeneratorOptions;
import org.plsc4j.worker.MetricsLog;

/**
 * Trains {@link TinyConvNet} — a user-defined backbone — with the sharded ArcFace head on a generated
 * data set, evaluates it and exports it, with {@code model.onnx}, to {@code output/inference}: PLSC's
 * "custom model" walkthrough, end to end.
 *
 * <pre>
 *   java ... org.plsc4j.examples.CustomModelExample [out-dir] [classes] [per-class] [epochs] [workers]
 * </pre>
 * Defaults: work-dirs/custom-model, 200 classes, 6 images each, 3 epochs, 1 worker.
 */
public final class CustomModelExample {

    private CustomModelExample() {
    }

    /** Runs the example; returns the verification results (for the test that runs it in CI). */
    public static Map<String, MetricsLog.EvalResult> run(Path out, int classes, int perClass, int epochs, int workers)
            throws Exception {
        Path data = out.resolve("data");
        DatasetGenerator.generate(GeneratorOptions.of(data, classes, perClass).withImageSize(32).withPairs(200));
        Entry ins = new Entry()
                .setModel(new TinyConvNet())
                .setDatasetDir(data.toString())
                .setModelSaveDir(out.resolve("output").toString())
                .setClassNum(classes)
                .setEmbSize(64)
                .setImageShape(3, 32, 32)
                .setLossType("dist_arcface")
                .setMargin(0.3)
                .setScale(32)
                .setTrainBatchSize(32)
                .setTrainEpochs(epochs)
                .setLr(0.1)
                .set("scale_lr_by_batch", false)
                .setValTargets("synth")
                .setWorkers(workers);
        ins.train();
        Map<String, MetricsLog.EvalResult> results = ins.setCheckpointDir(out.resolve("output").toString()).test();
        // output/inference: model.json, the SameDiff graph and model.onnx (ONNX Runtime, Triton, ...)
        ins.convertForPrediction("onnx");
        return results;
    }

    /** Command-line entry. */
    public static void main(String[] args) throws Exception {
        NativeBuild.select(); // before ND4J loads: the fastest nd4j-native build this CPU runs
        Path out = Path.of(args.length > 0 ? args[0] : "work-dirs/custom-model");
        int classes = args.length > 1 ? Integer.parseInt(args[1]) : 200;
        int perClass = args.length > 2 ? Integer.parseInt(args[2]) : 6;
        int epochs = args.length > 3 ? Integer.parseInt(args[3]) : 3;
        int workers = args.length > 4 ? Integer.parseInt(args[4]) : 1;
        run(out, classes, perClass, epochs, workers).forEach((name, r) ->
                System.out.printf(java.util.Locale.ROOT, "%s: accuracy %.4f +- %.4f%n", name, r.accuracy(),
                        r.accuracyStd()));
    }
}
