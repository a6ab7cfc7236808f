package org.plsc4j.dashboard.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import org.plsc4j.dashboard.JobView;
import org.plsc4j.metrics.Exposition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The routes: {@code GET /} (page), {@code /dashboard.js}, {@code /dashboard.css} (from the jar),
 * {@code /healthz}; with the bearer token {@code /api/state?since=N} (the view's JSON) and
 * {@code /metrics} (Prometheus text). Everything else is 404, other methods 405.
 */
@ChannelHandler.Sharable
public final class Routes extends SimpleChannelInboundHandler<FullHttpRequest> {

    private static final Logger LOG = LoggerFactory.getLogger(Routes.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String WEB = "/org/plsc4j/dashboard/web/";
    private static final Map<String, String> ASSETS = Map.of(
            "/", "index.html",
            "/index.html", "index.html",
            "/dashboard.js", "dashboard.js",
            "/dashboard.css", "dashboard.css");

    private final TokenCheck auth;
    private final JobView view;
    private final ExecutorService pool;
    private final Map<String, byte[]> cache = new ConcurrentHashMap<>();

    /** Routes checking {@code auth}; {@code view} null for a metrics-only server. */
    public Routes(TokenCheck auth, JobView view, ExecutorService pool) {
        this.auth = auth;
        this.view = view;
        this.pool = pool;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
        boolean keepAlive = HttpUtil.isKeepAlive(req);
        if (!req.decoderResult().isSuccess()) {
            send(ctx, text(HttpResponseStatus.BAD_REQUEST, "bad request"), false);
            return;
        }
        QueryStringDecoder q = new QueryStringDecoder(req.uri());
        String path = q.path();
        if (!HttpMethod.GET.equals(req.method()) && !HttpMethod.HEAD.equals(req.method())) {
            FullHttpResponse r = text(HttpResponseStatus.METHOD_NOT_ALLOWED, "method : " + req.method()
                    + " (expected: GET)");
            r.headers().set(HttpHeaderNames.ALLOW, "GET, HEAD");
            send(ctx, r, keepAlive);
            return;
        }
        if (path.equals("/healthz")) {
            send(ctx, text(HttpResponseStatus.OK, "ok"), keepAlive);
            return;
        }
        String asset = ASSETS.get(path);
        if (asset != null && view != null) {
            send(ctx, asset(asset), keepAlive);
            return;
        }
        boolean data = path.equals("/metrics") || (path.equals("/api/state") && view != null);
        if (!data) {
            send(ctx, text(HttpResponseStatus.NOT_FOUND, "no such page: " + path + " (expected: "
                    + (view != null ? "/, /api/state, " : "") + "/metrics, /healthz)"), keepAlive);
            return;
        }
        if (!auth.accepts(req.headers().get(HttpHeaderNames.AUTHORIZATION))) {
            FullHttpResponse r = text(HttpResponseStatus.UNAUTHORIZED,
                    "Authorization : missing or wrong (expected: Bearer <job or dashboard token>)");
            r.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer");
            send(ctx, r, keepAlive);
            return;
        }
        if (path.equals("/metrics")) {
            FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                    Unpooled.wrappedBuffer(Exposition.scrape()));
            r.headers().set(HttpHeaderNames.CONTENT_TYPE, Exposition.CONTENT_TYPE);
            send(ctx, r, keepAlive);
            return;
        }
        long since = parseSince(q.parameters().get("since"));
        try {
            pool.execute(() -> {
                FullHttpResponse r;
                try {
                    byte[] body = JSON.writeValueAsBytes(view.snapshot(since));
                    r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                            Unpooled.wrappedBuffer(body));
                    r.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json; charset=utf-8");
                } catch (IOException | RuntimeException e) {
                    LOG.debug("snapshot failed", e);
                    r = text(HttpResponseStatus.SERVICE_UNAVAILABLE, "cannot read the job: " + e.getMessage());
                }
                FullHttpResponse out = r;
                ctx.executor().execute(() -> send(ctx, out, keepAlive));
            });
        } catch (RejectedExecutionException closing) {
            send(ctx, text(HttpResponseStatus.SERVICE_UNAVAILABLE, "shutting down"), false);
        }
    }

    private static long parseSince(List<String> v) {
        if (v == null || v.isEmpty()) {
            return 0;
        }
        try {
            return Long.parseLong(v.get(0));
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private FullHttpResponse asset(String name) {
        byte[] body = cache.computeIfAbsent(name, n -> {
            try (InputStream in = Routes.class.getResourceAsStream(WEB + n)) {
                if (in == null) {
                    throw new IllegalStateException("missing resource " + WEB + n);
                }
                return in.readAllBytes();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                Unpooled.wrappedBuffer(body));
        String type = name.endsWith(".js") ? "text/javascript; charset=utf-8"
                : name.endsWith(".css") ? "text/css; charset=utf-8" : "text/html; charset=utf-8";
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
        r.headers().set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:");
        return r;
    }

    private static FullHttpResponse text(HttpResponseStatus status, String msg) {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                Unpooled.copiedBuffer(msg + "\n", StandardCharsets.UTF_8));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
        return r;
    }

    private static void send(ChannelHandlerContext ctx, FullHttpResponse r, boolean keepAlive) {
        r.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-store");
        HttpUtil.setContentLength(r, r.content().readableBytes());
        if (keepAlive) {
            r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
            ctx.writeAndFlush(r);
        } else {
            ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        LOG.debug("dashboard connection: {}", cause.toString());
        ctx.close();
    }
}
