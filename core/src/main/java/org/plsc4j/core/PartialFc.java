package org.plsc4j.core;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.nd4j.linalg.api.buffer.DataBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.plsc4j.core.collective.Collective;
import org.plsc4j.core.internal.Dense;
import org.plsc4j.core.internal.MarginSoftmaxKernel;
import org.plsc4j.core.internal.MomentumUpdate;
import org.plsc4j.core.internal.OpsFcStep;
import org.plsc4j.core.internal.RowCopy;
import org.plsc4j.core.internal.StoredRows;

/**
 * One rank's shard of a (Partial) FC layer with margin softmax, trained with SGD momentum: the last
 * layer of a model with millions of classes, which never exists whole on one device.
 *
 * <p>A step all-gathers the L2-normalised features and the labels, samples class centers
 * ({@link ClassCenterSampler}), computes cosine logits against the normalised sampled weight rows,
 * the distributed margin softmax ({@link MarginSoftmaxKernel}), the gradients, updates the sampled
 * rows and their momentum locally (FC shards are never all-reduced) and reduce-scatters the feature
 * gradient back to the rank that owns each feature row.
 *
 * <p>Why it is written the way it is: at 1M classes the products cost ~6·B·D·S flops while every
 * full pass over the shard (2 GB of weights, 2 GB of momentum) costs tens of milliseconds, so the
 * step works on chunks of a few thousand classes that stay in cache: the logits chunk is produced by
 * one gemm, the weights are never normalised in memory (the column norms are cached and refreshed
 * by the update itself), the elementwise work of a chunk is one Java pass per logits row (see
 * {@code MarginSoftmaxKernel}), the weight gradient of a chunk goes into a scratch that stays in cache
 * and the momentum step is one pass over the chunk's rows ({@code MomentumUpdate}), and the
 * weight-normalisation backward uses {@code Σ_i dL/dcos_ij·cos_ij}, computed while the logits are
 * still in cache.
 *
 * <p>Weights are stored class-major, {@code [C_r, D]} (row j = class {@code start + j}), and
 * initialised from N(0, {@link FcConfig#initStd()}²) seeded per class id, so the initial model does not
 * depend on the number of ranks. Momentum follows Paddle's {@code Momentum} with L2 decay:
 * {@code v ← μ·v + (g + wd·w); w ← w − lr·v}, applied to the sampled rows only.
 *
 * <p>Storage ({@link FcDtype}): weights and momentum may each be stored in float16 or bfloat16 to fit
 * more classes; the step gathers the touched rows into its reused float32 chunk buffers, computes in
 * float32 and writes them back rounded to nearest even. There is no float32 master copy, and no
 * full-size float32 array of a half-precision shard is ever made.
 *
 * <p>Mixed precision with loss scaling needs the update decision before any update: {@link
 * #forwardBackward} computes the loss and the gradients (scaled by the loss scale) and reports whether
 * they are finite, then {@link #applyUpdate} (unscaling) or {@link #discardUpdate} finishes the step.
 * {@link #step} does both.
 *
 * <p>PLSC's plain softmax ({@link FcHead#LINEAR_BIAS}, loss_type softmax / dist_softmax) takes the same
 * path without the normalisations: logits {@code z = x·Wᵀ + b} of the gathered raw features, the same
 * distributed softmax cross entropy (mean over the global batch), {@code g = dL/dz = (softmax − onehot)/B},
 * {@code dW = gᵀ·x}, {@code db = Σ_i g_i}, {@code dx = g·W}; the bias [C_r] lives with the weight rows
 * ({@link #bias()}, {@link #biasMomentum()}) and gets the same update {@code v ← μ·v + (g + wd·b); b ← b − lr·v}.
 * <p>Engines ({@link FcEngine}): the step described above is the fused one, for the CPU; the same step
 * written with ND4J operations only ({@code OpsFcStep}) runs where host loops would mean device round
 * trips (the CUDA backend). {@link FcEngine#AUTO} chooses by backend; both give the same results.
 */
public final class PartialFc implements AutoCloseable {

    /** Default number of classes processed per chunk. */
    public static final int DEFAULT_CHUNK = 2048;

    private static final float NORM_EPS = 1e-12f;

    /**
     * What one training step produced on this rank.
     *
     * @param loss the mean margin-softmax loss over the global batch (the same on every rank)
     * @param featureGrad dL/d(local features) [b, D], for the backbone's backward
     * @param sampledClasses number of class centers this rank used in the step
     * @param acc1 fraction of the global batch whose label's cosine is the largest of all (sampled)
     *     classes over all ranks; NaN unless requested
     * @param acc5 the same for the five largest; NaN unless requested
     * @param gradsFinite whether the loss and this rank's FC gradients (dL/dlogits, which bound the weight
     *     gradient since the normalised features have norm 1, and dL/dfeatures) are all finite
     */
    public record StepResult(double loss, INDArray featureGrad, int sampledClasses, double acc1, double acc5,
                             boolean gradsFinite) {

        /** A result whose gradients are finite. */
        public StepResult(double loss, INDArray featureGrad, int sampledClasses, double acc1, double acc5) {
            this(loss, featureGrad, sampledClasses, acc1, acc5, true);
        }
    }

    /** What {@link #forwardBackward} leaves for {@link #applyUpdate}. */
    private record Pending(ClassCenterSampler.Sample sample, boolean full, INDArray xHat, float[] colDot,
                           double lossScale, int batch) {
    }

    private final FcConfig config;
    private final Collective collective;
    private final ClassLayout layout;
    private final int rank;
    private final int numLocal;
    private final int emb;
    private final int chunk;
    private final INDArray weights;
    private final INDArray momentum;
    private final FcDtype weightsDtype;
    private final FcDtype momentumDtype;
    private final float[] norms;
    /** The per-class bias [C_r] and its momentum (float32), or null for a cosine head. */
    private final INDArray bias;
    private final INDArray biasMomentum;
    private final FcEngine engine;
    private final OpsFcStep ops;
    private Pending pending;

    // per-batch-size buffers, allocated on first use
    private int bufRows = -1;
    private MarginSoftmaxKernel kernel;
    private DataBuffer logits;
    private DataBuffer exps;
    private long logitsCapacity;
    private INDArray wChunk;
    private INDArray vChunk;
    private INDArray gChunk;
    private INDArray gradGathered;
    private boolean closed;
    /** False while a shard made by {@link #createUninitialised} has rows that nobody wrote yet. */
    private volatile boolean initialised;

    private PartialFc(FcConfig config, Collective collective, int chunk, FcDtype weightsDtype, FcDtype momentumDtype,
                      FcEngine engine, boolean initialise) {
        this.config = config;
        this.collective = collective;
        this.rank = collective.rank();
        this.layout = ClassLayout.of(config.layout(), config.numClasses(), collective.worldSize());
        this.numLocal = layout.size(rank);
        this.emb = config.embSize();
        if (chunk < 1) {
            throw new IllegalArgumentException("chunk : " + chunk + " (expected: >= 1)");
        }
        this.chunk = chunk;
        this.weightsDtype = java.util.Objects.requireNonNull(weightsDtype, "weightsDtype");
        this.momentumDtype = java.util.Objects.requireNonNull(momentumDtype, "momentumDtype");
        this.weights = Nd4j.createUninitialized(weightsDtype.dataType(), numLocal, emb);
        this.momentum = Nd4j.zeros(momentumDtype.dataType(), numLocal, emb);
        this.norms = new float[numLocal];
        // Paddle's default bias initialiser is Constant(0.0)
        this.bias = config.hasBias() ? Nd4j.zeros(DataType.FLOAT, numLocal) : null;
        this.biasMomentum = config.hasBias() ? Nd4j.zeros(DataType.FLOAT, numLocal) : null;
        this.engine = java.util.Objects.requireNonNull(engine, "engine").resolve();
        this.ops = this.engine == FcEngine.OPS
                ? new OpsFcStep(config, collective, layout, weights, momentum, bias, biasMomentum) : null;
        if (initialise) {
            initialiseLocalRows(0, numLocal);
            initialised = true;
        }
    }

    /** Creates rank {@code collective.rank()}'s shard with weights initialised per class id from the seed. */
    public static PartialFc create(FcConfig config, Collective collective) {
        return new PartialFc(config, collective, DEFAULT_CHUNK, FcDtype.FLOAT32, FcDtype.FLOAT32, FcEngine.AUTO, true);
    }

    /** As {@link #create(FcConfig, Collective)} with another chunk width (tests and tuning). */
    public static PartialFc create(FcConfig config, Collective collective, int chunk) {
        return new PartialFc(config, collective, chunk, FcDtype.FLOAT32, FcDtype.FLOAT32, FcEngine.AUTO, true);
    }

    /**
     * As {@link #create(FcConfig, Collective, int)} with the weights stored as {@code weightsDtype} and
     * the momentum as {@code momentumDtype} (compute stays float32; see {@link FcDtype}).
     */
    public static PartialFc create(FcConfig config, Collective collective, int chunk, FcDtype weightsDtype,
                                   FcDtype momentumDtype) {
        return new PartialFc(config, collective, chunk, weightsDtype, momentumDtype, FcEngine.AUTO, true);
    }

    /**
     * As {@link #create(FcConfig, Collective, int, FcDtype, FcDtype)} with the step implementation named
     * ({@link FcEngine#AUTO}: by backend and the {@value FcEngine#PROPERTY} property).
     */
    public static PartialFc create(FcConfig config, Collective collective, int chunk, FcDtype weightsDtype,
                                   FcDtype momentumDtype, FcEngine engine) {
        return new PartialFc(config, collective, chunk, weightsDtype, momentumDtype, engine, true);
    }

    /**
     * As {@link #create(FcConfig, Collective, int, FcDtype, FcDtype)}, but without the seeded initial
     * weights: for a shard whose rows are about to be overwritten anyway (an elastic generation that
     * restores every row from the shard store). Drawing the initial rows is one Gaussian per weight, ~10 s
     * for 1M × 512 on two cores, which a survivor of a failover would otherwise spend before its restore.
     * The momentum and bias start at zero as usual. Until every row is written ({@link #load},
     * {@link #weightsChanged} after writing {@link #weights()} directly) or initialised
     * ({@link #initialiseRows}, {@link #initialiseAll}), {@link #initialised()} is false and a step refuses
     * to run.
     */
    public static PartialFc createUninitialised(FcConfig config, Collective collective, int chunk,
                                                FcDtype weightsDtype, FcDtype momentumDtype) {
        return new PartialFc(config, collective, chunk, weightsDtype, momentumDtype, FcEngine.AUTO, false);
    }

    /**
     * Whether every row holds a value: its seeded initial one or one written by the caller. False only for
     * a shard made by {@link #createUninitialised} that nothing has filled yet.
     */
    public boolean initialised() {
        return initialised;
    }

    /**
     * Resets classes {@code [fromClass, toClass)} of this shard to the values a fresh shard gives them: the
     * seeded initial weights (the same bits {@link #create} draws, per class id), zero momentum and bias.
     * Rows of a shard made by {@link #createUninitialised} that the store did not have get their values
     * this way; it does not by itself make the whole shard {@link #initialised()}.
     *
     * @throws IllegalArgumentException naming the range when it is not within this rank's classes
     */
    public void initialiseRows(int fromClass, int toClass) {
        int start = layout.start(rank);
        if (fromClass < start || toClass > start + numLocal || toClass < fromClass) {
            throw new IllegalArgumentException("classes : [" + fromClass + ", " + toClass + ") (expected: within"
                    + " rank " + rank + "'s classes [" + start + ", " + (start + numLocal) + "))");
        }
        int r0 = fromClass - start;
        int r1 = toClass - start;
        if (r1 == r0) {
            return;
        }
        momentum.get(NDArrayIndex.interval(r0, r1), NDArrayIndex.all()).assign(0);
        if (bias != null) {
            bias.get(NDArrayIndex.interval(r0, r1)).assign(0);
            biasMomentum.get(NDArrayIndex.interval(r0, r1)).assign(0);
        }
        initialiseLocalRows(r0, r1);
    }

    /** {@link #initialiseRows} over the whole shard; afterwards the shard is {@link #initialised()}. */
    public void initialiseAll() {
        initialiseRows(layout.start(rank), layout.start(rank) + numLocal);
        initialised = true;
    }

    /**
     * Frees the shard's native memory (weights, momentum, bias, step buffers) now instead of at some later
     * garbage collection: for callers that hold shards of different sizes one after another in a process
     * whose memory is tight (e.g. {@code bench fc --one-at-a-time} at 1M classes). The shard is unusable
     * afterwards; views handed out by {@link #weights()} and {@link #momentum()} become invalid. Idempotent.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (INDArray a : new INDArray[] {weights, momentum, bias, biasMomentum, wChunk, vChunk, gChunk, gradGathered}) {
            if (a != null && a.closeable()) {
                a.close();
            }
        }
        for (DataBuffer b : new DataBuffer[] {logits, exps}) {
            if (b != null && b.closeable()) {
                b.close();
            }
        }
        wChunk = vChunk = gChunk = gradGathered = null;
        logits = exps = null;
    }

    /** The step implementation this shard runs ({@link FcEngine#FUSED} or {@link FcEngine#OPS}). */
    public FcEngine engine() {
        return engine;
    }

    /** The weights' storage type. */
    public FcDtype weightsDtype() {
        return weightsDtype;
    }

    /** The momentum's storage type. */
    public FcDtype momentumDtype() {
        return momentumDtype;
    }

    /** The configuration. */
    public FcConfig config() {
        return config;
    }

    /** This shard's rank in the group. */
    public int rank() {
        return rank;
    }

    /** The class layout over the group. */
    public ClassLayout layout() {
        return layout;
    }

    /**
     * This shard's weights [C_r, D], row j being class {@code layout().start(rank) + j}, in the storage
     * type ({@link #weightsDtype()}: FLOAT, HALF or BFLOAT16); live, not a copy.
     */
    public INDArray weights() {
        return weights;
    }

    /** This shard's momentum [C_r, D] in the storage type ({@link #momentumDtype()}); live, not a copy. */
    public INDArray momentum() {
        return momentum;
    }

    /** This shard's bias [C_r] (float32, live), or null when the head has none ({@link FcConfig#hasBias()}). */
    public INDArray bias() {
        return bias;
    }

    /** The bias' momentum [C_r] (float32, live), or null. */
    public INDArray biasMomentum() {
        return biasMomentum;
    }

    /**
     * Replaces the bias and its momentum (warm start, re-partition).
     *
     * @throws IllegalArgumentException naming the shapes when they are not [C_r], or when the head has no bias
     */
    public void loadBias(INDArray newBias, INDArray newMomentum) {
        if (bias == null) {
            throw new IllegalArgumentException("bias : given for a " + config.head().key() + " FC (expected: none;"
                    + " only loss_type softmax has a bias)");
        }
        if (newBias.length() != numLocal || newMomentum.length() != numLocal) {
            throw new IllegalArgumentException("bias shape : " + Arrays.toString(newBias.shape()) + ", momentum "
                    + Arrays.toString(newMomentum.shape()) + " (expected: [" + numLocal + "] for rank " + rank + " of "
                    + layout + ")");
        }
        bias.assign(newBias.castTo(DataType.FLOAT).reshape(numLocal));
        biasMomentum.assign(newMomentum.castTo(DataType.FLOAT).reshape(numLocal));
    }

    /** Columns per class of {@link #rowsForStore()}: emb_size, plus one for the bias when there is one. */
    public int storeDim() {
        return bias == null ? emb : emb + 1;
    }

    /**
     * This shard's rows as a row store keeps them (elastic jobs' shard store, which moves float32 rows of
     * any width): the weights, and for the plain softmax a last column with the bias ({@code [C_r, D + 1]}, a
     * copy); without a bias the live {@link #weights()}.
     */
    public INDArray rowsForStore() {
        return bias == null ? weights : Nd4j.hstack(weights.castTo(DataType.FLOAT), bias.reshape(numLocal, 1));
    }

    /** The momentum as {@link #rowsForStore()} lays it out (the bias' momentum in the last column). */
    public INDArray momentumForStore() {
        return bias == null ? momentum : Nd4j.hstack(momentum.castTo(DataType.FLOAT), biasMomentum.reshape(numLocal, 1));
    }

    /** Loads rows laid out as {@link #rowsForStore()} / {@link #momentumForStore()} ({@code [C_r, storeDim()]}). */
    public void loadFromStore(INDArray rows, INDArray rowsMomentum) {
        if (bias == null) {
            load(rows, rowsMomentum);
            return;
        }
        if (rows.columns() != emb + 1 || rowsMomentum.columns() != emb + 1) {
            throw new IllegalArgumentException("stored rows : " + Arrays.toString(rows.shape()) + " (expected: ["
                    + numLocal + ", " + (emb + 1) + "], the weights and the bias)");
        }
        load(rows.get(NDArrayIndex.all(), NDArrayIndex.interval(0, emb)).dup('c'),
                rowsMomentum.get(NDArrayIndex.all(), NDArrayIndex.interval(0, emb)).dup('c'));
        loadBias(rows.getColumn(emb).dup(), rowsMomentum.getColumn(emb).dup());
    }

    /**
     * Replaces the shard's weights and momentum (warm start, re-partition) and refreshes the cached norms.
     * The arrays may be of any of the three storage types; they are converted block by block (rounded to
     * nearest even when narrowing), without a full-size intermediate copy.
     *
     * @throws IllegalArgumentException naming the shapes when they do not match [C_r, D]
     */
    public void load(INDArray newWeights, INDArray newMomentum) {
        long[] want = {numLocal, emb};
        if (!Arrays.equals(newWeights.shape(), want) || !Arrays.equals(newMomentum.shape(), want)) {
            throw new IllegalArgumentException("shard shape : weights " + Arrays.toString(newWeights.shape())
                    + ", momentum " + Arrays.toString(newMomentum.shape()) + " (expected: " + Arrays.toString(want)
                    + " for rank " + rank + " of " + layout + ")");
        }
        copyInto(newWeights, weights);
        copyInto(newMomentum, momentum);
        refreshNorms(0, numLocal);
        initialised = true;
    }

    /**
     * Refreshes the cached row norms after the caller wrote {@link #weights()} directly (a warm start
     * reading a checkpoint straight into the storage, without an intermediate copy). The caller states that
     * every row now holds a value: a shard made by {@link #createUninitialised} is {@link #initialised()}
     * from here on.
     */
    public void weightsChanged() {
        refreshNorms(0, numLocal);
        initialised = true;
    }

    private static void copyInto(INDArray src, INDArray dst) {
        if (src.dataType() == DataType.FLOAT && dst.dataType() == DataType.FLOAT) {
            dst.assign(src);
        } else {
            StoredRows.copy(StoredRows.isStorage(src) ? src : src.dup('c'), dst);
        }
    }

    /** The seeded initial weights of local rows {@code [from, to)}, and their norms. */
    private void initialiseLocalRows(int from, int to) {
        int start = layout.start(rank);
        long seed = config.seed();
        double std = config.initStd();
        int rowsPerTask = 1024;
        int tasks = (to - from + rowsPerTask - 1) / rowsPerTask;
        IntStream.range(0, tasks).parallel().forEach(t -> {
            int r0 = from + t * rowsPerTask;
            int r1 = Math.min(to, r0 + rowsPerTask);
            float[] block = new float[(r1 - r0) * emb];
            for (int j = r0; j < r1; j++) {
                SplittableRandom rng = new SplittableRandom(classSeed(seed, start + j));
                int base = (j - r0) * emb;
                for (int d = 0; d < emb; d++) {
                    block[base + d] = (float) (std * rng.nextGaussian());
                }
            }
            if (weightsDtype == FcDtype.FLOAT32) {
                weights.get(NDArrayIndex.interval(r0, r1), NDArrayIndex.all())
                        .assign(Nd4j.create(block, new long[] {r1 - r0, emb}, 'c'));
            } else {
                StoredRows.write(weights, r0, r1 - r0, block, 0);
            }
        });
        refreshNorms(from, to);
    }

    /** The seed of class {@code classId}'s initial weights: a SplitMix64 mix of the job seed and the id. */
    public static long classSeed(long seed, int classId) {
        long h = seed ^ 0x5DEECE66DL;
        h = h * 0x9E3779B97F4A7C15L + classId;
        h = (h ^ (h >>> 30)) * 0xBF58476D1CE4E5B9L;
        h = (h ^ (h >>> 27)) * 0x94D049BB133111EBL;
        return h ^ (h >>> 31);
    }

    /** Norms of the stored rows, computed as the update computes them (so a reload gives the same norms). */
    private void refreshNorms(int from, int to) {
        if (ops != null) {
            return; // the ops step computes the norms of the rows it uses (no host pass over a device shard)
        }
        StoredRows.rowNorms(weights, from, to, norms);
    }

    /**
     * One step: all-gathers the local features [b, D] and labels [b], samples class centers,
     * computes the margin-softmax loss (mean over the global batch), updates the sampled weight
     * rows and their momentum with learning rate {@code lr}, and returns dL/d(local features).
     *
     * @throws IllegalArgumentException naming the value for a label outside [0, num_classes), a
     *     feature width other than emb_size, or ranks disagreeing on batch or embedding size
     */
    public StepResult step(INDArray localFeatures, int[] localLabels, double lr, long step) {
        return step(localFeatures, localLabels, lr, step, false);
    }

    /**
     * As {@link #step(INDArray, int[], double, long)}, and with {@code calcAcc} also top-1/top-5
     * accuracy over the sharded logits (PLSC's {@code calc_acc}): each rank counts, per row, its
     * sampled classes whose cosine beats the label's (taken from the owning rank), and one all-reduce
     * sums the counts. Ranked on cosines without the margin, as at inference; with sampling, among the
     * sampled classes. Costs two small all-reduces and one pass over the logits.
     */
    public StepResult step(INDArray localFeatures, int[] localLabels, double lr, long step, boolean calcAcc) {
        StepResult r = forwardBackward(localFeatures, localLabels, step, calcAcc, 1.0);
        applyUpdate(lr);
        return r;
    }

    /**
     * The first half of a step: the loss, the FC gradients and dL/d(local features), all multiplied by
     * {@code lossScale} (the loss scaling of mixed precision; 1 for none), and whether they are finite
     * ({@link StepResult#gradsFinite()}, this rank only). Nothing is updated until {@link #applyUpdate}
     * (or {@link #discardUpdate}); the reported loss is the unscaled one.
     *
     * @throws IllegalArgumentException as {@link #step(INDArray, int[], double, long)}
     * @throws IllegalStateException when the previous forwardBackward was neither applied nor discarded
     */
    public StepResult forwardBackward(INDArray localFeatures, int[] localLabels, long step, boolean calcAcc,
                                      double lossScale) {
        if (closed) {
            throw new IllegalStateException("PartialFc of rank " + rank + " : closed (expected: an open shard)");
        }
        if (!initialised) {
            throw new IllegalStateException("PartialFc of rank " + rank + " : rows not initialised (expected: a shard"
                    + " made by createUninitialised filled by load, weightsChanged or initialiseAll before a step)");
        }
        if (pending != null || (ops != null && ops.hasPending())) {
            throw new IllegalStateException("rank " + rank + ": the previous step's update was neither applied nor"
                    + " discarded");
        }
        if (!(lossScale > 0) || Double.isInfinite(lossScale)) {
            throw new IllegalArgumentException("loss scale : " + lossScale + " (expected: a finite value > 0)");
        }
        int b = localFeatures.rows();
        if (localFeatures.rank() != 2 || localFeatures.columns() != emb) {
            throw new IllegalArgumentException("features shape : " + Arrays.toString(localFeatures.shape())
                    + " (expected: [batch, emb_size = " + emb + "])");
        }
        if (localLabels.length != b) {
            throw new IllegalArgumentException("labels : " + localLabels.length + " (expected: one per feature row = "
                    + b + ")");
        }
        for (int i = 0; i < b; i++) {
            if (localLabels[i] < 0 || localLabels[i] >= config.numClasses()) {
                throw new IllegalArgumentException("label : " + localLabels[i] + " at row " + i + " of rank " + rank
                        + " (expected: 0 <= label < num_classes = " + config.numClasses() + ")");
            }
        }
        int world = collective.worldSize();
        checkShapesAgree(b);
        if (ops != null) {
            OpsFcStep.Result r = ops.forwardBackward(localFeatures, localLabels, step, calcAcc, lossScale);
            return new StepResult(r.loss(), r.featureGrad(), r.sampled(), r.acc1(), r.acc5(), r.finite());
        }
        int batch = b * world;
        if (config.hasBias()) {
            return linearForwardBackward(localFeatures, localLabels, step, calcAcc, lossScale, batch);
        }

        // 1. normalise the local features, gather them and the labels
        INDArray x = localFeatures.castTo(DataType.FLOAT);
        INDArray xNorm = x.norm2(1);
        Nd4j.getExecutioner().exec(new org.nd4j.linalg.api.ops.impl.scalar.ScalarMax(xNorm, NORM_EPS));
        INDArray xHatLocal = x.divColumnVector(xNorm);
        INDArray xHat;
        int[] labels;
        if (world == 1) {
            xHat = xHatLocal;
            labels = localLabels.clone();
        } else {
            xHat = Nd4j.createUninitialized(DataType.FLOAT, batch, emb);
            collective.allGather(xHatLocal.data().asNioFloat(), xHat.data().asNioFloat());
            labels = new int[batch];
            collective.allGather(localLabels, labels);
        }

        // 2. sample class centers
        ClassCenterSampler.Sample sample =
                ClassCenterSampler.sample(labels, layout, rank, config.sampleRatio(), config.seed(), step);
        int s = sample.size();
        boolean full = s == numLocal && config.sampleRatio() == 1.0;
        ensureBuffers(batch, s);
        kernel.reset(sample.targetColumns());

        float scale = (float) config.margin().scale();
        float[] colScale = new float[Math.min(chunk, Math.max(s, 1))];
        TopKCounter topK = calcAcc ? new TopKCounter(targetCosines(xHat, labels, sample), sample.targetColumns())
                : null;
        // 3. forward, chunk by chunk
        for (int j0 = 0; j0 < s; j0 += chunk) {
            int k = Math.min(chunk, s - j0);
            INDArray w = rowsOf(weights, wChunk, sample.localIndices(), j0, k, full);
            INDArray z = matrix(logits, batch, k, (long) batch * j0);
            Nd4j.gemm(xHat, w, z, false, true, 1.0, 0.0);
            inverseNorms(sample.localIndices(), j0, k, full, scale, colScale);
            INDArray e = matrix(exps, batch, k, (long) batch * j0);
            if (topK != null) {
                Dense.scaleColumns(z, Nd4j.createFromArray(Arrays.copyOf(colScale, k)));
                topK.count(z, j0, scale);
                kernel.forwardChunk(j0 / chunk, z, j0, e);
            } else {
                kernel.forwardChunk(j0 / chunk, z, j0, e, colScale);
            }
        }
        double[] losses = kernel.finish(collective);
        double[] acc = accuracies(topK, world);
        double acc1 = acc[0];
        double acc5 = acc[1];

        // 4. backward, chunk by chunk (the update waits for applyUpdate)
        INDArray dxHat = gradGathered;
        dxHat.assign(0);
        float[] colDot = new float[chunk];
        float[] colDotAll = new float[s];
        boolean finite = true;
        for (int j0 = 0; j0 < s; j0 += chunk) {
            int k = Math.min(chunk, s - j0);
            INDArray z = matrix(logits, batch, k, (long) batch * j0);
            INDArray g = matrix(exps, batch, k, (long) batch * j0);
            float[] inv = inverseNorms(sample.localIndices(), j0, k, full, 1f, colScale);
            // g = lossScale · dL/dcos / n_j
            kernel.backwardChunk(j0 / chunk, z, g, j0, lossScale / batch, null, colDot, inv);
            System.arraycopy(colDot, 0, colDotAll, j0, k);
            // |G_jd| <= Σ_i |g_ij| since ‖x̂_i‖ = 1: a finite sum bounds the weight gradient
            finite &= Double.isFinite(g.sumNumber().doubleValue());
            INDArray w = rowsOf(weights, wChunk, sample.localIndices(), j0, k, full);
            // dL/dxHat += (dL/dcos / n) · W
            Nd4j.gemm(g, w, dxHat, false, false, 1.0, 1.0);
        }
        pending = new Pending(sample, full, xHat, colDotAll, lossScale, batch);

        // 5. return each rank's feature rows' gradient, then through the feature normalisation
        INDArray dxHatLocal;
        if (world == 1) {
            dxHatLocal = dxHat;
        } else {
            dxHatLocal = Nd4j.createUninitialized(DataType.FLOAT, b, emb);
            collective.reduceScatter(dxHat.data().asNioFloat(), dxHatLocal.data().asNioFloat(),
                    org.plsc4j.core.collective.ReduceOp.SUM);
        }
        INDArray dot = xHatLocal.mul(dxHatLocal).sum(1);
        INDArray dx = dxHatLocal.sub(xHatLocal.mulColumnVector(dot)).diviColumnVector(xNorm);
        double sum = 0;
        for (double l : losses) {
            sum += l;
        }
        double loss = sum / batch;
        finite &= Double.isFinite(loss) && Double.isFinite(dxHat.sumNumber().doubleValue());
        return new StepResult(loss, dx, s, acc1, acc5, finite);
    }

    /**
     * Applies the update computed by the last {@link #forwardBackward} with learning rate {@code lr},
     * dividing its gradients by the loss scale: the sampled rows and their momentum change (and are
     * rounded to the storage type).
     *
     * @throws IllegalStateException when there is no pending update
     */
    public void applyUpdate(double lr) {
        if (ops != null && ops.hasPending()) {
            ops.applyUpdate(lr);
            return;
        }
        Pending p = pending;
        if (p == null) {
            throw new IllegalStateException("rank " + rank + ": no pending update (expected: forwardBackward first)");
        }
        pending = null;
        if (config.hasBias()) {
            linearApplyUpdate(p, lr);
            return;
        }
        ClassCenterSampler.Sample sample = p.sample();
        int s = sample.size();
        boolean full = p.full();
        int batch = p.batch();
        float mu = (float) config.momentum();
        float wd = (float) config.weightDecay();
        float unscale = (float) (1.0 / p.lossScale());
        float[] colScale = new float[Math.min(chunk, Math.max(s, 1))];
        float[] coef = new float[chunk];
        float[] newNorms = new float[chunk];
        int[] idx = sample.localIndices();
        for (int j0 = 0; j0 < s; j0 += chunk) {
            int k = Math.min(chunk, s - j0);
            INDArray g = matrix(exps, batch, k, (long) batch * j0);
            float[] inv = inverseNorms(idx, j0, k, full, 1f, colScale);
            INDArray w = rowsOf(weights, wChunk, idx, j0, k, full);
            INDArray v = rowsOf(momentum, vChunk, idx, j0, k, full);
            // G/n, where G = (dL/dcos)^T · xHat, into a scratch that stays in cache (see MomentumUpdate)
            INDArray grad = gChunk.get(NDArrayIndex.interval(0, k), NDArrayIndex.all());
            Nd4j.gemm(g, p.xHat(), grad, true, false, unscale, 0.0);
            // v = μ·v + G/n + (wd − colDot/n²)·w : the normalisation backward and the weight decay; w −= lr·v
            for (int j = 0; j < k; j++) {
                float cd = p.colDot()[j0 + j] * unscale;
                coef[j] = wd - cd * inv[j] * inv[j];
            }
            MomentumUpdate.apply(w, v, grad, mu, coef, (float) lr, newNorms);
            storeBack(v, momentum, idx, j0, k, full, null);
            storeBack(w, weights, idx, j0, k, full, newNorms);
            for (int j = 0; j < k; j++) {
                norms[full ? j0 + j : idx[j0 + j]] = newNorms[j];
            }
        }
    }

    /**
     * PLSC's plain softmax forward and backward ({@link FcHead#LINEAR_BIAS}): {@code z = x·Wᵀ + b} over
     * the gathered raw features, the distributed softmax cross entropy on z (the kernel with scale 1 and
     * no margin), {@code g = lossScale·(softmax − onehot)/B} kept for {@link #linearApplyUpdate}, and
     * {@code dx = g·W} reduce-scattered to the owning ranks.
     */
    private StepResult linearForwardBackward(INDArray localFeatures, int[] localLabels, long step, boolean calcAcc,
                                             double lossScale, int batch) {
        int world = collective.worldSize();
        int b = localFeatures.rows();
        INDArray xLocal = localFeatures.castTo(DataType.FLOAT).dup('c');
        INDArray x;
        int[] labels;
        if (world == 1) {
            x = xLocal;
            labels = localLabels.clone();
        } else {
            x = Nd4j.createUninitialized(DataType.FLOAT, batch, emb);
            collective.allGather(xLocal.data().asNioFloat(), x.data().asNioFloat());
            labels = new int[batch];
            collective.allGather(localLabels, labels);
        }
        ClassCenterSampler.Sample sample =
                ClassCenterSampler.sample(labels, layout, rank, 1.0, config.seed(), step);
        int s = sample.size();
        ensureBuffers(batch, s);
        kernel.reset(sample.targetColumns());
        TopKCounter topK = calcAcc ? new TopKCounter(targetLinearLogits(x, labels, sample), sample.targetColumns())
                : null;
        for (int j0 = 0; j0 < s; j0 += chunk) {
            int k = Math.min(chunk, s - j0);
            INDArray w = rowsOf(weights, wChunk, sample.localIndices(), j0, k, true);
            INDArray z = matrix(logits, batch, k, (long) batch * j0);
            Nd4j.gemm(x, w, z, false, true, 1.0, 0.0);
            z.addiRowVector(bias.get(NDArrayIndex.interval(j0, j0 + k)));
            if (topK != null) {
                topK.count(z, j0, 1f);
            }
            kernel.forwardChunk(j0 / chunk, z, j0, matrix(exps, batch, k, (long) batch * j0));
        }
        double[] losses = kernel.finish(collective);
        double[] acc = accuracies(topK, world);
        double acc1 = acc[0];
        double acc5 = acc[1];
        INDArray dx = gradGathered;
        dx.assign(0);
        boolean finite = true;
        for (int j0 = 0; j0 < s; j0 += chunk) {
            int k = Math.min(chunk, s - j0);
            INDArray z = matrix(logits, batch, k, (long) batch * j0);
            INDArray g = matrix(exps, batch, k, (long) batch * j0);
            // scale 1, no margin: dL/d"cos" is dL/dz, times lossScale/B
            kernel.backwardChunk(j0 / chunk, z, g, j0, lossScale / batch, null, null, null);
            finite &= Double.isFinite(g.sumNumber().doubleValue());
            INDArray w = rowsOf(weights, wChunk, sample.localIndices(), j0, k, true);
            Nd4j.gemm(g, w, dx, false, false, 1.0, 1.0);
        }
        pending = new Pending(sample, true, x, null, lossScale, batch);
        INDArray dxLocal;
        if (world == 1) {
            dxLocal = dx.dup();
        } else {
            dxLocal = Nd4j.createUninitialized(DataType.FLOAT, b, emb);
            collective.reduceScatter(dx.data().asNioFloat(), dxLocal.data().asNioFloat(),
                    org.plsc4j.core.collective.ReduceOp.SUM);
        }
        double sum = 0;
        for (double l : losses) {
            sum += l;
        }
        double loss = sum / batch;
        finite &= Double.isFinite(loss) && Double.isFinite(dx.sumNumber().doubleValue());
        return new StepResult(loss, dxLocal, s, acc1, acc5, finite);
    }

    /**
     * The plain softmax's update: {@code dW = gᵀ·x / lossScale}, {@code db = Σ_i g_i / lossScale}, and
     * Paddle's momentum with L2 decay on both, {@code v ← μ·v + (grad + wd·p); p ← p − lr·v}.
     */
    private void linearApplyUpdate(Pending p, double lr) {
        int s = p.sample().size();
        int batch = p.batch();
        float mu = (float) config.momentum();
        float wd = (float) config.weightDecay();
        float unscale = (float) (1.0 / p.lossScale());
        float[] coef = new float[chunk];
        Arrays.fill(coef, wd);
        float[] newNorms = new float[chunk];
        float[] b = bias.toFloatVector();
        float[] vb = biasMomentum.toFloatVector();
        int[] idx = p.sample().localIndices();
        for (int j0 = 0; j0 < s; j0 += chunk) {
            int k = Math.min(chunk, s - j0);
            INDArray g = matrix(exps, batch, k, (long) batch * j0);
            INDArray w = rowsOf(weights, wChunk, idx, j0, k, true);
            INDArray v = rowsOf(momentum, vChunk, idx, j0, k, true);
            INDArray grad = gChunk.get(NDArrayIndex.interval(0, k), NDArrayIndex.all());
            Nd4j.gemm(g, p.xHat(), grad, true, false, unscale, 0.0);
            MomentumUpdate.apply(w, v, grad, mu, coef, (float) lr, newNorms);
            storeBack(v, momentum, idx, j0, k, true, null);
            storeBack(w, weights, idx, j0, k, true, newNorms);
            System.arraycopy(newNorms, 0, norms, j0, k);
            float[] db = g.sum(0).toFloatVector();
            for (int j = 0; j < k; j++) {
                int c = j0 + j;
                vb[c] = mu * vb[c] + (db[j] * unscale + wd * b[c]);
                b[c] -= (float) lr * vb[c];
            }
        }
        bias.assign(Nd4j.createFromArray(b));
        biasMomentum.assign(Nd4j.createFromArray(vb));
    }

    /** Every row's logit {@code x_i·w_t + b_t} of its label, from the rank owning it (one all-reduce). */
    private float[] targetLinearLogits(INDArray x, int[] labels, ClassCenterSampler.Sample sample) {
        int batch = labels.length;
        float[] t = new float[batch];
        int start = layout.start(rank);
        int[] cols = sample.targetColumns();
        float[] row = new float[emb];
        for (int i = 0; i < batch; i++) {
            if (cols[i] >= 0) {
                int local = labels[i] - start;
                StoredRows.read(weights, local, 1, row, 0);
                double dot = 0;
                for (int d = 0; d < emb; d++) {
                    dot += (double) x.getFloat(i, d) * row[d];
                }
                t[i] = (float) (dot + bias.getFloat(local));
            }
        }
        if (collective.worldSize() > 1) {
            collective.allReduce(t, org.plsc4j.core.collective.ReduceOp.SUM);
        }
        return t;
    }

    /** Drops the update of the last {@link #forwardBackward} (a skipped step): nothing changes. */
    public void discardUpdate() {
        pending = null;
        if (ops != null) {
            ops.discard();
        }
    }

    /**
     * Writes chunk rows back to the shard: nothing for a float32 view, a copy for gathered float32 rows,
     * rounding for half storage (then {@code rowNorms}, when not null, become the stored rows' norms).
     */
    private static void storeBack(INDArray chunkRows, INDArray shard, int[] idx, int j0, int k, boolean full,
                                  float[] rowNorms) {
        if (shard.dataType() == DataType.FLOAT) {
            if (!full) {
                RowCopy.scatter(chunkRows, shard, Arrays.copyOfRange(idx, j0, j0 + k));
            }
        } else {
            StoredRows.scatter(chunkRows, shard, full ? null : idx, j0, k, rowNorms);
        }
    }

    /**
     * Every row's cosine with its label's center, from the rank owning the label (one all-reduce):
     * what the other classes' cosines are ranked against.
     */
    private float[] targetCosines(INDArray xHat, int[] labels, ClassCenterSampler.Sample sample) {
        int batch = labels.length;
        float[] t = new float[batch];
        int start = layout.start(rank);
        int[] cols = sample.targetColumns();
        for (int i = 0; i < batch; i++) {
            if (cols[i] >= 0) {
                int local = labels[i] - start;
                double dot;
                if (weightsDtype == FcDtype.FLOAT32) {
                    dot = xHat.getRow(i).mul(weights.getRow(local)).sumNumber().doubleValue();
                } else {
                    float[] row = new float[emb];
                    StoredRows.read(weights, local, 1, row, 0);
                    dot = xHat.getRow(i).mul(Nd4j.createFromArray(row)).sumNumber().doubleValue();
                }
                t[i] = (float) (dot / Math.max(norms[local], NORM_EPS));
            }
        }
        if (collective.worldSize() > 1) {
            collective.allReduce(t, org.plsc4j.core.collective.ReduceOp.SUM);
        }
        return t;
    }

    /** Counts, per row, this rank's sampled classes whose cosine is larger than the label's. */
    private static final class TopKCounter {
        private final float[] targetCos;
        private final int[] targetCols;
        private final int[] better;

        TopKCounter(float[] targetCos, int[] targetCols) {
            this.targetCos = targetCos;
            this.targetCols = targetCols;
            this.better = new int[targetCos.length];
        }

        /** Takes chunk [j0, j0 + z.columns()) of scaled cosines s·cos (before the margin is applied). */
        void count(INDArray z, int j0, float scale) {
            int rows = z.rows();
            int width = z.columns();
            float[] thr = new float[rows];
            for (int i = 0; i < rows; i++) {
                thr[i] = targetCos[i] * scale;
            }
            INDArray above = z.subColumnVector(Nd4j.createFromArray(thr).reshape(rows, 1)).gt(0)
                    .castTo(DataType.FLOAT).sum(1);
            float[] n = above.toFloatVector();
            for (int i = 0; i < rows; i++) {
                int c = Math.round(n[i]);
                int t = targetCols[i] - j0;
                if (t >= 0 && t < width && z.getFloat(i, t) > thr[i]) {
                    c--; // the label itself, recomputed in another order, may round a hair above
                }
                better[i] += c;
            }
        }

        int[] counts() {
            return better;
        }

        static double fractionBelow(int[] better, int k) {
            int hits = 0;
            for (int c : better) {
                if (c < k) {
                    hits++;
                }
            }
            return (double) hits / better.length;
        }
    }

    private void checkShapesAgree(int b) {
        int world = collective.worldSize();
        if (world == 1) {
            return;
        }
        int[] all = new int[2 * world];
        collective.allGather(new int[] {b, emb}, all);
        for (int r = 0; r < world; r++) {
            if (all[2 * r + 1] != emb) {
                throw new IllegalArgumentException("emb_size : rank " + r + " has " + all[2 * r + 1]
                        + " (expected: " + emb + " as on rank " + rank + ")");
            }
            if (all[2 * r] != b) {
                throw new IllegalArgumentException("local batch : rank " + r + " has " + all[2 * r]
                        + " rows (expected: " + b + " as on rank " + rank + "; the global batch must split evenly)");
            }
        }
    }

    private void ensureBuffers(int batch, int sampled) {
        if (bufRows != batch) {
            bufRows = batch;
            // the plain softmax runs the same kernel on raw logits: scale 1, no margin
            kernel = new MarginSoftmaxKernel(config.hasBias() ? MarginConfig.softmax(1) : config.margin(), batch);
            gradGathered = Nd4j.createUninitialized(DataType.FLOAT, batch, emb);
            logitsCapacity = 0;
        }
        if (wChunk == null) {
            wChunk = Nd4j.createUninitialized(DataType.FLOAT, chunk, emb);
            vChunk = Nd4j.createUninitialized(DataType.FLOAT, chunk, emb);
            gChunk = Nd4j.createUninitialized(DataType.FLOAT, chunk, emb);
        }
        long need = (long) batch * sampled;
        if (need > logitsCapacity) {
            logits = null;
            exps = null;
            logits = Nd4j.createBuffer(DataType.FLOAT, need, false);
            exps = Nd4j.createBuffer(DataType.FLOAT, need, false);
            logitsCapacity = need;
        }
    }

    /** A contiguous row-major [rows, cols] view of {@code buf} starting at element {@code offset}. */
    private static INDArray matrix(DataBuffer buf, int rows, int cols, long offset) {
        return Nd4j.create(buf, new long[] {rows, cols}, new long[] {cols, 1}, offset, 'c', DataType.FLOAT);
    }

    /** Rows j0..j0+k of the sample: a view of the shard when full, else gathered into {@code buf}. */
    private INDArray rowsOf(INDArray shard, INDArray buf, int[] idx, int j0, int k, boolean full) {
        if (shard.dataType() != DataType.FLOAT) {
            INDArray dst = buf.get(NDArrayIndex.interval(0, k), NDArrayIndex.all());
            StoredRows.gather(shard, dst, full ? null : idx, j0, k);
            return dst;
        }
        if (full) {
            return shard.get(NDArrayIndex.interval(j0, j0 + k), NDArrayIndex.all());
        }
        INDArray dst = buf.get(NDArrayIndex.interval(0, k), NDArrayIndex.all());
        RowCopy.gather(shard, dst, Arrays.copyOfRange(idx, j0, j0 + k));
        return dst;
    }

    /** {@code out[j] = factor / ‖w‖} for the sample's columns j0..j0+k; returns {@code out}. */
    private float[] inverseNorms(int[] idx, int j0, int k, boolean full, float factor, float[] out) {
        for (int j = 0; j < k; j++) {
            float n = norms[full ? j0 + j : idx[j0 + j]];
            out[j] = factor / Math.max(n, NORM_EPS);
        }
        return out;
    }

    /** acc1 and acc5 over all ranks from this rank's top-k counts (one all-reduce), NaN when not requested. */
    private double[] accuracies(TopKCounter topK, int world) {
        if (topK == null) {
            return new double[] {Double.NaN, Double.NaN};
        }
        int[] better = topK.counts();
        if (world > 1) {
            collective.allReduce(better, org.plsc4j.core.collective.ReduceOp.SUM);
        }
        return new double[] {TopKCounter.fractionBelow(better, 1), TopKCounter.fractionBelow(better, 5)};
    }
}
