package org.plsc4j.worker.internal;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.impl.scalar.LeakyReLU;
import org.nd4j.linalg.api.ops.impl.transforms.gradient.LeakyReLUDerivative;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The libnd4j operations {@link NativeResNetBackbone} is made of, called directly into caller-owned
 * output arrays ({@code Nd4j.exec} of a {@link DynamicCustomOp}). In the {@code onednn} builds of
 * nd4j-native, {@code conv2d}, {@code conv2d_bp} and {@code batchnorm} run on
 * oneDNN for float32 (check with {@code Nd4j.getEnvironment().setVerbose(true)}: "ONEDNN ... meets
 * the requirements"); float64 falls back to libnd4j's generic code, which the gradient checks use.
 *
 * <p>Layouts: activations NCHW, convolution weights YXIO [k, k, in, out] (SameDiff's default and
 * the checkpoint layout); libnd4j's {@code wFormat} 0 reads them in place.
 */
final class NativeOps {

    private NativeOps() {
    }

    private static int[] convArgs(INDArray w, int stride, int pad) {
        // kH, kW, sH, sW, pH, pW, dH, dW, paddingMode (0 = explicit), dataFormat (0 = NCHW), wFormat (0 = YXIO)
        return new int[] {(int) w.size(0), (int) w.size(1), stride, stride, pad, pad, 1, 1, 0, 0, 0};
    }

    /** {@code out = conv2d(x, w)}, no bias. */
    static void conv2d(INDArray x, INDArray w, int stride, int pad, INDArray out) {
        Nd4j.exec(DynamicCustomOp.builder("conv2d").addInputs(x, w).addOutputs(out)
                .addIntegerArguments(convArgs(w, stride, pad)).build());
    }

    /** Writes dL/dx into {@code gradX} and dL/dw into {@code gradW} for the upstream {@code gradOut}. */
    static void conv2dBp(INDArray x, INDArray w, INDArray gradOut, int stride, int pad, INDArray gradX,
                         INDArray gradW) {
        Nd4j.exec(DynamicCustomOp.builder("conv2d_bp").addInputs(x, w, gradOut).addOutputs(gradX, gradW)
                .addIntegerArguments(convArgs(w, stride, pad)).build());
    }

    /** Per-channel mean and biased variance of NCHW {@code x} (or per feature of [b, f]). */
    static void moments(INDArray x, INDArray mean, INDArray var) {
        int[] axes = x.rank() == 4 ? new int[] {0, 2, 3} : new int[] {0};
        Nd4j.exec(DynamicCustomOp.builder("moments").addInputs(x).addOutputs(mean, var)
                .addIntegerArguments(axes).build());
    }

    /** {@code out = (x − mean)/sqrt(var + ε)·γ + β}, per channel (axis 1). */
    static void batchNorm(INDArray x, INDArray mean, INDArray var, INDArray gamma, INDArray beta, double eps,
                          INDArray out) {
        Nd4j.exec(DynamicCustomOp.builder("batchnorm").addInputs(x, mean, var, gamma, beta).addOutputs(out)
                .addIntegerArguments(1, 1, 1).addFloatingPointArguments(eps).build());
    }

    /**
     * PReLU with one slope: {@code out = x > 0 ? x : α·x}. The legacy scalar op (the kernel the
     * {@code lrelu} custom op runs), because it carries α as a scalar of x's type, whereas
     * {@code lrelu} reads its argument into a C++ {@code float}: in float64 that rounded α to
     * float32, so a finite difference of α moved it in float32 steps (see BackboneGradientTest).
     */
    static void prelu(INDArray x, double alpha, INDArray out) {
        Nd4j.exec(new LeakyReLU(x, out, alpha));
    }

    /**
     * dL/dx of {@link #prelu} into {@code gradX}: {@code gradOut · (x > 0 ? 1 : α)}. {@code lrelu_bp}
     * (one pass) also rounds α to a float, which is exact only for float32 and narrower types.
     */
    static void preluBp(INDArray x, INDArray gradOut, double alpha, INDArray gradX) {
        if (x.dataType() == DataType.DOUBLE) {
            Nd4j.exec(new LeakyReLUDerivative(x, gradX, alpha));
            gradX.muli(gradOut);
            return;
        }
        Nd4j.exec(DynamicCustomOp.builder("lrelu_bp").addInputs(x, gradOut).addOutputs(gradX)
                .addFloatingPointArguments(alpha).build());
    }

    /**
     * {@link #preluBp} in place: {@code grad} (dL/d output on entry) becomes dL/dx; one elementwise
     * pass over x and grad in float32 ({@code lrelu_bp} writing over its gradient input); in float64
     * the derivative goes through {@code scratch} (x's shape, aliasing neither) first. Same products
     * as {@link #preluBp}, so the same values.
     */
    static void preluBpInPlace(INDArray x, INDArray grad, double alpha, INDArray scratch) {
        if (x.dataType() == DataType.DOUBLE) {
            Nd4j.exec(new LeakyReLUDerivative(x, scratch, alpha));
            grad.muli(scratch);
            return;
        }
        preluBp(x, grad, alpha, grad);
    }
}
