package org.plsc4j.worker.internal;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.scalar.ScalarMin;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.worker.Backbone;
import org.plsc4j.worker.BackboneConfig;
import org.plsc4j.worker.InferenceModel;
import org.plsc4j.worker.ModelContext;

/**
 * The built-in face ResNets ({@link ResNetModel}) executed layer by layer through libnd4j's native
 * operations ({@link NativeOps}: oneDNN convolutions and batch norms in the {@code onednn} builds of
 * nd4j-native), with a hand-written backward pass and no autodiff library.
 *
 * <p>Why not SameDiff: its training session does not keep the forward's activations, so every
 * backward recomputed the whole forward; its batch norm and PReLU had to be written out as chains of
 * full-size elementwise ops (M2.1's fused ops fail in its backprop); and its intermediates are left
 * to the garbage collector, which let the resident memory reach 9–14 GB at batch 4. Here the
 * network is fixed and small enough (conv, batch norm, one-slope PReLU, residual add, dropout, FC)
 * that its backward is a few dozen lines, and each intermediate has an owner:
 * <ul>
 *   <li>kept for the backward, per block: its input (the previous block's output), the two
 *       convolution outputs {@code c1}, {@code c2} and the shortcut convolution's output; the
 *       batch-norm outputs and the PReLU output (inputs of the next convolution) are recomputed in the
 *       backward from those and the batch statistics (cheap elementwise passes that halve the
 *       memory a step keeps);</li>
 *   <li>everything else is transient and lives in three scratch roles plus the two gradient roles
 *       of the backward ({@link Buffers#scratch}: one arena each, sized by the largest activation,
 *       reused across layers and by the inference pass), written in place wherever the math allows
 *       (PReLU and batch-norm backward over their incoming gradient);</li>
 *   <li>all of it is reused from step to step; a kept array is reallocated when its shape changes
 *       (another batch size), the arenas only grow.</li>
 * </ul>
 *
 * <p>Same contract as {@link SameDiffBackbone}, which stays the reference (and the engine of custom
 * models): the parameters, their names, shapes, layouts and seeded values are created by building
 * the same {@link ResNetModel} through {@link GraphBuilder} (the graph itself is discarded), batch
 * norm folds the biased batch variance into the running statistics with momentum 0.9, dropout masks
 * come from {@link DropoutMasks}; the inference view embeds through this engine and saves
 * SameDiff's inference graph of the same arrays. Float64 works (libnd4j's generic kernels) for the
 * gradient checks.
 */
public final class NativeResNetBackbone implements Backbone {

    /** System property: {@code dnnl} (default) or {@code libnd4j}, the kernels of the float32 convolutions. */
    public static final String CONV_PROPERTY = "plsc4j.backbone.conv";

    /** Scratch roles ({@link Buffers#scratch}) of the forward, backward and inference passes. */
    private static final String T1 = "t1";
    private static final String T2 = "t2";
    private static final String T3 = "t3";
    /** The gradient ping-pong of the backward (block i writes GRAD[i % 2]), the activations' in inference. */
    private static final String[] GRAD = {"grad0", "grad1"};
    private static final String[] SCRATCH = {T1, T2, T3};

    private final ResNetModel model;
    private final DnnlConv.Scratch convScratch;
    private final Dnnl dnnl;
    private final BackboneConfig config;
    private final DataType type;
    private final ParameterRegistry registry = new ParameterRegistry();
    private final Map<String, INDArray> grads = new LinkedHashMap<>();
    private final Map<String, INDArray> gradsView = Collections.unmodifiableMap(grads);
    private final Conv stemConv;
    private final Bn stemBn;
    private final Prelu stemPrelu;
    private final List<Block> blocks = new ArrayList<>();
    private final Bn headBn;
    private final INDArray fcW;
    private final INDArray fcB;
    private final Bn embBn;
    private final long[] headShape;
    private final double dropP;
    private final Buffers train;
    private final long largestPerSample;
    private final long bytesPerSample;
    private long trainForwards;
    private INDArray lastImages;
    private INDArray lastMask;
    private long lastBatch = -1;
    private InferenceModel inference;

    /**
     * Creates the parameters of {@code model} from the config seed, exactly as {@link SameDiffBackbone}
     * would; float32 convolutions on oneDNN directly ({@link DnnlConv}) unless the system property
     * {@value #CONV_PROPERTY} is {@code libnd4j} or oneDNN's natives are unavailable here.
     */
    public NativeResNetBackbone(ResNetModel model, BackboneConfig config) {
        this(model, config, !"libnd4j".equals(System.getProperty(CONV_PROPERTY, "dnnl")));
    }

    /** As above; {@code dnnlConvolutions = false} runs every convolution through libnd4j's ops. */
    public NativeResNetBackbone(ResNetModel model, BackboneConfig config, boolean dnnlConvolutions) {
        this.model = model;
        this.config = config;
        this.type = config.dataType();
        SameDiff sd = SameDiff.create();
        SDVariable input = sd.placeHolder(SameDiffBackbone.INPUT, type, -1, config.channels(), config.height(),
                config.width());
        model.buildNetwork(sd, input, true, new GraphBuilder(sd, config, true, registry));
        registry.params().forEach((name, arr) -> grads.put(name, Nd4j.zeros(arr.dataType(), arr.shape())));
        Dnnl dnnl = dnnlConvolutions && type == DataType.FLOAT ? Dnnl.get() : null;
        convScratch = dnnl == null ? null : new DnnlConv.Scratch(dnnl);
        this.dnnl = dnnl;
        Map<String, BatchNormSlot> slots = new LinkedHashMap<>();
        registry.batchNorms().forEach(s -> slots.put(s.name(), s));
        stemConv = conv("stem.conv", 1, 1);
        stemBn = bn("stem.bn", slots);
        stemPrelu = prelu("stem.prelu");
        int in = 64;
        long h = config.height();
        long w = config.width();
        int[] depth = model.depth();
        for (int s = 0; s < depth.length; s++) {
            int out = ResNetModel.FILTERS[s];
            for (int i = 0; i < depth[s]; i++) {
                String n = "stage" + (s + 1) + ".block" + i;
                int stride = i == 0 ? 2 : 1;
                boolean down = in != out || stride != 1;
                long oh = stride == 2 ? ResNetModel.halve((int) h) : h;
                long ow = stride == 2 ? ResNetModel.halve((int) w) : w;
                blocks.add(new Block(bn(n + ".bn1", slots), conv(n + ".conv1", 1, 1), bn(n + ".bn2", slots),
                        prelu(n + ".prelu1"), conv(n + ".conv2", stride, 1), bn(n + ".bn3", slots),
                        down ? conv(n + ".short_conv", stride, 0) : null, down ? bn(n + ".short_bn", slots) : null,
                        new long[] {in, h, w}, new long[] {out, h, w}, new long[] {out, oh, ow}));
                in = out;
                h = oh;
                w = ow;
            }
        }
        headShape = new long[] {in, h, w};
        headBn = bn("head.bn", slots);
        fcW = registry.param("head.fc.w");
        fcB = registry.param("head.fc.b");
        embBn = bn("head.bn_emb", slots);
        if (registry.dropouts().size() != 1 || registry.params().size() != grads.size()) {
            throw new IllegalStateException("unexpected ResNet layout of " + model);
        }
        dropP = registry.dropouts().get(0).p();
        train = new Buffers(type);
        long largest = 64L * config.height() * config.width();
        for (Block k : blocks) {
            largest = Math.max(largest, Math.max(size(k.inShape), Math.max(size(k.midShape), size(k.outShape))));
        }
        largestPerSample = largest;
        bytesPerSample = estimateBytesPerSample();
    }

    private Conv conv(String name, int stride, int pad) {
        return new Conv(registry.param(name + ".w"), grads.get(name + ".w"), stride, pad,
                convScratch == null ? null : new DnnlConv(convScratch, stride, pad));
    }

    private Bn bn(String name, Map<String, BatchNormSlot> slots) {
        INDArray gamma = registry.param(name + ".gamma");
        long c = gamma.length();
        return new Bn(gamma, registry.param(name + ".beta"), grads.get(name + ".gamma"), grads.get(name + ".beta"),
                slots.get(name), Nd4j.create(type, c), Nd4j.create(type, c), Nd4j.create(type, c),
                Nd4j.create(type, c), dnnl == null ? null : new DnnlBatchNorm(dnnl, ModelContext.BN_EPSILON));
    }

    private Prelu prelu(String name) {
        return new Prelu(registry.param(name + ".alpha"), grads.get(name + ".alpha"));
    }

    @Override
    public BackboneConfig config() {
        return config;
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
        INDArray emb = trainForward(images, dropoutSeed, true);
        trainForwards++;
        return emb;
    }

    @Override
    public INDArray recomputeTrain(INDArray images, long dropoutSeed) {
        return trainForward(images, dropoutSeed, false);
    }

    private static long[] batched(long b, long[] perSample) {
        long[] s = new long[perSample.length + 1];
        s[0] = b;
        System.arraycopy(perSample, 0, s, 1, perSample.length);
        return s;
    }

    private synchronized INDArray trainForward(INDArray images, long dropoutSeed, boolean updateRunning) {
        INDArray x = Shapes.checkImages(images, config);
        long b = x.size(0);
        lastBatch = -1;
        for (String role : SCRATCH) {
            train.reserve(role, b * largestPerSample); // grown here, never mid-step
        }
        INDArray c0 = train.get("stem.c", b, 64, config.height(), config.width());
        stemConv.forward(x, c0);
        INDArray cur = train.get("stem.p", b, 64, config.height(), config.width());
        stemBn.train(c0, cur);
        NativeOps.prelu(cur, stemPrelu.alpha(), cur);
        for (int i = 0; i < blocks.size(); i++) {
            Block k = blocks.get(i);
            k.in = cur;
            INDArray t1 = train.scratch(T1, batched(b, k.inShape));
            k.bn1.train(cur, t1);
            k.c1 = train.get("c1." + i, batched(b, k.midShape));
            k.conv1.forward(t1, k.c1);
            INDArray t2 = train.scratch(T1, batched(b, k.midShape));
            k.bn2.train(k.c1, t2);
            NativeOps.prelu(t2, k.prelu.alpha(), t2);
            k.c2 = train.get("c2." + i, batched(b, k.outShape));
            k.conv2.forward(t2, k.c2);
            INDArray out = train.get("out." + i, batched(b, k.outShape));
            k.bn3.train(k.c2, out);
            if (k.shortConv != null) {
                k.s = train.get("s." + i, batched(b, k.outShape));
                k.shortConv.forward(cur, k.s);
                INDArray t3 = train.scratch(T1, batched(b, k.outShape));
                k.shortBn.train(k.s, t3);
                out.addi(t3);
            } else {
                out.addi(cur);
            }
            cur = out;
        }
        INDArray d = train.get("head.d", batched(b, headShape));
        headBn.train(cur, d);
        INDArray mask = DropoutMasks.mask(b, headShape, dropP, DropoutMasks.seed(config.seed(), dropoutSeed, 0), type);
        d.muli(mask);
        INDArray f = train.get("head.f", b, config.embSize());
        Nd4j.gemm(d.reshape(b, fcW.size(0)), fcW, f, false, false, 1.0, 0.0);
        f.addiRowVector(fcB);
        INDArray emb = Nd4j.create(type, b, config.embSize());
        embBn.train(f, emb);
        if (updateRunning) {
            stemBn.fold();
            for (Block k : blocks) {
                k.bn1.fold();
                k.bn2.fold();
                k.bn3.fold();
                if (k.shortBn != null) {
                    k.shortBn.fold();
                }
            }
            headBn.fold();
            embBn.fold();
        }
        if (lastMask != null) {
            lastMask.close();
        }
        lastMask = mask;
        lastImages = x;
        lastBatch = b;
        return emb;
    }

    @Override
    public synchronized void backward(INDArray dEmbedding) {
        if (lastBatch < 0) {
            throw new IllegalStateException("backward without a training forward (expected: forward(images, true) first)");
        }
        long b = lastBatch;
        if (dEmbedding.rank() != 2 || dEmbedding.size(0) != b || dEmbedding.size(1) != config.embSize()) {
            throw new IllegalArgumentException("dEmbedding shape : " + Arrays.toString(dEmbedding.shape())
                    + " (expected: [" + b + ", " + config.embSize() + "] as the last training forward)");
        }
        INDArray dEmb = dEmbedding.dataType() == type ? dEmbedding : dEmbedding.castTo(type);
        // head: bn_emb, fc, dropout, bn
        INDArray f = train.get("head.f", b, config.embSize());
        INDArray df = train.get("g.f", b, config.embSize());
        embBn.backward(f, dEmb, df, train.get("g.tmp", b, config.embSize()));
        INDArray d = train.get("head.d", batched(b, headShape));
        long flat = fcW.size(0);
        Nd4j.gemm(d.reshape(b, flat), df, grads.get("head.fc.w"), true, false, 1.0, 0.0);
        grads.get("head.fc.b").assign(df.sum(0));
        INDArray dd = train.get("g.d", batched(b, headShape));
        Nd4j.gemm(df, fcW, dd.reshape(b, flat), false, true, 1.0, 0.0);
        dd.muli(lastMask);
        Block last = blocks.get(blocks.size() - 1);
        INDArray dCur = train.scratch(GRAD[blocks.size() % 2], batched(b, last.outShape));
        headBn.backward(train.get("out." + (blocks.size() - 1), batched(b, last.outShape)), dd, dCur,
                train.scratch(T3, batched(b, last.outShape)));
        for (int i = blocks.size() - 1; i >= 0; i--) {
            Block k = blocks.get(i);
            INDArray dx = train.scratch(GRAD[i % 2], batched(b, k.inShape));
            k.backward(b, dCur, dx);
            dCur = dx;
        }
        // stem: prelu, bn, conv; dCur (block 0's input gradient) becomes the stem's, in place
        long[] stemShape = {b, 64, config.height(), config.width()};
        INDArray c0 = train.get("stem.c", stemShape);
        INDArray b0 = train.scratch(T1, stemShape);
        stemBn.apply(c0, b0);
        INDArray tmp = train.scratch(T3, stemShape);
        stemPrelu.backwardInPlace(b0, dCur, tmp);
        stemBn.backward(c0, dCur, dCur, tmp);
        INDArray dImg = train.get("g.img", lastImages.shape());
        stemConv.backward(lastImages, dCur, dImg);
    }

    /** Embeddings with running statistics and no dropout (the inference view's engine). */
    synchronized INDArray infer(INDArray images) {
        INDArray x = Shapes.checkImages(images, config);
        long b = x.size(0);
        Buffers infer = train; // the training scratch roles, free between training calls (all synchronized)
        INDArray cur = infer.scratch(GRAD[0], b, 64, config.height(), config.width());
        stemConv.forward(x, cur);
        stemBn.eval(cur, cur);
        NativeOps.prelu(cur, stemPrelu.alpha(), cur);
        for (int i = 0; i < blocks.size(); i++) {
            Block k = blocks.get(i);
            INDArray t1 = infer.scratch(T1, batched(b, k.inShape));
            k.bn1.eval(cur, t1);
            INDArray t2 = infer.scratch(T2, batched(b, k.midShape));
            k.conv1.forward(t1, t2);
            k.bn2.eval(t2, t2);
            NativeOps.prelu(t2, k.prelu.alpha(), t2);
            INDArray out = infer.scratch(GRAD[(i + 1) % 2], batched(b, k.outShape));
            k.conv2.forward(t2, out);
            k.bn3.eval(out, out);
            if (k.shortConv != null) {
                INDArray t3 = infer.scratch(T1, batched(b, k.outShape));
                k.shortConv.forward(cur, t3);
                k.shortBn.eval(t3, t3);
                out.addi(t3);
            } else {
                out.addi(cur);
            }
            cur = out;
        }
        INDArray d = infer.get("infer.d", batched(b, headShape));
        headBn.eval(cur, d);
        INDArray f = infer.get("infer.f", b, config.embSize());
        Nd4j.gemm(d.reshape(b, fcW.size(0)), fcW, f, false, false, 1.0, 0.0);
        f.addiRowVector(fcB);
        INDArray emb = Nd4j.create(type, b, config.embSize());
        embBn.eval(f, emb);
        return emb;
    }

    /** Native bytes the reusable training buffers hold now (for tests and the per-sample estimate). */
    public long trainingBufferBytes() {
        return train.bytes(); // + DnnlConv's scratch: two activation-sized slots, within the estimate
    }

    /** Native bytes of DnnlConv's shared blocked-layout scratch now (0 without oneDNN). */
    long convScratchBytes() {
        return convScratch == null ? 0 : convScratch.bytes();
    }

    @Override
    public long trainingBytesPerSample() {
        return bytesPerSample;
    }

    /**
     * Per image: the activations {@link #trainForward} keeps for the backward (stem conv and PReLU
     * outputs; per block c1, c2, the output and the shortcut's conv output), the five scratch roles
     * (T1–T3 and the two gradients, each at most the largest activation), the head's arrays, and
     * oneDNN's blocked copies of a layer's operands (bounded by three of the largest activation).
     */
    private long estimateBytesPerSample() {
        long n = 2 * 64L * config.height() * config.width(); // stem.c, stem.p
        for (Block k : blocks) {
            n += size(k.midShape) + 2 * size(k.outShape) + (k.shortConv != null ? size(k.outShape) : 0);
        }
        n += 5 * largestPerSample + 3 * largestPerSample;
        long head = size(headShape);
        n += 3 * head + 4L * config.embSize() + (long) config.channels() * config.height() * config.width();
        return n * type.width();
    }

    private static long size(long[] s) {
        return Buffers.length(s);
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
            inference = new NativeInferenceModel(this, () -> {
                SameDiff sd = SameDiff.create();
                SDVariable input = sd.placeHolder(SameDiffBackbone.INPUT, type, -1, config.channels(),
                        config.height(), config.width());
                SDVariable emb = model.buildNetwork(sd, input, false, new GraphBuilder(sd, config, false, registry));
                sd.identity(SameDiffBackbone.EMBEDDING, emb);
                return new SameDiffInferenceModel(sd, config);
            });
        }
        return inference;
    }

    @Override
    public String toString() {
        return "NativeResNetBackbone[" + model + ", " + config + "]";
    }

    /** A bias-free convolution and its weight gradient; on oneDNN directly when {@code dnnl} is set. */
    private record Conv(INDArray w, INDArray gw, int stride, int pad, DnnlConv dnnl) {

        void forward(INDArray x, INDArray out) {
            if (dnnl != null) {
                dnnl.forward(whole(x), w, out);
            } else {
                NativeOps.conv2d(x, w, stride, pad, out);
            }
        }

        /** dL/dx into {@code gradX} and dL/dw into {@link #gw}. */
        void backward(INDArray x, INDArray gradOut, INDArray gradX) {
            if (dnnl != null) {
                dnnl.backward(whole(x), w, gradOut, gradX, gw);
            } else {
                NativeOps.conv2dBp(x, w, gradOut, stride, pad, gradX, gw);
            }
        }

        private static INDArray whole(INDArray a) {
            return Dnnl.dense(a) ? a : a.dup('c');
        }
    }

    /** One-slope PReLU and its gradient. */
    private record Prelu(INDArray alphaArr, INDArray gAlpha) {

        double alpha() {
            return alphaArr.getDouble(0);
        }

        /**
         * dL/dα into {@link #gAlpha}, and {@code grad} (dL/d output on entry) becomes dL/dx in place
         * ({@code scratch} has x's shape and aliases neither).
         */
        void backwardInPlace(INDArray x, INDArray grad, INDArray scratch) {
            Nd4j.getExecutioner().exec(new ScalarMin(x, null, scratch, 0.0));
            gAlpha.putScalar(0, Nd4j.getBlasWrapper().dot(scratch, grad));
            NativeOps.preluBpInPlace(x, grad, alpha(), scratch);
        }
    }

    /** A batch norm: parameters, their gradients, the last training batch's statistics and scratch. */
    private record Bn(INDArray gamma, INDArray beta, INDArray gGamma, INDArray gBeta, BatchNormSlot slot,
                      INDArray mean, INDArray var, INDArray gMean, INDArray gVar, DnnlBatchNorm dnnl) {

        /** Whether oneDNN's fused batch norm takes these operands (NCHW float32 whole arrays). */
        private boolean onDnnl(INDArray x, INDArray other, INDArray m, INDArray v) {
            return dnnl != null && x.rank() == 4 && DnnlBatchNorm.whole(x) && DnnlBatchNorm.whole(other)
                    && DnnlBatchNorm.whole(m) && DnnlBatchNorm.whole(v) && DnnlBatchNorm.whole(gamma)
                    && DnnlBatchNorm.whole(beta) && DnnlBatchNorm.whole(gGamma) && DnnlBatchNorm.whole(gBeta);
        }

        /** Batch statistics of x, then {@code out = bn(x)} with them. */
        void train(INDArray x, INDArray out) {
            if (onDnnl(x, out, mean, var)) {
                dnnl.train(x, gamma, beta, mean, var, out);
                return;
            }
            NativeOps.moments(x, mean, var);
            apply(x, out);
        }

        /** {@code out = bn(x)} with the last batch statistics. */
        void apply(INDArray x, INDArray out) {
            if (onDnnl(x, out, mean, var)) {
                dnnl.apply(x, gamma, beta, mean, var, out);
                return;
            }
            NativeOps.batchNorm(x, mean, var, gamma, beta, ModelContext.BN_EPSILON, out);
        }

        /** {@code out = bn(x)} with the running statistics. */
        void eval(INDArray x, INDArray out) {
            if (onDnnl(x, out, slot.runningMean(), slot.runningVar())) {
                dnnl.apply(x, gamma, beta, slot.runningMean(), slot.runningVar(), out);
                return;
            }
            NativeOps.batchNorm(x, slot.runningMean(), slot.runningVar(), gamma, beta, ModelContext.BN_EPSILON, out);
        }

        /** Folds the last batch statistics into the running statistics. */
        void fold() {
            slot.update(mean, var);
        }

        /**
         * Backward of the training-mode batch norm, through the batch statistics too:
         * {@code dx = γ·inv·(dy − Σdy/M − x̂·Σ(dy·x̂)/M)} with inv = 1/sqrt(var + ε) and M values per
         * channel, i.e. two reductions and two per-channel affine maps, done with libnd4j's
         * {@code batchnorm} op (oneDNN in float32; {@code batchnorm(v, μ, 1 − ε, s, t) = (v − μ)·s + t}).
         * Not libnd4j's {@code batchnorm_bp}: its oneDNN path measured 30 ms on a [16, 64, 56, 56]
         * tensor (the batchnorm forward: 2 ms), and its generic path is accurate to only ~1e-8
         * relative in float64. {@code scratch} has x's shape and aliases none of the others;
         * {@code gradX} may be {@code gradOut} (in place).
         */
        void backward(INDArray x, INDArray gradOut, INDArray gradX, INDArray scratch) {
            if (onDnnl(x, gradOut, mean, var) && DnnlBatchNorm.whole(gradX)) {
                dnnl.backward(x, gamma, beta, mean, var, gradOut, gradX, gGamma, gBeta);
                return;
            }
            int[] axes = x.rank() == 4 ? new int[] {0, 2, 3} : new int[] {0};
            double m = x.length() / x.size(1);
            double eps = ModelContext.BN_EPSILON;
            INDArray zero = gMean.assign(0);
            INDArray unit = gVar.assign(1);
            NativeOps.batchNorm(x, mean, var, unit, zero, eps, scratch); // x̂
            INDArray dGamma = scratch.muli(gradOut).sum(axes); // Σ dy·x̂
            INDArray sumDy = gradOut.sum(axes);
            gGamma.assign(dGamma);
            gBeta.assign(sumDy);
            INDArray inv = Nd4j.math().rsqrt(var.add(eps));
            INDArray a = gamma.mul(inv);
            INDArray b = a.mul(inv).muli(dGamma).divi(-m);
            INDArray c = a.mul(sumDy).divi(-m);
            unit.assign(1 - eps); // batchnorm(v, μ, 1 − ε, s, t) = (v − μ)·s + t
            NativeOps.batchNorm(gradOut, zero, unit, a, zero, eps, scratch); // before gradX: it may be gradOut
            NativeOps.batchNorm(x, mean, unit, b, c, eps, gradX);
            gradX.addi(scratch);
        }
    }

    /** One IR block and the activations its backward needs from the last training forward. */
    private final class Block {
        final Bn bn1;
        final Conv conv1;
        final Bn bn2;
        final Prelu prelu;
        final Conv conv2;
        final Bn bn3;
        final Conv shortConv;
        final Bn shortBn;
        final long[] inShape;
        final long[] midShape;
        final long[] outShape;
        INDArray in;
        INDArray c1;
        INDArray c2;
        INDArray s;

        Block(Bn bn1, Conv conv1, Bn bn2, Prelu prelu, Conv conv2, Bn bn3, Conv shortConv, Bn shortBn,
              long[] inShape, long[] midShape, long[] outShape) {
            this.bn1 = bn1;
            this.conv1 = conv1;
            this.bn2 = bn2;
            this.prelu = prelu;
            this.conv2 = conv2;
            this.bn3 = bn3;
            this.shortConv = shortConv;
            this.shortBn = shortBn;
            this.inShape = inShape;
            this.midShape = midShape;
            this.outShape = outShape;
        }

        /**
         * dL/d(block input) into {@code dx} from dL/d(block output) {@code dOut}; parameter gradients
         * stored. Three scratch roles T1–T3 (each the largest activation) carry every intermediate;
         * the comments name what each holds, in the order the values live and die.
         */
        void backward(long b, INDArray dOut, INDArray dx) {
            long[] xs = batched(b, inShape);
            long[] ms = batched(b, midShape);
            long[] os = batched(b, outShape);
            INDArray dc2 = train.scratch(T3, os); // T3: dc2
            bn3.backward(c2, dOut, dc2, train.scratch(T1, os));
            INDArray p = train.scratch(T1, ms); // T1: p = prelu(bn2(c1)), conv2's input
            bn2.apply(c1, p);
            NativeOps.prelu(p, prelu.alpha(), p);
            INDArray dp = train.scratch(T2, ms); // T2: dp -> db2 -> dc1
            conv2.backward(p, dc2, dp);
            INDArray b2 = train.scratch(T1, ms); // T1: b2 = bn2(c1) recomputed over p (its last use was above)
            bn2.apply(c1, b2);
            INDArray tmp = train.scratch(T3, ms); // T3: free (dc2 dead)
            prelu.backwardInPlace(b2, dp, tmp);
            bn2.backward(c1, dp, dp, tmp);
            INDArray y1 = train.scratch(T3, xs); // T3: y1 = bn1(in), conv1's input
            bn1.apply(in, y1);
            INDArray dy1 = train.scratch(T1, xs); // T1: dy1 (b2 dead)
            conv1.backward(y1, dp, dy1);
            bn1.backward(in, dy1, dx, train.scratch(T3, xs));
            if (shortConv != null) {
                INDArray ds = train.scratch(T2, os); // T2: ds (dc1 dead)
                shortBn.backward(s, dOut, ds, train.scratch(T3, os));
                INDArray dxs = train.scratch(T1, xs); // T1: the shortcut's input gradient (dy1 dead)
                shortConv.backward(in, ds, dxs);
                dx.addi(dxs);
            } else {
                dx.addi(dOut);
            }
        }
    }
}
