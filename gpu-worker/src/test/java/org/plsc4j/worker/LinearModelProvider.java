package org.plsc4j.worker;

/** A test {@link ModelProvider}: "test-linear", flatten then one dense layer. */
public final class LinearModelProvider implements ModelProvider {

    @Override
    public String name() {
        return "test-linear";
    }

    @Override
    public BaseModel create() {
        return (sd, input, isTrain, ctx) -> {
            int in = ctx.config().channels() * ctx.config().height() * ctx.config().width();
            return ctx.dense("fc", input.reshape(-1, in), in, ctx.embSize(), true);
        };
    }
}
