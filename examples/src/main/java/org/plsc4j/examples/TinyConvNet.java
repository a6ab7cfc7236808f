package org.plsc4j.examples;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.plsc4j.worker.BaseModel;
import org.plsc4j.worker.ModelContext;

/**
 * A custom backbone, the plsc4j version of PLSC's {@code BaseModel} subclass in its custom-model
 * guide: two stride-2 convolutions with batch norm and PReLU, global average pooling, an embedding
 * layer and a batch-normalised embedding. Everything is built from {@link ModelContext}'s helpers,
 * so parameters are seeded, named and saved in checkpoints like the built-in models'.
 *
 * <p>A public class with a public no-argument constructor: with several worker processes each one
 * creates its own instance.
 */
public final class TinyConvNet implements BaseModel {

    /** Channels of the two convolutions. */
    static final int C1 = 16;
    static final int C2 = 32;

    @Override
    public SDVariable buildNetwork(SameDiff sd, SDVariable input, boolean isTrain, ModelContext ctx) {
        SDVariable x = ctx.conv2d("conv1", input, ctx.config().channels(), C1, 3, 2, 1);
        x = ctx.prelu("act1", ctx.batchNorm2d("bn1", x, C1));
        x = ctx.conv2d("conv2", x, C1, C2, 3, 2, 1);
        x = ctx.prelu("act2", ctx.batchNorm2d("bn2", x, C2));
        SDVariable pooled = x.mean(2, 3); // [b, C2]
        SDVariable emb = ctx.dense("emb", pooled, C2, ctx.embSize(), true);
        return ctx.batchNorm1d("emb_bn", emb, ctx.embSize());
    }
}
