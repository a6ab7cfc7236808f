package org.plsc4j.worker.internal;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.plsc4j.worker.BaseModel;
import org.plsc4j.worker.Init;
import org.plsc4j.worker.ModelContext;

/**
 * flatten → FC(128) → tanh → FC(emb), Xavier-normal weights, zero biases. No batch statistics and no
 * dropout, so every row's embedding depends on that row only: data-parallel gradients must then
 * equal the single-device gradient exactly (up to float summation order), which the tests use.
 */
public final class MlpModel implements BaseModel {

    /** Hidden width. */
    public static final int HIDDEN = 128;

    @Override
    public SDVariable buildNetwork(SameDiff sd, SDVariable input, boolean isTrain, ModelContext ctx) {
        int in = ctx.config().channels() * ctx.config().height() * ctx.config().width();
        int d = ctx.embSize();
        SDVariable x = input.reshape(-1, in);
        SDVariable h = x.mmul(ctx.param("fc1.w", Init.xavierNormal(in, HIDDEN), in, HIDDEN))
                .add(ctx.param("fc1.b", Init.constant(0), HIDDEN));
        h = sd.math().tanh(h);
        return h.mmul(ctx.param("fc2.w", Init.xavierNormal(HIDDEN, d), HIDDEN, d))
                .add(ctx.param("fc2.b", Init.constant(0), d));
    }

    @Override
    public String toString() {
        return "mlp";
    }
}
