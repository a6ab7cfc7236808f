package org.plsc4j.serving;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.plsc4j.data.ImageShape;
import org.plsc4j.serving.internal.Batcher;
import org.plsc4j.serving.internal.HttpHandler;
import org.plsc4j.serving.internal.ImageDecoder;
import org.plsc4j.serving.internal.LimitedAggregator;
import org.plsc4j.serving.internal.ServedModel;
import org.plsc4j.serving.internal.ServingMetrics;
import org.plsc4j.serving.internal.TokenCheck;
import org.plsc4j.worker.InferenceModel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves an exported model over HTTP: JPEG/PNG images in (base64 in JSON), embeddings out, on the
 * CPU, with dynamic batching of concurrent requests — plsc4j's {@code plsc-serving}, which can be
 * exposed: optional bearer token, body/image-count/image-size limits, bad input answered with a
 * 4xx naming the culprit and never taking the server down, bound to 127.0.0.1 unless told otherwise.
 *
 * <pre>{@code
 * try (EmbeddingServer server = EmbeddingServer.builder().withModel(Path.of("export")).build()) {
 *     int port = server.start(0);   // or server.run(8866) to block until closed
 * }
 * }</pre>
 *
 * <p>Endpoints: {@code POST /v1/embeddings}, {@code POST /FaceClassifyService/inference} (PLSC's),
 * {@code GET /healthz}, {@code GET /v1/model}, {@code GET /metrics} (Prometheus text). See the README
 * section "Serving". {@link #start} once; {@link #close()} is idempotent.
 */
public final class EmbeddingServer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddingServer.class);

    /** Requests waiting for a decoding thread before new ones are answered 503 (bounds the memory they hold). */
    private static final int QUEUED_REQUESTS = 256;

    /** The default port, PLSC's. */
    public static final int DEFAULT_PORT = 8866;

    private sealed interface State permits New, Running, Closed {
    }

    private record New() implements State {
    }

    private record Running(Channel channel, EventLoopGroup boss, EventLoopGroup workers, ThreadPoolExecutor decodePool,
            Batcher batcher, InetSocketAddress address, EmbeddingEngine ownedEngine) implements State {
    }

    private record Closed() implements State {
    }

    private final Builder config;
    private final ServingMetrics metrics = new ServingMetrics();
    private final AtomicReference<State> state = new AtomicReference<>(new New());
    private final CountDownLatch closed = new CountDownLatch(1);

    private EmbeddingServer(Builder b) {
        this.config = b;
    }

    /** A builder with the defaults (127.0.0.1, max batch 64, max wait 5 ms, no token). */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Loads the model, binds {@code host:port} ({@code 0}: an ephemeral port) and starts serving;
     * once.
     *
     * @return the bound port
     * @throws IOException if the model cannot be loaded, the token file read, or the port bound
     */
    public int start(int port) throws IOException {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port : " + port + " (expected: 0 <= port <= 65535)");
        }
        State initial = state.get();
        if (!(initial instanceof New)) {
            throw new IllegalStateException("server : " + initial.getClass().getSimpleName()
                    + " (expected: new, start() is called once)");
        }
        TokenCheck auth = config.tokenFile == null ? null : new TokenCheck(readToken(config.tokenFile));
        ServedModel model = config.model != null ? config.model : ServedModel.load(config.modelDir, config.engine);
        EmbeddingEngine owned = config.model != null ? null : model.engine();
        ImageDecoder decoder = new ImageDecoder(model.shape(), config.maxImageSide);
        Batcher batcher = new Batcher(model::embed, model.shape().floatsPerImage(), config.maxBatch,
                TimeUnit.MICROSECONDS.toNanos(Math.round(config.maxWaitMs * 1000)), metrics);
        ThreadPoolExecutor pool = new ThreadPoolExecutor(config.threads, config.threads, 60, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(QUEUED_REQUESTS), new DefaultThreadFactory("plsc4j-serve-decode", true));
        EventLoopGroup boss = new NioEventLoopGroup(1, new DefaultThreadFactory("plsc4j-serve-accept", true));
        EventLoopGroup workers = new NioEventLoopGroup(Math.max(1, Math.min(config.threads, 4)),
                new DefaultThreadFactory("plsc4j-serve-io", true));
        HttpHandler handler = new HttpHandler(model, decoder, batcher, metrics, auth, pool, config.maxImages,
                config.maxBodyBytes, modelInfo(model));
        try {
            batcher.start();
            Channel ch = new ServerBootstrap()
                    .group(boss, workers)
                    .channel(NioServerSocketChannel.class)
                    .option(ChannelOption.SO_BACKLOG, 1024)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel c) {
                            c.pipeline()
                                    .addLast(new IdleStateHandler(0, 0, config.idleTimeoutSeconds))
                                    .addLast(new HttpServerCodec(8192, 16384, 65536))
                                    .addLast(new LimitedAggregator(config.maxBodyBytes, metrics))
                                    .addLast(handler);
                        }
                    })
                    .bind(config.host, port).syncUninterruptibly().channel();
            InetSocketAddress addr = (InetSocketAddress) ch.localAddress();
            Running r = new Running(ch, boss, workers, pool, batcher, addr, owned);
            if (!state.compareAndSet(initial, r)) {
                shutdown(r);
                throw new IllegalStateException("server : closed while starting");
            }
            LOG.info("serving {} ({}, dim {}, engine {}) on http://{}:{}", model.name(), model.shape(), model.dim(),
                    model.engine().name(), addr.getHostString(), addr.getPort());
            return addr.getPort();
        } catch (Exception e) { // bind() rethrows a BindException undeclared
            batcher.close();
            pool.shutdownNow();
            if (owned != null) {
                owned.close();
            }
            boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            if (e instanceof IOException io) {
                throw new IOException("bind : " + config.host + ":" + port + " (" + io.getMessage() + ")", io);
            }
            if (e instanceof RuntimeException r) {
                throw r;
            }
            throw new IOException("bind : " + config.host + ":" + port + " (" + e + ")", e);
        }
    }

    /** {@link #start(int)} on the builder's port ({@value #DEFAULT_PORT} unless set). */
    public int start() throws IOException {
        return start(config.port);
    }

    /**
     * Starts on {@code port} and blocks until {@link #close()} (from another thread, e.g. a shutdown
     * hook) — PLSC's {@code PLSCServer.run(port=...)}. Returns at once if
     * the server was already closed.
     *
     * @throws InterruptedException if interrupted while serving (the server is closed first)
     */
    public void run(int port) throws IOException, InterruptedException {
        try {
            start(port);
        } catch (IllegalStateException e) {
            if (state.get() instanceof Closed) {
                return; // closed before it was running: nothing to wait for
            }
            throw e;
        }
        try {
            closed.await();
        } catch (InterruptedException e) {
            close();
            throw e;
        }
    }

    /** Blocks until {@link #close()} has been called (by another thread, e.g. a shutdown hook). */
    public void awaitClosed() throws InterruptedException {
        closed.await();
    }

    /** The bound address, once started. */
    public InetSocketAddress address() {
        if (state.get() instanceof Running r) {
            return r.address;
        }
        throw new IllegalStateException("server : not running (expected: started and not closed)");
    }

    /** The metrics in the Prometheus text format, as {@code GET /metrics} shows them. */
    public String metricsText() {
        return metrics.render();
    }

    /** Stops accepting, fails queued requests, releases threads; idempotent. */
    @Override
    public void close() {
        State before = state.getAndSet(new Closed());
        if (before instanceof Running r) {
            shutdown(r);
        }
        closed.countDown();
    }

    private static void shutdown(Running r) {
        r.channel.close().syncUninterruptibly();
        r.batcher.close();
        r.decodePool.shutdownNow();
        r.boss.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        r.workers.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        if (r.ownedEngine != null) {
            r.ownedEngine.close();
        }
    }

    private ObjectNode modelInfo(ServedModel model) {
        ObjectMapper json = new ObjectMapper();
        ObjectNode info = json.createObjectNode();
        info.put("model", model.name());
        info.put("dim", model.dim());
        info.put("engine", model.engine().name());
        info.putArray("image_shape").add(model.shape().channels()).add(model.shape().height()).add(model.shape().width());
        info.put("preprocessing", "decode JPEG/PNG (ImageIO), RGB, bilinear resize to image_shape, CHW, (x - 127.5) / 128");
        if (model.dir() != null) {
            info.put("dir", model.dir().toAbsolutePath().toString());
        }
        info.set("export", model.metadata());
        ObjectNode limits = info.putObject("serving");
        limits.put("max_batch", config.maxBatch);
        limits.put("max_wait_ms", config.maxWaitMs);
        limits.put("max_body_bytes", config.maxBodyBytes);
        limits.put("max_images", config.maxImages);
        limits.put("max_image_side", config.maxImageSide);
        limits.put("auth", config.tokenFile != null);
        return info;
    }

    private static String readToken(Path file) throws IOException {
        String t = Files.readString(file, StandardCharsets.UTF_8).strip();
        if (t.isEmpty() || t.chars().anyMatch(c -> c <= ' ' || c > '~')) {
            throw new IllegalArgumentException("token_file : " + file
                    + " (expected: one token of printable ASCII without spaces)");
        }
        return t;
    }

    /** Configuration of an {@link EmbeddingServer}; every setter validates its value. */
    public static final class Builder {

        private Path modelDir;
        private ServedModel model;
        private String engine = Engines.DEFAULT;
        private String host = "127.0.0.1";
        private int port = DEFAULT_PORT;
        private int maxBatch = 64;
        private double maxWaitMs = 5;
        private int threads = Math.max(1, Runtime.getRuntime().availableProcessors());
        private Path tokenFile;
        private int maxBodyBytes = 64 << 20;
        private int maxImages = 256;
        private int maxImageSide = 4096;
        private int idleTimeoutSeconds = 60;

        private Builder() {
        }

        /** The exported model directory ({@code plsc4j export}'s output); required. */
        public Builder withModel(Path dir) {
            this.modelDir = Objects.requireNonNull(dir, "model");
            this.model = null;
            return this;
        }

        /**
         * An exported model already loaded (e.g. {@code Backbones.loadInference}), with the shape its
         * images are resized to. For benchmarks and applications that hold the model themselves.
         */
        public Builder withModel(InferenceModel inference, ImageShape shape, int dim, String name) {
            this.model = new ServedModel(null, inference, shape, dim, name, null);
            this.modelDir = null;
            return this;
        }

        /**
         * An engine already opened (e.g. {@link Engines#open}), with the shape its images are resized to;
         * the caller closes it after the server.
         */
        public Builder withModel(EmbeddingEngine engine, ImageShape shape, int dim, String name) {
            this.model = new ServedModel(null, engine, shape, dim, name, null);
            this.modelDir = null;
            return this;
        }

        /**
         * The engine that runs a model given by directory: {@code samediff} (default, {@code model.fb})
         * or {@code onnxruntime} ({@code model.onnx}, from {@code plsc4j export --format onnx}), or
         * another {@link EngineProvider} on the class path.
         */
        public Builder engine(String engine) {
            if (!Engines.names().contains(engine)) {
                throw new IllegalArgumentException("engine : " + engine + " (expected one of " + Engines.names() + ")");
            }
            this.engine = engine;
            return this;
        }

        /** The address to bind (default 127.0.0.1; {@code 0.0.0.0} for every interface). */
        public Builder host(String host) {
            if (host == null || host.isBlank()) {
                throw new IllegalArgumentException("host : \"" + host + "\" (expected: an address or host name)");
            }
            this.host = host;
            return this;
        }

        /** The port of {@link EmbeddingServer#start()} (default {@value EmbeddingServer#DEFAULT_PORT}; 0 = ephemeral). */
        public Builder port(int port) {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port : " + port + " (expected: 0 <= port <= 65535)");
            }
            this.port = port;
            return this;
        }

        /** Most images in one forward pass (default 64). */
        public Builder maxBatch(int maxBatch) {
            if (maxBatch < 1 || maxBatch > 65536) {
                throw new IllegalArgumentException("max_batch : " + maxBatch + " (expected: 1 <= x <= 65536)");
            }
            this.maxBatch = maxBatch;
            return this;
        }

        /** Longest wait for more requests after the first of a batch arrived, in ms (default 5; 0 = none). */
        public Builder maxWaitMs(double maxWaitMs) {
            if (!(maxWaitMs >= 0 && maxWaitMs <= 60_000)) {
                throw new IllegalArgumentException("max_wait_ms : " + maxWaitMs + " (expected: 0 <= x <= 60000)");
            }
            this.maxWaitMs = maxWaitMs;
            return this;
        }

        /** Threads that parse requests and decode images (default: the number of cores). */
        public Builder threads(int threads) {
            if (threads < 1 || threads > 1024) {
                throw new IllegalArgumentException("threads : " + threads + " (expected: 1 <= x <= 1024)");
            }
            this.threads = threads;
            return this;
        }

        /** A file holding the bearer token every request must carry (default: none, no auth). */
        public Builder tokenFile(Path tokenFile) {
            this.tokenFile = tokenFile;
            return this;
        }

        /** Largest request body in bytes; larger gets 413 (default 64 MiB). */
        public Builder maxBodyBytes(int maxBodyBytes) {
            if (maxBodyBytes < 1024) {
                throw new IllegalArgumentException("max_body_bytes : " + maxBodyBytes + " (expected: >= 1024)");
            }
            this.maxBodyBytes = maxBodyBytes;
            return this;
        }

        /** Most images in one request; more gets 413 (default 256). */
        public Builder maxImages(int maxImages) {
            if (maxImages < 1) {
                throw new IllegalArgumentException("max_images : " + maxImages + " (expected: >= 1)");
            }
            this.maxImages = maxImages;
            return this;
        }

        /** Largest image width or height in pixels, checked from the header before decoding; larger gets 413 (default 4096). */
        public Builder maxImageSide(int maxImageSide) {
            if (maxImageSide < 1) {
                throw new IllegalArgumentException("max_image_side : " + maxImageSide + " (expected: >= 1)");
            }
            this.maxImageSide = maxImageSide;
            return this;
        }

        /** Seconds after which a connection without traffic is closed (default 60). */
        public Builder idleTimeoutSeconds(int seconds) {
            if (seconds < 1) {
                throw new IllegalArgumentException("idle_timeout_seconds : " + seconds + " (expected: >= 1)");
            }
            this.idleTimeoutSeconds = seconds;
            return this;
        }

        /** The server (not started). */
        public EmbeddingServer build() {
            if (modelDir == null && model == null) {
                throw new IllegalArgumentException("model : none (expected: withModel(dir), an exported model directory)");
            }
            return new EmbeddingServer(copy());
        }

        private Builder copy() {
            Builder b = new Builder();
            b.modelDir = modelDir;
            b.model = model;
            b.engine = engine;
            b.host = host;
            b.port = port;
            b.maxBatch = maxBatch;
            b.maxWaitMs = maxWaitMs;
            b.threads = threads;
            b.tokenFile = tokenFile;
            b.maxBodyBytes = maxBodyBytes;
            b.maxImages = maxImages;
            b.maxImageSide = maxImageSide;
            b.idleTimeoutSeconds = idleTimeoutSeconds;
            return b;
        }
    }
}
