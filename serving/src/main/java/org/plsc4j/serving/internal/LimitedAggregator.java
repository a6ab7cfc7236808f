package org.plsc4j.serving.internal;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.QueryStringDecoder;

/**
 * Netty's aggregator with the body limit, counting the 413 answers it sends (they never reach the
 * request handler) in the metrics.
 */
public final class LimitedAggregator extends HttpObjectAggregator {

    private final ServingMetrics metrics;

    /** An aggregator refusing bodies over {@code maxBodyBytes}. */
    public LimitedAggregator(int maxBodyBytes, ServingMetrics metrics) {
        super(maxBodyBytes);
        this.metrics = metrics;
    }

    @Override
    protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) throws Exception {
        String path = oversized instanceof HttpRequest r ? new QueryStringDecoder(r.uri()).path() : "";
        metrics.request(ServingMetrics.endpoint(path), 413, 0);
        super.handleOversizedMessage(ctx, oversized);
    }
}
