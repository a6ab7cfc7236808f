package org.plsc4j.dashboard;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.plsc4j.dashboard.internal.Routes;
import org.plsc4j.dashboard.internal.TokenCheck;
import org.plsc4j.metrics.PlscMetrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP server of a monitored plsc4j process (Netty): {@code GET /metrics} (Prometheus text,
 * the process's {@link PlscMetrics}) always, and with a {@link JobView} the job dashboard: the page
 * ({@code /}, its script and style, all from this jar) and {@code GET /api/state} (the JSON it polls).
 *
 * <p>Why one server for workers and coordinators: the same routes, token check and exposition;
 * a worker simply has no view. Bound to 127.0.0.1 unless another host is given; every data route
 * ({@code /api/state}, {@code /metrics}) needs {@code Authorization: Bearer <token>} (the job token,
 * or a dashboard token); the page itself holds no data and reads the token from the URL fragment
 * ({@code http://host:port/#token=...}), which browsers never send to the server.
 */
public final class DashboardServer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(DashboardServer.class);

    private sealed interface State permits New, Running, Closed {
    }

    private record New() implements State {
    }

    private record Running(Channel channel, EventLoopGroup boss, EventLoopGroup io, ExecutorService pool,
                           InetSocketAddress address) implements State {
    }

    private record Closed() implements State {
    }

    private final String host;
    private final int port;
    private final String token;
    private final JobView view;
    private final AtomicReference<State> state = new AtomicReference<>(new New());

    private DashboardServer(Builder b) {
        this.host = b.host;
        this.port = b.port;
        this.token = b.token;
        this.view = b.view;
    }

    /** A builder: 127.0.0.1, an ephemeral port, no view (metrics only). */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Binds and starts serving; once.
     *
     * @return this server
     * @throws IOException when the address cannot be bound (the message names it)
     */
    public DashboardServer start() throws IOException {
        State initial = state.get();
        if (!(initial instanceof New)) {
            throw new IllegalStateException("dashboard : " + initial.getClass().getSimpleName()
                    + " (expected: new, start() is called once)");
        }
        PlscMetrics.registerJvm();
        EventLoopGroup boss = new NioEventLoopGroup(1, new DefaultThreadFactory("plsc4j-dashboard-accept", true));
        EventLoopGroup io = new NioEventLoopGroup(1, new DefaultThreadFactory("plsc4j-dashboard-io", true));
        // snapshots read ZooKeeper and files: off the event loop, one at a time
        ExecutorService pool = Executors.newSingleThreadExecutor(new DefaultThreadFactory("plsc4j-dashboard-view", true));
        Routes routes = new Routes(new TokenCheck(token), view, pool);
        try {
            Channel ch = new ServerBootstrap().group(boss, io).channel(NioServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel c) {
                            c.pipeline().addLast(new HttpServerCodec()).addLast(new HttpObjectAggregator(64 * 1024))
                                    .addLast(routes);
                        }
                    })
                    .bind(host, port).syncUninterruptibly().channel();
            InetSocketAddress addr = (InetSocketAddress) ch.localAddress();
            Running r = new Running(ch, boss, io, pool, addr);
            if (!state.compareAndSet(initial, r)) {
                shutdown(r);
                throw new IllegalStateException("dashboard : closed while starting");
            }
            LOG.info("{} on http://{}:{}/", view == null ? "metrics" : "dashboard and metrics", addr.getHostString(),
                    addr.getPort());
            return this;
        } catch (Exception e) { // bind() rethrows a BindException undeclared
            shutdown(new Running(null, boss, io, pool, null));
            if (e instanceof RuntimeException re && !(e.getCause() instanceof IOException)) {
                throw re;
            }
            throw new IOException("dashboard_port : " + host + ":" + port + " (cannot bind: " + e.getMessage() + ")", e);
        }
    }

    /** The bound port (after {@link #start()}). */
    public int port() {
        return address().getPort();
    }

    /** The bound address (after {@link #start()}). */
    public InetSocketAddress address() {
        if (state.get() instanceof Running r) {
            return r.address();
        }
        throw new IllegalStateException("dashboard : not running");
    }

    /** The page's address without the token: {@code http://host:port/}. */
    public String url() {
        InetSocketAddress a = address();
        return "http://" + a.getHostString() + ":" + a.getPort() + "/";
    }

    /** Stops serving; idempotent. */
    @Override
    public void close() {
        State s = state.getAndSet(new Closed());
        if (s instanceof Running r) {
            shutdown(r);
        }
    }

    private static void shutdown(Running r) {
        if (r.channel() != null) {
            r.channel().close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        }
        r.boss().shutdownGracefully(0, 1, TimeUnit.SECONDS);
        r.io().shutdownGracefully(0, 1, TimeUnit.SECONDS);
        r.pool().shutdownNow();
    }

    /** Options of a {@link DashboardServer}. */
    public static final class Builder {
        private String host = "127.0.0.1";
        private int port;
        private String token;
        private JobView view;

        private Builder() {
        }

        /** The address to bind (default 127.0.0.1: this machine only). */
        public Builder host(String host) {
            this.host = Objects.requireNonNull(host, "host");
            return this;
        }

        /** The port (0: any free port). */
        public Builder port(int port) {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("dashboard_port : " + port + " (expected: 0..65535)");
            }
            this.port = port;
            return this;
        }

        /** The bearer token data routes require (the job token or a dashboard token); required. */
        public Builder token(String token) {
            this.token = token;
            return this;
        }

        /** The job to show; without one only {@code /metrics} is served (a worker). */
        public Builder view(JobView view) {
            this.view = view;
            return this;
        }

        /** The server (not started). */
        public DashboardServer build() {
            if (token == null || token.isEmpty()) {
                throw new IllegalArgumentException("token : empty (expected: the job token or a dashboard token)");
            }
            return new DashboardServer(this);
        }
    }
}
