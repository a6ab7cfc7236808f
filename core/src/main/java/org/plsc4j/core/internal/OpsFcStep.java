package org.plsc4j.core.internal;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.scalar.ScalarMax;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.impl.shape.OneHot;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.plsc4j.core.ClassCenterSampler;
import org.plsc4j.core.ClassLayout;
import org.plsc4j.core.FcConfig;
import org.plsc4j.core.collective.Collective;
import org.plsc4j.core.collective.ReduceOp;

/**
 * The FC step of {@link org.plsc4j.core.PartialFc} written with ND4J operations only, so that on the CUDA
 * backend every tensor stays on the device: a gather of the sampled rows, one gemm for the cosines,
 * broadcasts, exp and row reductions for the distributed softmax, two gemms for the gradients, the
 * momentum update as array arithmetic, and a scatter of the updated rows.
 *
 * <p>Same contract as the fused step (same sample, same loss, feature gradient, rows and momentum to
 * float tolerance); what crosses to the host per step is the loss, the finiteness flag and, with
 * accuracy, one count per row. The loss-specific part is {@link TargetLogitOps}; PLSC's plain softmax
 * ({@code FcHead.LINEAR_BIAS}: raw features, a per-class bias, no margin) is a branch of its own. Unlike the fused step it
 * materialises [B, S] matrices (cosines, probabilities, gradient) for the whole sample at once: on a GPU
 * that is what the device is for; on a CPU the fused step stays the faster one.
 *
 * <p>Half-precision storage: the gathered rows are widened to float32 and the updated rows narrowed
 * back by ND4J's casts (round to nearest even), as the fused step does.
 *
 * <p>Memory: the [B, S] and [S, D] work arrays are allocated once (grown when a batch or sample is
 * larger) and every operation on them is in place. Why: a fresh 50 MB array per operation made the step
 * 10× slower on the CPU (each allocation waited for JavaCPP's off-heap accounting and the GC to free the
 * previous ones), and on a GPU the same churn waits for ND4J's garbage-collected device memory.
 */
public final class OpsFcStep {

    private static final float NORM_EPS = 1e-12f;

    /** What {@link #forwardBackward} leaves for {@link #applyUpdate}. */
    private record Pending(int[] indices, boolean full, INDArray xHat, INDArray w, INDArray invNorm, INDArray gradCos,
                           INDArray colDot, double lossScale) {
    }

    /**
     * What one forward-backward produced (the fields of {@code PartialFc.StepResult}).
     *
     * @param loss mean loss over the global batch
     * @param featureGrad dL/d(local features) [b, D]
     * @param sampled classes used on this rank
     * @param acc1 top-1 accuracy or NaN
     * @param acc5 top-5 accuracy or NaN
     * @param finite whether loss and gradients are finite
     */
    public record Result(double loss, INDArray featureGrad, int sampled, double acc1, double acc5, boolean finite) {
    }

    private final FcConfig config;
    private final Collective collective;
    private final ClassLayout layout;
    private final int rank;
    private final int numLocal;
    private final int emb;
    private final INDArray weights;
    private final INDArray momentum;
    /** The plain softmax's per-class bias [C_r] and its momentum (float32), or null for a cosine head. */
    private final INDArray bias;
    private final INDArray biasMomentum;
    private Pending pending;

    // work arrays, reused from step to step (views of their first rows / elements are taken per step)
    private long bsCapacity;
    private INDArray cosBuf;
    private INDArray gradBuf;
    private INDArray onehotBuf;
    private INDArray tmpBuf;
    private int sdCapacity;
    private INDArray wBuf;
    private INDArray vBuf;
    private INDArray tmpRows;

    /** A step over the shard {@code weights} / {@code momentum} [C_r, D] (any storage type), updated in place. */
    public OpsFcStep(FcConfig config, Collective collective, ClassLayout layout, INDArray weights, INDArray momentum) {
        this(config, collective, layout, weights, momentum, null, null);
    }

    /**
     * As {@link #OpsFcStep(FcConfig, Collective, ClassLayout, INDArray, INDArray)}, with the plain softmax's
     * bias and bias momentum [C_r] (float32, updated in place; both null for a cosine head).
     *
     * @throws IllegalArgumentException when the head has a bias and none is given, or the other way round
     */
    public OpsFcStep(FcConfig config, Collective collective, ClassLayout layout, INDArray weights, INDArray momentum,
                     INDArray bias, INDArray biasMomentum) {
        if (config.hasBias() != (bias != null) || (bias == null) != (biasMomentum == null)) {
            throw new IllegalArgumentException("bias : " + (bias == null ? "none" : "given") + " for a "
                    + config.head().key() + " FC (expected: a bias and its momentum exactly when the head has one)");
        }
        this.bias = bias;
        this.biasMomentum = biasMomentum;
        this.config = config;
        this.collective = collective;
        this.layout = layout;
        this.rank = collective.rank();
        this.numLocal = layout.size(rank);
        this.emb = config.embSize();
        this.weights = weights;
        this.momentum = momentum;
    }

    /** Whether a forward-backward waits for its update. */
    public boolean hasPending() {
        return pending != null;
    }

    /** Drops the pending update. */
    public void discard() {
        pending = null;
    }

    /**
     * The forward and backward pass (inputs already validated by the caller): gathers the normalised
     * features and the labels, samples, computes the loss and the gradients times {@code lossScale}.
     */
    public Result forwardBackward(INDArray localFeatures, int[] localLabels, long step, boolean calcAcc,
                                  double lossScale) {
        if (bias != null) {
            return linearForwardBackward(localFeatures, localLabels, step, calcAcc, lossScale);
        }
        int b = localFeatures.rows();
        int world = collective.worldSize();
        int batch = b * world;

        // 1. normalise the local features, gather them and the labels
        INDArray x = localFeatures.castTo(DataType.FLOAT);
        INDArray xNorm = x.norm2(1);
        Nd4j.getExecutioner().exec(new ScalarMax(xNorm, NORM_EPS));
        INDArray xHatLocal = x.divColumnVector(xNorm);
        INDArray xHat;
        int[] labels;
        if (world == 1) {
            xHat = xHatLocal;
            labels = localLabels.clone();
        } else {
            xHat = Nd4j.createUninitialized(DataType.FLOAT, batch, emb);
            collective.allGather(xHatLocal, xHat);
            labels = new int[batch];
            collective.allGather(localLabels, labels);
        }

        // 2. sample, gather the sampled rows (float32), their inverse norms
        ClassCenterSampler.Sample sample =
                ClassCenterSampler.sample(labels, layout, rank, config.sampleRatio(), config.seed(), step);
        int s = sample.size();
        boolean full = s == numLocal && config.sampleRatio() == 1.0;
        ensure(batch, s, full);
        INDArray w = rows(weights, wBuf, sample.localIndices(), s, full);
        INDArray invNorm = w.norm2(1);
        Nd4j.getExecutioner().exec(new ScalarMax(invNorm, NORM_EPS));
        invNorm = invNorm.rdivi(1.0);

        // 3. cosines, the target logits, the distributed softmax
        INDArray cos = matrix(cosBuf, batch, s);
        Nd4j.gemm(xHat, w, cos, false, true, 1.0, 0.0);
        cos.muliRowVector(invNorm);
        INDArray onehot = matrix(onehotBuf, batch, s);
        Nd4j.exec(new OneHot(Nd4j.createFromArray(sample.targetColumns()), onehot, s));
        INDArray tmp = matrix(tmpBuf, batch, s);
        INDArray targetCos = tmp.assign(cos).muli(onehot).sum(1);
        INDArray hasTarget = onehot.sum(1);
        INDArray[] fd = TargetLogitOps.valueAndDerivative(targetCos, config.margin());
        float scale = (float) config.margin().scale();
        INDArray targetZ = fd[0].muli(hasTarget).muli(scale);
        // z = s·cos, and s·f(cos) at the targets
        INDArray z = matrix(gradBuf, batch, s).assign(cos).muli(scale);
        z.addi(tmp.assign(onehot).muliColumnVector(targetZ.sub(targetCos.mul(scale))));
        INDArray max = z.max(1);
        if (world > 1) {
            collective.allReduce(max, ReduceOp.MAX);
        }
        INDArray e = Transforms.exp(z.subiColumnVector(max), false);
        INDArray sums = Nd4j.vstack(e.sum(1).reshape(1, batch), targetZ.reshape(1, batch));
        if (world > 1) {
            collective.allReduce(sums, ReduceOp.SUM);
        }
        INDArray sum = sums.getRow(0).reshape(batch);
        INDArray lossRows = Transforms.log(sum, true).addi(max).subi(sums.getRow(1).reshape(batch));
        double loss = lossRows.sumNumber().doubleValue() / batch;

        double acc1 = Double.NaN;
        double acc5 = Double.NaN;
        if (calcAcc) {
            INDArray t = targetCos.mul(hasTarget);
            if (world > 1) {
                collective.allReduce(t, ReduceOp.SUM);
            }
            float[] counts = tmp.assign(cos).subiColumnVector(t).gt(0).castTo(DataType.FLOAT).sum(1).toFloatVector();
            int[] better = new int[batch];
            for (int i = 0; i < batch; i++) {
                better[i] = Math.round(counts[i]);
            }
            if (world > 1) {
                collective.allReduce(better, ReduceOp.SUM);
            }
            acc1 = fractionBelow(better, 1);
            acc5 = fractionBelow(better, 5);
        }

        // 4. dL/dcos = s·(p − onehot)·lossScale/B, times f'(cos) at the targets
        INDArray g = e.diviColumnVector(sum).subi(onehot).muli(scale * lossScale / batch);
        g.muli(tmp.assign(onehot).muliColumnVector(fd[1].subi(1.0)).addi(1.0));
        INDArray colDot = tmp.assign(g).muli(cos).sum(0);
        INDArray gn = g.muliRowVector(invNorm);
        boolean finite = Double.isFinite(loss) && Double.isFinite(gn.sumNumber().doubleValue());
        INDArray dxHat = Nd4j.createUninitialized(DataType.FLOAT, batch, emb);
        Nd4j.gemm(gn, w, dxHat, false, false, 1.0, 0.0);
        pending = new Pending(sample.localIndices(), full, xHat, w, invNorm, gn, colDot, lossScale);

        // 5. each rank's rows of the gradient, then through the feature normalisation
        INDArray dxHatLocal;
        if (world == 1) {
            dxHatLocal = dxHat;
        } else {
            dxHatLocal = Nd4j.createUninitialized(DataType.FLOAT, b, emb);
            collective.reduceScatter(dxHat, dxHatLocal, ReduceOp.SUM);
        }
        finite &= Double.isFinite(dxHat.sumNumber().doubleValue());
        INDArray dot = xHatLocal.mul(dxHatLocal).sum(1);
        INDArray dx = dxHatLocal.sub(xHatLocal.mulColumnVector(dot)).diviColumnVector(xNorm);
        return new Result(loss, dx, s, acc1, acc5, finite);
    }

    /**
     * The update of the last forward-backward: {@code v ← μ·v + G/n + (wd − colDot/n²)·w; w ← w − lr·v}
     * on the sampled rows (gradients divided by the loss scale), written back to the shard.
     */
    public void applyUpdate(double lr) {
        Pending p = pending;
        pending = null;
        if (bias != null) {
            linearApplyUpdate(p, lr);
            return;
        }
        float unscale = (float) (1.0 / p.lossScale());
        INDArray w = p.w();
        int s = w.rows();
        INDArray v = rows(momentum, vBuf, p.indices(), s, p.full());
        // v = μ·v + unscale·(dL/dcos / n)ᵀ·x̂ (the gemm's beta folds the momentum in)
        Nd4j.gemm(p.gradCos(), p.xHat(), v, true, false, unscale, config.momentum());
        INDArray coef = p.colDot().mul(p.invNorm()).muli(p.invNorm()).muli(-unscale).addi(config.weightDecay());
        INDArray tmp = tmpRows.get(NDArrayIndex.interval(0, s), NDArrayIndex.all());
        v.addi(tmp.assign(w).muliColumnVector(coef));
        w.subi(tmp.assign(v).muli(lr));
        store(w, weights, p.indices(), p.full());
        store(v, momentum, p.indices(), p.full());
    }

    /**
     * PLSC's plain softmax ({@code FcHead.LINEAR_BIAS}): {@code z = x·Wᵀ + b} on the gathered raw features
     * (scale 1, no margin, every class: sample_ratio is 1), the distributed softmax cross entropy on z,
     * {@code g = lossScale·(softmax − onehot)/B} kept for {@link #linearApplyUpdate}, {@code dx = g·W}
     * reduce-scattered to the owning ranks; accuracy ranks by z.
     */
    private Result linearForwardBackward(INDArray localFeatures, int[] localLabels, long step, boolean calcAcc,
                                         double lossScale) {
        int b = localFeatures.rows();
        int world = collective.worldSize();
        int batch = b * world;

        // 1. gather the raw features and the labels
        INDArray xLocal = localFeatures.castTo(DataType.FLOAT).dup('c');
        INDArray x;
        int[] labels;
        if (world == 1) {
            x = xLocal;
            labels = localLabels.clone();
        } else {
            x = Nd4j.createUninitialized(DataType.FLOAT, batch, emb);
            collective.allGather(xLocal, x);
            labels = new int[batch];
            collective.allGather(localLabels, labels);
        }

        // 2. every class of the shard (the plain softmax never samples)
        ClassCenterSampler.Sample sample = ClassCenterSampler.sample(labels, layout, rank, 1.0, config.seed(), step);
        int s = sample.size();
        if (s != numLocal) {
            throw new IllegalStateException("rank " + rank + ": plain softmax sample of " + s + " classes (expected: all "
                    + numLocal + " of the shard)");
        }
        ensure(batch, s, true);
        INDArray w = rows(weights, wBuf, sample.localIndices(), s, true);

        // 3. logits, the label's logit (on its owner, 0 elsewhere), the distributed softmax
        INDArray z = matrix(cosBuf, batch, s);
        Nd4j.gemm(x, w, z, false, true, 1.0, 0.0);
        z.addiRowVector(bias);
        INDArray onehot = matrix(onehotBuf, batch, s);
        Nd4j.exec(new OneHot(Nd4j.createFromArray(sample.targetColumns()), onehot, s));
        INDArray tmp = matrix(tmpBuf, batch, s);
        INDArray targetZ = tmp.assign(z).muli(onehot).sum(1);
        INDArray max = z.max(1);
        if (world > 1) {
            collective.allReduce(max, ReduceOp.MAX);
        }
        INDArray e = Transforms.exp(matrix(gradBuf, batch, s).assign(z).subiColumnVector(max), false);
        INDArray sums = Nd4j.vstack(e.sum(1).reshape(1, batch), targetZ.reshape(1, batch));
        if (world > 1) {
            collective.allReduce(sums, ReduceOp.SUM);
        }
        INDArray sum = sums.getRow(0).reshape(batch);
        INDArray target = sums.getRow(1).reshape(batch); // every row's label logit, from its owner
        INDArray lossRows = Transforms.log(sum, true).addi(max).subi(target);
        double loss = lossRows.sumNumber().doubleValue() / batch;

        double acc1 = Double.NaN;
        double acc5 = Double.NaN;
        if (calcAcc) {
            // the label's own column gives exactly 0 (its logit plus zeros from the other ranks)
            float[] counts = tmp.assign(z).subiColumnVector(target).gt(0).castTo(DataType.FLOAT).sum(1).toFloatVector();
            int[] better = new int[batch];
            for (int i = 0; i < batch; i++) {
                better[i] = Math.round(counts[i]);
            }
            if (world > 1) {
                collective.allReduce(better, ReduceOp.SUM);
            }
            acc1 = fractionBelow(better, 1);
            acc5 = fractionBelow(better, 5);
        }

        // 4. g = lossScale·(p − onehot)/B; dx = g·W
        INDArray g = e.diviColumnVector(sum).subi(onehot).muli(lossScale / batch);
        boolean finite = Double.isFinite(loss) && Double.isFinite(g.sumNumber().doubleValue());
        INDArray dx = Nd4j.createUninitialized(DataType.FLOAT, batch, emb);
        Nd4j.gemm(g, w, dx, false, false, 1.0, 0.0);
        pending = new Pending(sample.localIndices(), true, x, w, null, g, null, lossScale);
        INDArray dxLocal;
        if (world == 1) {
            dxLocal = dx;
        } else {
            dxLocal = Nd4j.createUninitialized(DataType.FLOAT, b, emb);
            collective.reduceScatter(dx, dxLocal, ReduceOp.SUM);
        }
        finite &= Double.isFinite(dx.sumNumber().doubleValue());
        return new Result(loss, dxLocal, s, acc1, acc5, finite);
    }

    /**
     * The plain softmax's update: {@code dW = gᵀ·x / lossScale}, {@code db = Σ_i g_i / lossScale}, and
     * Paddle's momentum with L2 decay on both, {@code v ← μ·v + (grad + wd·p); p ← p − lr·v}.
     */
    private void linearApplyUpdate(Pending p, double lr) {
        double unscale = 1.0 / p.lossScale();
        double mu = config.momentum();
        double wd = config.weightDecay();
        INDArray w = p.w();
        int s = w.rows();
        INDArray v = rows(momentum, vBuf, p.indices(), s, p.full());
        // v = μ·v + unscale·gᵀ·x (the gemm's beta folds the momentum in), + wd·w; w −= lr·v
        Nd4j.gemm(p.gradCos(), p.xHat(), v, true, false, unscale, mu);
        INDArray tmp = tmpRows.get(NDArrayIndex.interval(0, s), NDArrayIndex.all());
        v.addi(tmp.assign(w).muli(wd));
        w.subi(tmp.assign(v).muli(lr));
        store(w, weights, p.indices(), p.full());
        store(v, momentum, p.indices(), p.full());
        // the bias: vb = μ·vb + (Σ_i g_i·unscale + wd·b); b −= lr·vb
        INDArray db = p.gradCos().sum(0).muli(unscale);
        Nd4j.getBlasWrapper().level1().axpy(db.length(), wd, bias, db);
        biasMomentum.muli(mu).addi(db);
        Nd4j.getBlasWrapper().level1().axpy(bias.length(), -lr, biasMomentum, bias);
    }

    /**
     * The sampled rows as float32 [S, D]: the shard itself when it is float32 and fully used, else the
     * first S rows of {@code buf} (gathered, widened from half storage).
     */
    private static INDArray rows(INDArray shard, INDArray buf, int[] idx, int s, boolean full) {
        if (full && shard.dataType() == DataType.FLOAT) {
            return shard;
        }
        INDArray dst = buf.get(NDArrayIndex.interval(0, s), NDArrayIndex.all());
        if (full) {
            return dst.assign(shard);
        }
        if (shard.dataType() == DataType.FLOAT) {
            Nd4j.pullRows(shard, dst, 1, idx);
            return dst;
        }
        return dst.assign(Nd4j.pullRows(shard, 1, idx));
    }

    /** Grows the work arrays to a batch of {@code batch} rows and a sample of {@code s} classes. */
    private void ensure(int batch, int s, boolean full) {
        long bs = (long) batch * s;
        if (bs > bsCapacity) {
            cosBuf = null;
            gradBuf = null;
            onehotBuf = null;
            tmpBuf = null;
            cosBuf = Nd4j.createUninitialized(DataType.FLOAT, bs);
            gradBuf = Nd4j.createUninitialized(DataType.FLOAT, bs);
            onehotBuf = Nd4j.createUninitialized(DataType.FLOAT, bs);
            tmpBuf = Nd4j.createUninitialized(DataType.FLOAT, bs);
            bsCapacity = bs;
        }
        if (s > sdCapacity) {
            int cap = Math.max(s, Math.min(numLocal, s + s / 8)); // room for a few more positives
            wBuf = null;
            vBuf = null;
            tmpRows = Nd4j.createUninitialized(DataType.FLOAT, cap, emb);
            sdCapacity = cap;
        }
        // gathered rows only when the rows are not the float32 shard itself
        if (wBuf == null && !(full && weights.dataType() == DataType.FLOAT)) {
            wBuf = Nd4j.createUninitialized(DataType.FLOAT, sdCapacity, emb);
        }
        if (vBuf == null && !(full && momentum.dataType() == DataType.FLOAT)) {
            vBuf = Nd4j.createUninitialized(DataType.FLOAT, sdCapacity, emb);
        }
    }

    /** A contiguous row-major [rows, cols] view of the first rows·cols elements of the flat {@code buf}. */
    private static INDArray matrix(INDArray buf, int rows, int cols) {
        return Nd4j.create(buf.data(), new long[] {rows, cols}, new long[] {cols, 1}, 0L, 'c', DataType.FLOAT);
    }

    /** Writes updated rows back (narrowed to the storage type); nothing when they are the shard itself. */
    private static void store(INDArray rows, INDArray shard, int[] idx, boolean full) {
        if (rows == shard) {
            return;
        }
        INDArray stored = rows.dataType() == shard.dataType() ? rows : rows.castTo(shard.dataType());
        if (full) {
            shard.assign(stored);
        } else {
            // scatter_upd in place: rows idx of the shard ← the updated rows
            Nd4j.exec(DynamicCustomOp.builder("scatter_upd").addInputs(shard, Nd4j.createFromArray(idx), stored)
                    .addOutputs(shard).callInplace(true).build());
        }
    }

    private static double fractionBelow(int[] better, int k) {
        int hits = 0;
        for (int c : better) {
            if (c < k) {
                hits++;
            }
        }
        return (double) hits / better.length;
    }
}
