package org.plsc4j.worker.internal;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.plsc4j.worker.Backbone;
import org.plsc4j.worker.BackboneConfig;
import org.plsc4j.worker.BaseModel;
import org.plsc4j.worker.InferenceModel;

/**
 * A {@link Backbone} on two SameDiff graphs built from one {@link BaseModel}: the training graph
 * (batch statistics, dropout masks as placeholders, a surrogate loss {@code Σ embedding ⊙ g} with
 * g the upstream-gradient placeholder) and, on first use, the inference graph sharing the arrays.
 *
 * <p>The backward pass is SameDiff's {@code calculateGradients} on the surrogate loss with the last
 * forward's inputs and masks; SameDiff recomputes the forward activations inside that call (its
 * training session does not keep them from {@code output}), so a training step costs two forwards
 * and one backward. Batch statistics are deterministic, and the masks are the forward's, so the
 * recomputed forward is the same function.
 */
public final class SameDiffBackbone implements Backbone {

    /** Name of the image placeholder in both graphs. */
    public static final String INPUT = "input";
    /** Name of the embedding output in both graphs. */
    public static final String EMBEDDING = "embedding";
    /** Name of the upstream-gradient placeholder in the training graph. */
    public static final String UPSTREAM = "upstream_grad";
    private static final String LOSS = "surrogate_loss";

    private final BaseModel model;
    private final BackboneConfig config;
    private final ParameterRegistry registry = new ParameterRegistry();
    private final SameDiff train;
    private final List<String> outputs = new ArrayList<>();
    private final Map<String, INDArray> grads = new LinkedHashMap<>();
    private final Map<String, INDArray> gradsView = Collections.unmodifiableMap(grads);
    private long[][] maskShapes;
    private long trainForwards;
    private Map<String, INDArray> lastFeed;
    private long lastBatch;
    private SameDiffInferenceModel inference;
    private boolean gradientGraphBuilt;
    private long bytesPerSample = -1;
    private static final int PROBE_BATCH = 2; // SameDiff fails on some one-image batches (a reduction over an empty axis)
    /**
     * Calibrated on ResNet50 at 112×112: the 2-image probe measured ~0.85 GiB per image, while real
     * steps peaked at ~1.9 GiB per image with 9 images (18.4 GiB, killed by the OOM killer with a
     * factor of 1.5) and 2–3 GiB per image at 4 images (issue 12: 9–14 GB RSS at batch 4).
     */
    private static final double SAFETY = 3.0;
    /** When the peak cannot be measured (no /proc): ResNet50 at 112×112 on SameDiff needed ~2.5 GB per image. */
    private static final long FALLBACK_BYTES_PER_SAMPLE = 3L << 30;

    /** Builds the training graph of {@code model} and initialises its parameters from the seed. */
    public SameDiffBackbone(BaseModel model, BackboneConfig config) {
        this.model = model;
        this.config = config;
        this.train = SameDiff.create();
        SDVariable input = train.placeHolder(INPUT, config.dataType(), -1, config.channels(), config.height(),
                config.width());
        SDVariable emb = model.buildNetwork(train, input, true, new GraphBuilder(train, config, true, registry));
        if (emb == null) {
            throw new IllegalStateException("model " + model + " returned no embedding from buildNetwork");
        }
        emb = train.identity(EMBEDDING, emb);
        SDVariable upstream = train.placeHolder(UPSTREAM, config.dataType(), -1, config.embSize());
        emb.mul(upstream).sum().rename(LOSS);
        train.setLossVariables(LOSS);
        outputs.add(EMBEDDING);
        for (BatchNormSlot bn : registry.batchNorms()) {
            outputs.add(bn.batchMean());
            outputs.add(bn.batchVar());
        }
        if (registry.params().isEmpty()) {
            throw new IllegalStateException("model " + model + " created no parameters (expected: at least one, "
                    + "created through ModelContext.param or its layer helpers)");
        }
        registry.params().forEach((name, arr) -> grads.put(name, Nd4j.zeros(arr.dataType(), arr.shape())));
    }

    @Override
    public BackboneConfig config() {
        return config;
    }

    /** The training graph (for inspection and tests). */
    public SameDiff trainingGraph() {
        return train;
    }

    @Override
    public INDArray forward(INDArray images, boolean isTrain) {
        if (!isTrain) {
            return inference().embed(images);
        }
        return forwardTrain(images, trainForwards);
    }

    @Override
    public INDArray forwardTrain(INDArray images, long dropoutSeed) {
        return trainForward(images, dropoutSeed, true);
    }

    /** The training forward without the running-statistics update (SameDiff computes batch statistics as outputs). */
    @Override
    public INDArray recomputeTrain(INDArray images, long dropoutSeed) {
        return trainForward(images, dropoutSeed, false);
    }

    private INDArray trainForward(INDArray images, long dropoutSeed, boolean updateRunningStats) {
        INDArray x = Shapes.checkImages(images, config);
        long b = x.size(0);
        Map<String, INDArray> feed = new HashMap<>();
        feed.put(INPUT, x);
        List<DropoutSlot> drops = registry.dropouts();
        if (!drops.isEmpty()) {
            long[][] shapes = maskShapes(x);
            long seed = Seeds.mix(config.seed(), dropoutSeed);
            for (int i = 0; i < drops.size(); i++) {
                feed.put(drops.get(i).mask(), DropoutMasks.mask(b, shapes[i], drops.get(i).p(), Seeds.mix(seed, i), config.dataType()));
            }
        }
        Map<String, INDArray> out = train.output(feed, outputs);
        INDArray emb = out.get(EMBEDDING);
        checkEmbedding(emb, b);
        if (updateRunningStats) {
            for (BatchNormSlot bn : registry.batchNorms()) {
                bn.update(out.get(bn.batchMean()), out.get(bn.batchVar()));
            }
            trainForwards++;
        }
        lastFeed = feed;
        lastBatch = b;
        return emb.dup();
    }

    private void checkEmbedding(INDArray emb, long b) {
        if (emb.rank() != 2 || emb.size(0) != b || emb.size(1) != config.embSize()) {
            throw new IllegalStateException("embedding shape of model " + model + " : " + Arrays.toString(emb.shape())
                    + " (expected: [" + b + ", " + config.embSize() + "])");
        }
    }

    /** Per-sample shapes of the dropout inputs, found once by running the training graph up to each on one image. */
    private long[][] maskShapes(INDArray x) {
        if (maskShapes == null) {
            List<DropoutSlot> drops = registry.dropouts();
            long[][] shapes = new long[drops.size()][];
            Map<String, INDArray> feed = new HashMap<>();
            feed.put(INPUT, x.get(NDArrayIndex.interval(0, 1), NDArrayIndex.all(), NDArrayIndex.all(),
                    NDArrayIndex.all()).dup());
            for (int i = 0; i < drops.size(); i++) {
                INDArray probe = train.outputSingle(feed, drops.get(i).input());
                shapes[i] = Arrays.copyOfRange(probe.shape(), 1, probe.rank());
                feed.put(drops.get(i).mask(), Nd4j.ones(config.dataType(), probe.shape()));
            }
            maskShapes = shapes;
        }
        return maskShapes;
    }

    @Override
    public void backward(INDArray dEmbedding) {
        if (lastFeed == null) {
            throw new IllegalStateException("backward without a training forward (expected: forward(images, true) first)");
        }
        if (dEmbedding.rank() != 2 || dEmbedding.size(0) != lastBatch || dEmbedding.size(1) != config.embSize()) {
            throw new IllegalArgumentException("dEmbedding shape : " + Arrays.toString(dEmbedding.shape())
                    + " (expected: [" + lastBatch + ", " + config.embSize() + "] as the last training forward)");
        }
        Map<String, INDArray> feed = new HashMap<>(lastFeed);
        feed.put(UPSTREAM, dEmbedding.dataType() == config.dataType() ? dEmbedding
                : dEmbedding.castTo(config.dataType()));
        if (!gradientGraphBuilt) {
            StdoutToStderr.run(train::createGradFunction);
            gradientGraphBuilt = true;
        }
        Map<String, INDArray> g = train.calculateGradients(feed, grads.keySet());
        for (Map.Entry<String, INDArray> e : grads.entrySet()) {
            INDArray v = g.get(e.getKey());
            if (v == null) {
                e.getValue().assign(0);
            } else {
                e.getValue().assign(v);
            }
        }
    }

    /**
     * Measured, once: the peak resident-set growth of the first training step (recomputed training
     * forward and backward, running statistics untouched) on {@value #PROBE_BATCH} blank images, per
     * image, times {@value #SAFETY}. Cold on purpose: a warm step reuses freed buffers and shows
     * almost no growth. SameDiff's memory use is not predictable from the graph (it keeps every
     * forward output of {@code output}, recomputes them inside {@code calculateGradients} and holds
     * one gradient per activation), so it is measured: the peak comes from {@code VmHWM} after
     * resetting it through {@code /proc/self/clear_refs}. Costs one small training step at first call;
     * the per-step constants (parameter gradients, the gradient graph) are counted as if they grew with
     * the batch, which errs high. Call it before training (the trainer does), when nothing is cached yet.
     */
    @Override
    public long trainingBytesPerSample() {
        if (bytesPerSample < 0) {
            INDArray x = Nd4j.zeros(config.dataType(), PROBE_BATCH, config.channels(), config.height(),
                    config.width());
            INDArray g = Nd4j.zeros(config.dataType(), PROBE_BATCH, config.embSize());
            Map<String, INDArray> keep = lastFeed;
            long keepBatch = lastBatch;
            long before = ProcessMemory.residentBytes();
            long peak = ProcessMemory.peakDuring(() -> {
                recomputeTrain(x, 0);
                backward(g);
            });
            lastFeed = keep;
            lastBatch = keepBatch;
            long step = peak > 0 && before > 0 ? Math.max(peak - before, 0) : -1;
            bytesPerSample = step <= 0 ? FALLBACK_BYTES_PER_SAMPLE
                    : (long) (SAFETY * step / PROBE_BATCH);
        }
        return bytesPerSample;
    }

    @Override
    public Map<String, INDArray> parameters() {
        return registry.params();
    }

    @Override
    public Map<String, INDArray> gradients() {
        return gradsView;
    }

    @Override
    public Map<String, INDArray> state() {
        return registry.state();
    }

    @Override
    public void load(Map<String, INDArray> values) {
        registry.load(values, String.valueOf(model));
    }

    @Override
    public InferenceModel inference() {
        if (inference == null) {
            SameDiff sd = SameDiff.create();
            SDVariable input = sd.placeHolder(INPUT, config.dataType(), -1, config.channels(), config.height(),
                    config.width());
            SDVariable emb = model.buildNetwork(sd, input, false, new GraphBuilder(sd, config, false, registry));
            sd.identity(EMBEDDING, emb);
            inference = new SameDiffInferenceModel(sd, config);
        }
        return inference;
    }

    @Override
    public String toString() {
        return "SameDiffBackbone[" + model + ", " + config + "]";
    }
}
