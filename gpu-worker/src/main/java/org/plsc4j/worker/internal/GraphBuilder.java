package org.plsc4j.worker.internal;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.enums.WeightsFormat;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.PaddingMode;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.worker.BackboneConfig;
import org.plsc4j.worker.Init;
import org.plsc4j.worker.ModelContext;

/**
 * The {@link ModelContext} of one graph. Building the training graph creates and registers the
 * arrays; building the inference graph looks the same names up and reuses the arrays, failing if
 * the model asks for a parameter the training graph did not create (or with another shape).
 *
 * <p>Convolution weights use SameDiff's default YXIO layout [k, k, in, out]: in 1.0.0-M2.1 the
 * {@code conv2d_bp} op ignores the weights-format argument, so OIYX weights fail in backprop.
 */
public final class GraphBuilder implements ModelContext {

    private final SameDiff sd;
    private final BackboneConfig config;
    private final boolean train;
    private final ParameterRegistry registry;
    private final Set<String> usedHere = new HashSet<>();

    /** A context for building the training ({@code train}) or inference graph into {@code sd}. */
    public GraphBuilder(SameDiff sd, BackboneConfig config, boolean train, ParameterRegistry registry) {
        this.sd = sd;
        this.config = config;
        this.train = train;
        this.registry = registry;
    }

    @Override
    public BackboneConfig config() {
        return config;
    }

    @Override
    public SameDiff sd() {
        return sd;
    }

    @Override
    public boolean isTrain() {
        return train;
    }

    private void claim(String name) {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("parameter name : \"" + name + "\" (expected: a non-empty name)");
        }
        if (!usedHere.add(name)) {
            throw new IllegalArgumentException("parameter name : " + name + " (expected: unique within the model)");
        }
    }

    private INDArray array(String name, Init init, long[] shape, boolean isState) {
        claim(name);
        for (long s : shape) {
            if (s < 1) {
                throw new IllegalArgumentException("shape of " + name + " : " + Arrays.toString(shape)
                        + " (expected: every dimension >= 1)");
            }
        }
        if (train) {
            INDArray arr = Nd4j.createUninitialized(config.dataType(), shape);
            fill(arr, init, Seeds.mix(config.seed(), Seeds.hash(name)));
            if (isState) {
                registry.addState(name, arr);
            } else {
                registry.addParam(name, arr);
            }
            return arr;
        }
        INDArray arr = isState ? registry.stateArray(name) : registry.param(name);
        if (arr == null) {
            throw new IllegalStateException("inference graph asks for " + (isState ? "state " : "parameter ")
                    + name + " that the training graph did not create (a model must build the same "
                    + "parameters in both modes)");
        }
        if (!Arrays.equals(arr.shape(), shape)) {
            throw new IllegalStateException("shape of " + name + " : " + Arrays.toString(shape)
                    + " in the inference graph (expected: " + Arrays.toString(arr.shape())
                    + " as in the training graph)");
        }
        return arr;
    }

    private static void fill(INDArray arr, Init init, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        long n = arr.length();
        double[] buf = new double[(int) Math.min(n, 1 << 20)];
        INDArray flat = arr.reshape(n);
        for (long off = 0; off < n; off += buf.length) {
            int len = (int) Math.min(buf.length, n - off);
            for (int i = 0; i < len; i++) {
                buf[i] = init.sample(rng);
            }
            INDArray src = Nd4j.createFromArray(len == buf.length ? buf : Arrays.copyOf(buf, len))
                    .castTo(arr.dataType());
            flat.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(off, off + len)).assign(src);
        }
    }

    @Override
    public SDVariable param(String name, Init init, long... shape) {
        return sd.var(name, array(name, init, shape, false));
    }

    @Override
    public SDVariable batchNorm(String name, SDVariable x, int rank, int channels, double epsilon,
                                double momentum) {
        if (rank != 2 && rank != 4) {
            throw new IllegalArgumentException("batch norm rank of " + name + " : " + rank + " (expected: 2 or 4)");
        }
        if (!(epsilon > 0)) {
            throw new IllegalArgumentException("batch norm epsilon of " + name + " : " + epsilon + " (expected: > 0)");
        }
        if (!(momentum >= 0 && momentum < 1)) {
            throw new IllegalArgumentException("batch norm momentum of " + name + " : " + momentum
                    + " (expected: 0 <= x < 1)");
        }
        SDVariable gamma = param(name + ".gamma", Init.constant(1), channels);
        SDVariable beta = param(name + ".beta", Init.constant(0), channels);
        INDArray runMean = array(name + ".running_mean", Init.constant(0), new long[] {channels}, true);
        INDArray runVar = array(name + ".running_var", Init.constant(1), new long[] {channels}, true);
        long[] bshape = rank == 4 ? new long[] {1, channels, 1, 1} : new long[] {1, channels};
        int[] axes = rank == 4 ? new int[] {0, 2, 3} : new int[] {0};
        SDVariable g = gamma.reshape(bshape);
        SDVariable b = beta.reshape(bshape);
        if (train) {
            // four full-size ops: x − mean, (x − mean)², ·scale, + β; the scale γ/sqrt(var + ε) is
            // computed at [1, C(, 1, 1)] (libnd4j's broadcasts dominate a small CNN's step)
            SDVariable mean = x.mean(true, axes);
            SDVariable centered = x.sub(mean);
            SDVariable var = centered.mul(centered).mean(true, axes);
            SDVariable y = centered.mul(sd.math().rsqrt(var.add(epsilon)).mul(g)).add(b);
            String meanOut = name + ".batch_mean";
            String varOut = name + ".batch_var";
            mean.reshape(channels).rename(meanOut);
            var.reshape(channels).rename(varOut);
            registry.addBatchNorm(new BatchNormSlot(name, meanOut, varOut, runMean, runVar, momentum));
            return y;
        }
        SDVariable rm = sd.var(name + ".running_mean", runMean).reshape(bshape);
        SDVariable rv = sd.var(name + ".running_var", runVar).reshape(bshape);
        SDVariable scale = sd.math().rsqrt(rv.add(epsilon)).mul(g);
        return x.mul(scale).add(b.sub(rm.mul(scale)));
    }

    @Override
    public SDVariable dropout(String name, SDVariable x, double p) {
        if (!(p >= 0 && p < 1)) {
            throw new IllegalArgumentException("dropout probability of " + name + " : " + p + " (expected: 0 <= p < 1)");
        }
        claim(name + ".mask");
        if (!train || p == 0) {
            return x;
        }
        String mask = name + ".mask";
        SDVariable m = sd.placeHolder(mask, config.dataType());
        registry.addDropout(new DropoutSlot(name, x.name(), mask, p));
        return x.mul(m);
    }

    @Override
    public SDVariable conv2d(String name, SDVariable x, int inChannels, int outChannels, int kernel, int stride,
                             int padding) {
        if (kernel < 1 || stride < 1 || padding < 0) {
            throw new IllegalArgumentException("conv " + name + " : kernel " + kernel + ", stride " + stride
                    + ", padding " + padding + " (expected: kernel >= 1, stride >= 1, padding >= 0)");
        }
        SDVariable w = param(name + ".w", Init.xavierNormal(0, (double) outChannels * kernel * kernel),
                kernel, kernel, inChannels, outChannels);
        Conv2DConfig cc = Conv2DConfig.builder().kH(kernel).kW(kernel).sH(stride).sW(stride).pH(padding)
                .pW(padding).dH(1).dW(1).paddingMode(PaddingMode.VALID).dataFormat(Conv2DConfig.NCHW)
                .weightsFormat(WeightsFormat.YXIO).build();
        return sd.cnn().conv2d(x, w, cc);
    }

    @Override
    public SDVariable dense(String name, SDVariable x, int in, int out, boolean bias) {
        SDVariable w = param(name + ".w", Init.xavierNormal(0, out), in, out);
        SDVariable y = x.mmul(w);
        if (bias) {
            y = y.add(param(name + ".b", Init.constant(0), out));
        }
        return y;
    }

    @Override
    public SDVariable prelu(String name, SDVariable x) {
        SDVariable alpha = param(name + ".alpha", Init.constant(0.25), 1);
        // prelu(x) = x + (1 − α)·relu(−x) (= α·x where x < 0): four full-size ops (libnd4j's prelu_bp
        // rejects a shared α)
        return x.add(sd.nn().relu(x.neg(), 0).mul(alpha.rsub(1.0)));
    }
}
