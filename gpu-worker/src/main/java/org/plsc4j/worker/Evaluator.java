package org.plsc4j.worker;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.core.TrainConfig;
import org.plsc4j.data.ImageShape;
import org.plsc4j.data.Verification;
import org.plsc4j.data.VerificationResult;
import org.plsc4j.data.VerificationSet;
import org.plsc4j.core.internal.ProgressBar;

/**
 * Face verification on the {@code val_targets} sets ({@code dataset_dir/<name>.bin}), the way PLSC
 * and insightface report it: each image and its horizontal flip are embedded, summed and
 * L2-normalised, then 10-fold accuracy and VAL@FAR=1e-3 ({@link Verification}).
 *
 * <p>Why the sets are read once at start: a missing or unreadable {@code .bin} is an error before
 * the first epoch, not after hours of training.
 */
public final class Evaluator {

    private final Map<String, VerificationSet> sets;
    private final ImageShape shape;
    private final int batch;

    private Evaluator(Map<String, VerificationSet> sets, ImageShape shape, int batch) {
        this.sets = sets;
        this.shape = shape;
        this.batch = batch;
    }

    /**
     * Reads every {@code val_targets} set from {@code dataset_dir}.
     *
     * @throws IllegalArgumentException naming the file when a set is missing
     */
    public static Evaluator open(TrainConfig config, ImageShape shape) throws IOException {
        Map<String, VerificationSet> sets = new LinkedHashMap<>();
        for (String name : config.valTargets()) {
            Path f = Path.of(config.datasetDir()).resolve(name + ".bin");
            if (!Files.isRegularFile(f)) {
                throw new IllegalArgumentException("val_targets : " + name + " (no file " + f
                        + "; set with_test: false to train without verification)");
            }
            sets.put(name, VerificationSet.read(f));
        }
        return new Evaluator(sets, shape, config.testBatchSize());
    }

    /** The sets, by name. */
    public Map<String, VerificationSet> sets() {
        return sets;
    }

    /** Evaluates {@code model} on every set. */
    public Map<String, MetricsLog.EvalResult> evaluate(InferenceModel model) {
        Map<String, MetricsLog.EvalResult> out = new LinkedHashMap<>();
        sets.forEach((name, set) -> {
            VerificationResult r = evaluate(model, set, name);
            out.put(name, new MetricsLog.EvalResult(r.accuracy(), r.accuracyStd(), r.val(), r.valStd(), r.far(),
                    r.pairs()));
        });
        return out;
    }

    private VerificationResult evaluate(InferenceModel model, VerificationSet set, String name) {
        int n = set.images().size();
        INDArray emb = null;
        INDArray flipped = null;
        try (ProgressBar bar = new ProgressBar("eval " + name, n)) {
            for (int from = 0; from < n; from += batch) {
                int to = Math.min(n, from + batch);
                INDArray e = model.embed(set.decode(shape, false, from, to));
                INDArray f = model.embed(set.decode(shape, true, from, to));
                emb = emb == null ? e : Nd4j.concat(0, emb, e);
                flipped = flipped == null ? f : Nd4j.concat(0, flipped, f);
                bar.step(to - from, "");
            }
        }
        return Verification.evaluate(Verification.combine(emb, flipped), set.issame());
    }
}
