package org.plsc4j.worker.internal;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.plsc4j.worker.BaseModel;
import org.plsc4j.worker.ModelContext;

/**
 * A small CNN for CPU runs and tests: four 3×3 stride-2 convolutions (16, 32, 64, 128 channels),
 * each with BN and ReLU, global average pooling, FC(emb) with bias, BN. No dropout. ReLU rather
 * than PReLU because every elementwise op over the activations costs as much as a convolution
 * here (SameDiff's CPU broadcasts are slow), and PReLU is four of them.
 */
public final class SmallCnnModel implements BaseModel {

    private static final int[] CHANNELS = {16, 32, 64, 128};

    @Override
    public SDVariable buildNetwork(SameDiff sd, SDVariable input, boolean isTrain, ModelContext ctx) {
        SDVariable x = input;
        int in = ctx.config().channels();
        for (int i = 0; i < CHANNELS.length; i++) {
            String n = "conv" + (i + 1);
            x = ctx.conv2d(n, x, in, CHANNELS[i], 3, 2, 1);
            x = sd.nn().relu(ctx.batchNorm2d(n + ".bn", x, CHANNELS[i]), 0);
            in = CHANNELS[i];
        }
        x = x.mean(2, 3);
        x = ctx.dense("fc", x, in, ctx.embSize(), true);
        return ctx.batchNorm1d("bn_emb", x, ctx.embSize());
    }

    @Override
    public String toString() {
        return "small";
    }
}
