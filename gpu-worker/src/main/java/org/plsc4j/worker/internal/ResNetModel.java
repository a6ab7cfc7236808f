package org.plsc4j.worker.internal;

import java.util.Arrays;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.plsc4j.worker.BaseModel;
import org.plsc4j.worker.ModelContext;

/**
 * PLSC's face ResNet ({@code plsc/models/resnet.py}, the insightface "IR" network): a 3×3 stride-1
 * stem of 64 channels with BN and PReLU, four stages of 64/128/256/512 channels whose first block
 * has stride 2, each block {@code BN → conv3×3 → BN → PReLU → conv3×3(stride) → BN} plus a
 * shortcut (identity, or 1×1 conv(stride) + BN when the shape changes); head
 * {@code BN → dropout 0.4 → FC(emb) → BN}. Depths per stage as in PLSC: 50 = [3, 4, 14, 3],
 * 100 = [3, 13, 30, 3], 101 = [3, 4, 23, 3], 152 = [3, 8, 36, 3] (PLSC's newest version uses this
 * block for every depth; its bottleneck branch is only taken for layers ≥ 500).
 */
public final class ResNetModel implements BaseModel {

    /** Output channels of the four stages. */
    static final int[] FILTERS = {64, 128, 256, 512};
    /** Drop probability of the head's dropout. */
    static final double DROPOUT = 0.4;

    private final String name;
    private final int[] depth;

    /** A face ResNet with the given blocks per stage. */
    public ResNetModel(String name, int... depth) {
        if (depth.length != FILTERS.length || Arrays.stream(depth).anyMatch(d -> d < 1)) {
            throw new IllegalArgumentException("resnet depth : " + Arrays.toString(depth)
                    + " (expected: 4 stages of >= 1 block)");
        }
        this.name = name;
        this.depth = depth.clone();
    }

    /** Blocks per stage (a copy). */
    public int[] depth() {
        return depth.clone();
    }

    /** Spatial size after a stride-2 convolution with "same"-style padding (3×3 pad 1, or 1×1 pad 0). */
    static int halve(int size) {
        return (size - 1) / 2 + 1;
    }

    @Override
    public SDVariable buildNetwork(SameDiff sd, SDVariable input, boolean isTrain, ModelContext ctx) {
        int c = ctx.config().channels();
        SDVariable x = ctx.conv2d("stem.conv", input, c, 64, 3, 1, 1);
        x = ctx.prelu("stem.prelu", ctx.batchNorm2d("stem.bn", x, 64));
        int in = 64;
        int h = ctx.config().height();
        int w = ctx.config().width();
        for (int s = 0; s < depth.length; s++) {
            for (int i = 0; i < depth[s]; i++) {
                int stride = i == 0 ? 2 : 1;
                x = block(ctx, "stage" + (s + 1) + ".block" + i, x, in, FILTERS[s], stride);
                in = FILTERS[s];
            }
            h = halve(h);
            w = halve(w);
        }
        x = ctx.batchNorm2d("head.bn", x, in);
        x = ctx.dropout("head.dropout", x, DROPOUT);
        int flat = in * h * w;
        x = ctx.dense("head.fc", x.reshape(-1, flat), flat, ctx.embSize(), true);
        return ctx.batchNorm1d("head.bn_emb", x, ctx.embSize());
    }

    private static SDVariable block(ModelContext ctx, String n, SDVariable x, int in, int out, int stride) {
        SDVariable y = ctx.batchNorm2d(n + ".bn1", x, in);
        y = ctx.conv2d(n + ".conv1", y, in, out, 3, 1, 1);
        y = ctx.prelu(n + ".prelu1", ctx.batchNorm2d(n + ".bn2", y, out));
        y = ctx.conv2d(n + ".conv2", y, out, out, 3, stride, 1);
        y = ctx.batchNorm2d(n + ".bn3", y, out);
        SDVariable shortcut = x;
        if (in != out || stride != 1) {
            shortcut = ctx.batchNorm2d(n + ".short_bn", ctx.conv2d(n + ".short_conv", x, in, out, 1, stride, 0), out);
        }
        return shortcut.add(y);
    }

    @Override
    public String toString() {
        return name;
    }
}
