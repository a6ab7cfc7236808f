package org.plsc4j.serving.internal;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler.Sharable;
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
import io.netty.handler.timeout.IdleStateEvent;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP endpoints. Cheap requests (health, model, metrics, refusals) are answered on the event
 * loop; embedding requests are parsed and their images decoded on the decode pool, then batched.
 *
 * <p>Robustness: every failure of one request becomes an answer to that request (400/401/404/405/413,
 * 500 for a failed forward pass, 503 when closing) and the connection stays usable. While an
 * embedding request of a connection is in flight the connection is not read, so that pipelined
 * requests are answered in order.
 */
@Sharable
public final class HttpHandler extends SimpleChannelInboundHandler<FullHttpRequest> {

    private static final Logger LOG = LoggerFactory.getLogger(HttpHandler.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private final ObjectMapper requestJson;
    private static final String EMBEDDINGS = "/v1/embeddings";
    private static final String PLSC = "/FaceClassifyService/inference";

    private final ServedModel model;
    private final ImageDecoder decoder;
    private final Batcher batcher;
    private final ServingMetrics metrics;
    private final TokenCheck auth;
    private final Executor decodePool;
    private final int maxImages;
    private final byte[] modelInfo;

    /**
     * @param auth null when no token is required
     * @param maxBodyBytes the body limit, also the longest JSON string accepted
     * @param modelInfo the body of {@code GET /v1/model}
     */
    public HttpHandler(ServedModel model, ImageDecoder decoder, Batcher batcher, ServingMetrics metrics,
            TokenCheck auth, Executor decodePool, int maxImages, int maxBodyBytes, JsonNode modelInfo) {
        // Jackson's default caps a string at 20 MB: let one image use the whole body limit instead
        this.requestJson = new ObjectMapper(JsonFactory.builder()
                .streamReadConstraints(StreamReadConstraints.builder().maxStringLength(maxBodyBytes).build()).build());
        this.model = model;
        this.decoder = decoder;
        this.batcher = batcher;
        this.metrics = metrics;
        this.auth = auth;
        this.decodePool = decodePool;
        this.maxImages = maxImages;
        try {
            this.modelInfo = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(modelInfo);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
        long t0 = System.nanoTime();
        boolean keepAlive = HttpUtil.isKeepAlive(req);
        if (!req.decoderResult().isSuccess()) {
            respond(ctx, "other", t0, false, error(HttpResponseStatus.BAD_REQUEST,
                    "request : malformed HTTP (" + req.decoderResult().cause() + ")"));
            return;
        }
        String path = new QueryStringDecoder(req.uri()).path();
        String endpoint = ServingMetrics.endpoint(path);
        if (auth != null && !auth.accepts(req.headers().get(HttpHeaderNames.AUTHORIZATION))) {
            FullHttpResponse r = error(HttpResponseStatus.UNAUTHORIZED,
                    "Authorization : missing or wrong (expected: Bearer <token>)");
            r.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer");
            respond(ctx, endpoint, t0, keepAlive, r);
            return;
        }
        HttpMethod method = req.method();
        switch (endpoint) {
            case "/healthz" -> {
                if (allowed(ctx, endpoint, t0, keepAlive, method, HttpMethod.GET)) {
                    respond(ctx, endpoint, t0, keepAlive, json(HttpResponseStatus.OK,
                            "{\"status\":\"ok\"}\n".getBytes(StandardCharsets.UTF_8)));
                }
            }
            case "/v1/model" -> {
                if (allowed(ctx, endpoint, t0, keepAlive, method, HttpMethod.GET)) {
                    respond(ctx, endpoint, t0, keepAlive, json(HttpResponseStatus.OK, modelInfo));
                }
            }
            case "/metrics" -> {
                if (allowed(ctx, endpoint, t0, keepAlive, method, HttpMethod.GET)) {
                    FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                            Unpooled.copiedBuffer(metrics.render(), StandardCharsets.UTF_8));
                    r.headers().set(HttpHeaderNames.CONTENT_TYPE, ServingMetrics.contentType());
                    respond(ctx, endpoint, t0, keepAlive, r);
                }
            }
            case EMBEDDINGS, PLSC -> {
                if (allowed(ctx, endpoint, t0, keepAlive, method, HttpMethod.POST)) {
                    byte[] body = ByteBufUtil.getBytes(req.content());
                    ctx.channel().config().setAutoRead(false);
                    try {
                        decodePool.execute(() -> embed(ctx, endpoint, t0, keepAlive, body));
                    } catch (RejectedExecutionException e) {
                        respond(ctx, endpoint, t0, false, error(HttpResponseStatus.SERVICE_UNAVAILABLE,
                                "server : busy or closing (expected: fewer queued requests, retry later)"));
                    }
                }
            }
            default -> respond(ctx, endpoint, t0, keepAlive, error(HttpResponseStatus.NOT_FOUND,
                    "path : " + path + " (expected one of POST " + EMBEDDINGS + ", POST " + PLSC
                            + ", GET /healthz, GET /v1/model, GET /metrics)"));
        }
    }

    private boolean allowed(ChannelHandlerContext ctx, String endpoint, long t0, boolean keepAlive, HttpMethod method,
            HttpMethod expected) {
        if (method.equals(expected)) {
            return true;
        }
        FullHttpResponse r = error(HttpResponseStatus.METHOD_NOT_ALLOWED,
                "method : " + method + " " + endpoint + " (expected: " + expected + ")");
        r.headers().set(HttpHeaderNames.ALLOW, expected.name());
        respond(ctx, endpoint, t0, keepAlive, r);
        return false;
    }

    /** On the decode pool: parse, decode, queue; the answer is written when the batch is done. */
    private void embed(ChannelHandlerContext ctx, String endpoint, long t0, boolean keepAlive, byte[] body) {
        boolean plsc = endpoint.equals(PLSC);
        String field = plsc ? "base64_string" : "images";
        boolean normalize;
        int n;
        float[] chw;
        try {
            JsonNode root;
            try {
                root = requestJson.readTree(body);
            } catch (IOException e) {
                String m = e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
                throw new BadRequestException(400, "body : malformed JSON (" + m + ") (expected: {\"" + field
                        + "\": [\"<base64 JPEG/PNG>\", ...]})");
            }
            if (root == null || !root.isObject()) {
                boolean empty = root == null || root.isMissingNode();
                throw new BadRequestException(400, "body : " + (empty ? "empty" : root.getNodeType())
                        + " (expected: a JSON object {\"" + field + "\": [...]})");
            }
            JsonNode images = root.get(field);
            if (images == null || !images.isArray() || images.isEmpty()) {
                throw new BadRequestException(400, field + " : " + (images == null ? "missing" : abbreviate(images))
                        + " (expected: a non-empty array of base64 strings)");
            }
            if (images.size() > maxImages) {
                throw new BadRequestException(413, field + " : " + images.size() + " images (expected: at most "
                        + maxImages + " per request)");
            }
            JsonNode norm = root.get("normalize");
            if (norm != null && !norm.isBoolean()) {
                throw new BadRequestException(400, "normalize : " + abbreviate(norm) + " (expected: true or false)");
            }
            normalize = norm != null ? norm.booleanValue() : !plsc;
            List<String> strings = new ArrayList<>(images.size());
            for (int i = 0; i < images.size(); i++) {
                if (!images.get(i).isTextual()) {
                    throw new BadRequestException(400, field + "[" + i + "] : " + images.get(i).getNodeType()
                            + " (expected: a base64 string)");
                }
                strings.add(images.get(i).textValue());
            }
            n = strings.size();
            chw = decoder.decode(strings, field);
        } catch (BadRequestException e) {
            respond(ctx, endpoint, t0, keepAlive, error(HttpResponseStatus.valueOf(e.status()), e.getMessage()));
            return;
        } catch (RuntimeException e) {
            LOG.warn("request to {} failed", endpoint, e);
            respond(ctx, endpoint, t0, keepAlive, error(HttpResponseStatus.INTERNAL_SERVER_ERROR,
                    "server : " + e.getClass().getSimpleName() + ": " + e.getMessage()));
            return;
        }
        batcher.submit(chw, n).whenComplete((rows, err) -> {
            if (err != null) {
                Throwable c = err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
                boolean closing = c instanceof IllegalStateException;
                respond(ctx, endpoint, t0, keepAlive && !closing, error(closing ? HttpResponseStatus.SERVICE_UNAVAILABLE
                        : HttpResponseStatus.INTERNAL_SERVER_ERROR, "server : " + c.getMessage()));
                return;
            }
            FullHttpResponse r;
            try {
                r = json(HttpResponseStatus.OK, embeddings(rows, normalize, plsc));
            } catch (IOException | RuntimeException e) {
                r = error(HttpResponseStatus.INTERNAL_SERVER_ERROR, "server : " + e);
            }
            respond(ctx, endpoint, t0, keepAlive, r);
        });
    }

    private ByteBuf embeddings(float[][] rows, boolean normalize, boolean plsc) throws IOException {
        ByteBuf buf = Unpooled.buffer(rows.length * model.dim() * 12 + 128);
        try (OutputStream out = new ByteBufOutputStream(buf);
                JsonGenerator g = JSON.getFactory().createGenerator(out)) {
            g.writeStartObject();
            if (plsc) {
                g.writeArrayFieldStart("instance");
            } else {
                g.writeArrayFieldStart("embeddings");
            }
            for (float[] row : rows) {
                float[] v = normalize ? Normalize.l2(row) : row;
                if (plsc) {
                    g.writeStartObject();
                    g.writeFieldName("embedding");
                }
                g.writeStartArray();
                for (float x : v) {
                    g.writeNumber(x);
                }
                g.writeEndArray();
                if (plsc) {
                    g.writeEndObject();
                }
            }
            g.writeEndArray();
            g.writeStringField("model", model.name());
            g.writeNumberField("dim", model.dim());
            g.writeBooleanField("normalized", normalize);
            g.writeEndObject();
        }
        return buf;
    }

    private static String abbreviate(JsonNode n) {
        String s = n.toString();
        return s.length() <= 60 ? s : s.substring(0, 57) + "...";
    }

    private static FullHttpResponse json(HttpResponseStatus status, byte[] body) {
        return json(status, Unpooled.wrappedBuffer(body));
    }

    private static FullHttpResponse json(HttpResponseStatus status, ByteBuf body) {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, body);
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
        return r;
    }

    private static FullHttpResponse error(HttpResponseStatus status, String message) {
        byte[] body;
        try {
            body = JSON.writeValueAsBytes(JSON.createObjectNode().put("error", message).put("status", status.code()));
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
        return json(status, body);
    }

    private void respond(ChannelHandlerContext ctx, String endpoint, long t0, boolean keepAlive, FullHttpResponse r) {
        HttpUtil.setContentLength(r, r.content().readableBytes());
        if (!keepAlive) {
            r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        }
        metrics.request(endpoint, r.status().code(), (System.nanoTime() - t0) / 1e9);
        ctx.writeAndFlush(r).addListener((ChannelFutureListener) f -> {
            if (!keepAlive || !f.isSuccess()) {
                f.channel().close();
            } else if (!f.channel().config().isAutoRead()) {
                f.channel().config().setAutoRead(true);
            }
        });
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof IdleStateEvent) {
            ctx.close(); // an idle connection (or one trickling a request) is dropped
        } else {
            super.userEventTriggered(ctx, evt);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        LOG.debug("connection {} failed", ctx.channel().remoteAddress(), cause);
        ctx.close();
    }
}
