package org.plsc4j.worker.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.core.TestSeed;

/**
 * oneDNN convolutions called directly against libnd4j's {@code conv2d}/{@code conv2d_bp} in float64
 * (generic kernels) from the same operands: forward, dL/dx and dL/dw, for the layer kinds of the
 * ResNets (3×3 stride 1 and 2, 1×1 stride 2 shortcut, 3-channel stem, odd sizes), each layer called
 * with two batch sizes in turn (its cached primitives per shape).
 */
@ExtendWith(TestSeed.class)
class DnnlConvTest {

    private static INDArray gaussian(SplittableRandom rng, long... shape) {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        double[] v = new double[(int) n];
        for (int i = 0; i < v.length; i++) {
            v[i] = rng.nextGaussian();
        }
        return Nd4j.create(v, shape, 'c');
    }

    private static void assertClose(String what, INDArray expected, INDArray actual) {
        assertEquals(DataType.FLOAT, actual.dataType(), what);
        double scale = expected.amaxNumber().doubleValue();
        double diff = actual.castTo(DataType.DOUBLE).sub(expected).amaxNumber().doubleValue();
        assertTrue(diff <= 2e-5 * scale, what + ": max abs diff " + diff + " vs max " + scale + " (seed "
                + TestSeed.BASE + ")");
    }

    @Test
    void convolutionsMatchLibnd4jInFloat64() {
        Dnnl dnnl = Dnnl.get();
        assertNotNull(dnnl, "oneDNN natives (org.bytedeco:dnnl linux-x86_64) should load on this platform");
        SplittableRandom rng = new SplittableRandom(TestSeed.of("dnnl-conv"));
        // {in channels, out channels, size, kernel, stride, pad}
        int[][] layers = {{3, 16, 12, 3, 1, 1}, {16, 32, 12, 3, 2, 1}, {16, 32, 12, 1, 2, 0}, {32, 32, 7, 3, 1, 1},
            {32, 48, 7, 3, 2, 1}, {32, 48, 7, 1, 2, 0}};
        try (DnnlConv.Scratch scratch = new DnnlConv.Scratch(dnnl)) {
            for (int[] l : layers) {
                int ic = l[0];
                int oc = l[1];
                int hw = l[2];
                int k = l[3];
                int stride = l[4];
                int pad = l[5];
                long ohw = (hw + 2L * pad - k) / stride + 1;
                DnnlConv conv = new DnnlConv(scratch, stride, pad);
                INDArray w = gaussian(rng, k, k, ic, oc).divi(Math.sqrt(k * k * ic));
                for (int batch : new int[] {3, 2, 3}) {
                    String at = java.util.Arrays.toString(l) + " batch " + batch + " ";
                    INDArray x = gaussian(rng, batch, ic, hw, hw);
                    INDArray gy = gaussian(rng, batch, oc, ohw, ohw);
                    INDArray y = Nd4j.create(DataType.DOUBLE, batch, oc, ohw, ohw);
                    INDArray gx = Nd4j.create(DataType.DOUBLE, batch, ic, hw, hw);
                    INDArray gw = Nd4j.create(DataType.DOUBLE, k, k, ic, oc);
                    NativeOps.conv2d(x, w, stride, pad, y);
                    NativeOps.conv2dBp(x, w, gy, stride, pad, gx, gw);
                    INDArray xf = x.castTo(DataType.FLOAT);
                    INDArray wf = w.castTo(DataType.FLOAT);
                    INDArray gyf = gy.castTo(DataType.FLOAT);
                    INDArray yf = Nd4j.createUninitialized(DataType.FLOAT, y.shape());
                    INDArray gxf = Nd4j.createUninitialized(DataType.FLOAT, gx.shape());
                    INDArray gwf = Nd4j.createUninitialized(DataType.FLOAT, gw.shape());
                    conv.forward(xf, wf, yf);
                    conv.backward(xf, wf, gyf, gxf, gwf);
                    assertClose(at + "y", y, yf);
                    assertClose(at + "dL/dx", gx, gxf);
                    assertClose(at + "dL/dw", gw, gwf);
                }
                conv.close();
            }
            assertTrue(scratch.bytes() > 0, "blocked layouts went through the scratch");
        }
    }
}
