package org.plsc4j.worker.internal;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.FastThreadLocalThread;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.plsc4j.core.collective.CollectiveConfig;
import org.plsc4j.core.collective.CollectiveException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The two TCP connections of one rank in the ring — from its predecessor (accepted by our server)
 * and to its successor (connected by us) — and the two I/O threads that run operations on them.
 *
 * <p>Why two I/O threads (an inbound and an outbound event loop): on loopback the kernel copies
 * bytes in the context of the thread that calls {@code read}/{@code write}. With a single thread per
 * rank, a rank could not read while it was writing (a flush writes up to 16 slices of 4 MiB before
 * the loop looks at the inbound socket again), and neighbours fell into alternating phases, one
 * writing while the other read (seen with strace): each direction idle much of the time. A plain
 * socket ring has a reader and a writer thread per rank and moves both directions at once; with one
 * event loop per direction, reading and writing overlap the same way.
 *
 * <p>Thread confinement: the <b>inbound thread</b> owns the server, the connection from the
 * predecessor, the running operation ({@code current}), the queue of early data ({@code pending}),
 * the failure handling ({@code failNow}) and all receive state of {@link RingOp}; it also issues
 * every write (an operation's initial sends and its forwards, in stream order). The <b>outbound
 * thread</b> owns the connection to the successor: its handshake, the socket writes (Netty runs
 * writes issued from another thread on the channel's own loop, in issue order) and the write
 * completions. Events of the outbound connection that concern the transport (lost connection,
 * unexpected data) are handed to the inbound thread; {@link RingOp} documents how the two threads
 * agree on an operation's completion. The caller's thread only starts an operation and waits for
 * it. Both connections are unidirectional after the handshake.
 *
 * <p>Incoming bytes that belong to an operation this rank has not started yet (the predecessor
 * may be one operation ahead) are queued; between operations reading is paused
 * ({@code autoRead=false}) so TCP flow control, not the heap, absorbs a fast predecessor.
 *
 * <p>Any failure — lost connection, protocol error, timeout reported by the caller — fails the
 * running operation, closes both connections (so the neighbours fail fast too) and is permanent.
 */
final class RingTransport {

    private static final Logger LOG = LoggerFactory.getLogger(RingTransport.class);

    /** Socket send/receive buffers: loopback throughput improves markedly up to about 4 MiB. */
    static final int SOCKET_BUFFER = Integer.getInteger("plsc4j.netty.socketBuffer", 4 * 1024 * 1024);

    /** Largest direct read into an operation's memory (see {@link InPlaceRecvAllocator}). */
    static final int RECEIVE_WINDOW = 4 * 1024 * 1024;

    private final CollectiveConfig config;
    private final int rank;
    private final int worldSize;
    private final int prev;
    private final int next;
    private final byte[] tokenDigest;
    private final TransportKind kind;
    private final EventLoopGroup inGroup;
    private final EventLoopGroup outGroup;
    /** The inbound thread: see the class comment. */
    private final EventLoop loop;
    private final Reducer reducer = new Reducer();
    private final CompletableFuture<Channel> inbound = new CompletableFuture<>();
    private final CompletableFuture<Channel> outbound = new CompletableFuture<>();

    private volatile List<String> peers;
    private volatile Channel server;
    private volatile CollectiveException failure;
    private volatile boolean closing;

    // inbound-thread state (out is set once by the outbound thread's handshake, read by both)
    private Channel in;
    private volatile Channel out;
    private RingOp current;
    private CollectiveException lostAfterUse;
    private boolean outUnflushed;
    private final ArrayDeque<ByteBuf> pending = new ArrayDeque<>();

    RingTransport(CollectiveConfig config, TransportKind kind) {
        this.config = config;
        this.rank = config.rank();
        this.worldSize = config.worldSize();
        this.prev = (rank - 1 + worldSize) % worldSize;
        this.next = (rank + 1) % worldSize;
        this.tokenDigest = Handshake.digest(config.token());
        this.kind = kind;
        this.inGroup = kind.newGroup(1, threadFactory("plsc4j-collective-r" + rank + "-in"));
        this.outGroup = kind.newGroup(1, threadFactory("plsc4j-collective-r" + rank + "-out"));
        this.loop = inGroup.next();
    }

    private static ThreadFactory threadFactory(String name) {
        return r -> {
            Thread t = new FastThreadLocalThread(r, name);
            t.setDaemon(true);
            return t;
        };
    }

    int rank() {
        return rank;
    }

    int next() {
        return next;
    }

    Duration timeout() {
        return config.timeout();
    }

    TransportKind kind() {
        return kind;
    }

    Reducer reducer() {
        return reducer;
    }

    /** The first failure, or null while healthy. */
    CollectiveException failure() {
        return failure;
    }

    /** "rank 1 (127.0.0.1:40123)" using the published listen address. */
    String describePeer(int peer) {
        List<String> p = peers;
        return "rank " + peer + (p == null ? "" : " (" + p.get(peer) + ")");
    }

    // ------------------------------------------------------------------ setup

    /** Binds the server on {@code bindHost}, port 0; returns the address to publish ("host:port"). */
    String bind() {
        ServerBootstrap sb = new ServerBootstrap()
                .group(inGroup)
                .channel(kind.serverChannel())
                .option(ChannelOption.SO_RCVBUF, SOCKET_BUFFER)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.SO_RCVBUF, SOCKET_BUFFER)
                .childOption(ChannelOption.SO_SNDBUF, SOCKET_BUFFER)
                .childOption(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                .childOption(ChannelOption.RCVBUF_ALLOCATOR, new InPlaceRecvAllocator(
                        new AdaptiveRecvByteBufAllocator(4096, 256 * 1024, 1024 * 1024), this::receiveWindow,
                        RECEIVE_WINDOW))
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast("handshake", new HandshakeServerHandler(RingTransport.this));
                    }
                });
        ChannelFuture f = sb.bind(config.bindHost(), 0);
        awaitSetup(f, "bind a server on " + config.bindHost());
        server = f.channel();
        InetSocketAddress local = (InetSocketAddress) server.localAddress();
        String host = config.advertiseHost() != null ? config.advertiseHost()
                : local.getAddress().isAnyLocalAddress() ? localHostAddress() : local.getAddress().getHostAddress();
        if (host.contains(":")) {
            host = "[" + host + "]";
        }
        return host + ":" + local.getPort();
    }

    private static String localHostAddress() {
        try {
            return InetAddress.getLocalHost().getHostAddress();
        } catch (UnknownHostException e) {
            return "127.0.0.1";
        }
    }

    /** Connects to the successor; {@code addresses} come from the rendezvous, indexed by rank. */
    void connect(List<String> addresses) {
        this.peers = List.copyOf(addresses);
        InetSocketAddress target = parse(addresses.get(next));
        Bootstrap b = new Bootstrap()
                .group(outGroup)
                .channel(kind.channel())
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_SNDBUF, SOCKET_BUFFER)
                .option(ChannelOption.SO_RCVBUF, 64 * 1024)
                .option(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, config.timeout().toMillis()))
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast("handshake", new HandshakeClientHandler(RingTransport.this));
                    }
                });
        b.connect(target).addListener((ChannelFuture f) -> {
            if (!f.isSuccess()) {
                outboundFailed("cannot be reached", f.cause());
            }
        });
    }

    static InetSocketAddress parse(String hostPort) {
        int colon = hostPort.lastIndexOf(':');
        if (colon <= 0 || colon == hostPort.length() - 1) {
            throw new CollectiveException("address : \"" + hostPort + "\" (expected: host:port)");
        }
        String host = hostPort.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        try {
            return new InetSocketAddress(host, Integer.parseInt(hostPort.substring(colon + 1)));
        } catch (IllegalArgumentException e) {
            throw new CollectiveException("address : \"" + hostPort + "\" (expected: host:port)", e);
        }
    }

    /** Blocks until both connections passed their handshake, or throws naming the peer at fault. */
    void awaitConnected() {
        long deadline = System.nanoTime() + config.timeout().toNanos();
        awaitConnection(outbound, deadline, "waiting for " + describePeer(next) + " to accept the connection");
        awaitConnection(inbound, deadline, "waiting for " + describePeer(prev) + " to connect");
        LOG.debug("rank {}: ring connected via {} (prev {}, next {})", rank, kind.label(), describePeer(prev),
                describePeer(next));
    }

    private void awaitConnection(CompletableFuture<Channel> f, long deadline, String what) {
        try {
            f.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            CollectiveException ce = new CollectiveException("rank " + rank + ": timed out after " + config.timeout()
                    + " " + what);
            fail(ce);
            throw ce;
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            throw c instanceof CollectiveException ce ? new CollectiveException(ce.getMessage(), ce)
                    : new CollectiveException("rank " + rank + ": " + what + ": " + c, c);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            CollectiveException ce = new CollectiveException("rank " + rank + ": interrupted while " + what, e);
            fail(ce);
            throw ce;
        }
    }

    private void awaitSetup(ChannelFuture f, String what) {
        if (!f.awaitUninterruptibly(config.timeout().toMillis())) {
            throw new CollectiveException("rank " + rank + ": timed out after " + config.timeout() + " trying to " + what);
        }
        if (!f.isSuccess()) {
            throw new CollectiveException("rank " + rank + ": cannot " + what + ": " + f.cause(), f.cause());
        }
    }

    ByteBuf hello(ByteBufAllocator alloc) {
        return Handshake.encodeHello(alloc, config.jobId(), rank, config.token());
    }

    /**
     * Decides about a connecting peer (inbound thread): null to accept it as the predecessor, else the
     * reason for refusing it.
     */
    String admitInbound(Handshake.Hello hello, Channel ch) {
        boolean tokenOk = Handshake.tokenMatches(tokenDigest, hello.token());
        if (!hello.jobId().equals(config.jobId())) {
            return "wrong job id";
        }
        if (!tokenOk) {
            return "wrong token";
        }
        if (hello.rank() != prev) {
            return "unexpected rank (only rank " + prev + " connects to rank " + rank + ")";
        }
        if (in != null || failure != null || closing) {
            return in != null ? "rank " + prev + " is already connected" : "this rank is shutting down";
        }
        in = ch;
        ch.config().setAutoRead(false);
        inbound.complete(ch);
        return null;
    }

    /** The successor accepted our handshake (outbound thread). */
    void outboundAccepted(Channel ch) {
        out = ch;
        outbound.complete(ch);
    }

    /** Connecting to the successor failed (outbound thread). */
    void outboundFailed(String problem, Throwable cause) {
        CollectiveException e = new CollectiveException("rank " + rank + ": " + describePeer(next) + " " + problem
                + (cause == null ? "" : ": " + cause), cause);
        outbound.completeExceptionally(e);
    }

    // ------------------------------------------------------------------ operations

    /** Starts {@code op} on the inbound thread; the caller then waits on {@link RingOp#done()}. */
    void start(RingOp op) {
        try {
            loop.execute(() -> {
                if (failure != null) {
                    op.fail(failure);
                    return;
                }
                current = op;
                op.start(this, out);
                in.config().setAutoRead(true);
                drainPending();
                flushOutbound(); // forwards of data that had arrived before the operation started
            });
        } catch (RejectedExecutionException e) {
            op.fail(new CollectiveException("rank " + rank + ": the collective is closed", e));
        }
    }

    /**
     * Where the next inbound bytes can be read directly (inbound thread): a window of the running
     * operation's memory of at most {@code max} bytes, or null (see {@link InPlaceRecvAllocator}).
     */
    ByteBuf receiveWindow(int max) {
        RingOp op = current;
        if (op == null || failure != null || !pending.isEmpty()) {
            return null;
        }
        return op.receiveWindow(max);
    }

    /** Data from the predecessor (inbound thread). */
    void onData(ByteBuf buf) {
        if (failure != null) {
            buf.release();
            return;
        }
        pending.add(buf);
        drainPending();
    }

    private void drainPending() {
        RingOp op = current;
        try {
            while (op != null && op.wantsInput() && !pending.isEmpty()) {
                ByteBuf head = pending.peek();
                op.feed(head);
                if (failure != null) {
                    return; // failNow released the queue
                }
                if (!head.isReadable()) {
                    pending.poll().release();
                }
            }
        } catch (CollectiveException e) {
            failNow(e);
            return;
        } catch (RuntimeException e) {
            failNow(new CollectiveException("rank " + rank + ": internal error in " + op.header().describe() + ": " + e, e));
            return;
        }
        if ((current == null || current.inputComplete()) && in != null) {
            in.config().setAutoRead(false);
        }
    }

    void onReadComplete() {
        flushOutbound();
    }

    /** A write was issued to the outbound connection since the last flush (inbound thread). */
    void wroteOutbound() {
        outUnflushed = true;
    }

    /** Flushes issued writes; from the inbound thread this is one task for the outbound thread. */
    private void flushOutbound() {
        Channel o = out;
        if (outUnflushed && o != null) {
            outUnflushed = false;
            o.flush();
        }
    }

    /** Called by the operation when it completed successfully (either I/O thread). */
    void opFinished(RingOp op) {
        if (!loop.inEventLoop()) {
            // before the caller can start its next operation (its start task queues behind this one)
            onInbound(() -> opFinished(op));
            return;
        }
        if (current == op) {
            current = null;
        }
        if (lostAfterUse != null) {
            failNow(lostAfterUse);
        }
    }

    /** Runs {@code task} on the inbound thread (now if already there); dropped once shut down. */
    private void onInbound(Runnable task) {
        if (loop.inEventLoop()) {
            task.run();
            return;
        }
        try {
            loop.execute(task);
        } catch (RejectedExecutionException ignored) {
            // shut down: nothing left to do
        }
    }

    /** A connection closed or failed (either I/O thread; handled on the inbound thread). */
    void onConnectionLost(Channel ch, Throwable cause) {
        if (!loop.inEventLoop()) {
            onInbound(() -> onConnectionLost(ch, cause));
            return;
        }
        if (closing || failure != null) {
            return;
        }
        boolean inbound = ch == in;
        String which = inbound ? "the connection from " + describePeer(prev) : "the connection to " + describePeer(next);
        RingOp op = current;
        // a successor that gives up first (its own timeout) may be a symptom of a silent predecessor:
        // say what this rank was still waiting for
        String waiting = !inbound && op != null && !op.inputComplete() ? ", " + op.inputProgress() : "";
        CollectiveException e = new CollectiveException("rank " + rank + ": lost " + which
                + (op == null ? "" : " during " + op.header().describe()) + waiting
                + (cause == null ? "" : ": " + cause), cause);
        if (op != null && (inbound ? op.inputComplete() : op.sendsComplete())) {
            // the running operation no longer needs this connection: a peer that completed the operation
            // may close while this rank still waits for its other side. Fail once the operation is done.
            lostAfterUse = e;
            return;
        }
        failNow(e);
    }

    void onProtocolError(String problem) {
        fail(new CollectiveException("rank " + rank + ": protocol error: " + problem));
    }

    // ------------------------------------------------------------------ failure and shutdown

    /** Fails the transport from any thread (asynchronously when not on the inbound thread). */
    void fail(CollectiveException e) {
        if (loop.inEventLoop()) {
            failNow(e);
        } else {
            try {
                loop.execute(() -> failNow(e));
            } catch (RejectedExecutionException ignored) {
                // already shut down: nothing left to fail
            }
        }
    }

    /**
     * Fails the transport and waits (bounded) until both connections are closed, so that neither a
     * queued write nor a read still refers to the caller's buffers when it regains control.
     */
    void failAndAwait(CollectiveException e) {
        if (loop.inEventLoop()) {
            failNow(e);
            return;
        }
        long waitMillis = Math.max(1000, config.timeout().toMillis());
        try {
            loop.submit(() -> failNow(e)).awaitUninterruptibly(waitMillis);
        } catch (RejectedExecutionException ignored) {
            // already shut down
        }
        Channel o = out;
        if (o != null && !o.eventLoop().inEventLoop()) {
            // the inbound thread only asked the outbound thread to close
            o.close().awaitUninterruptibly(waitMillis);
        }
    }

    private void failNow(CollectiveException e) {
        if (failure != null) {
            return;
        }
        failure = e;
        if (!closing) {
            LOG.debug("rank {}: collective failed: {}", rank, e.getMessage());
        }
        RingOp op = current;
        current = null;
        if (op != null) {
            op.fail(e);
        }
        while (!pending.isEmpty()) {
            pending.poll().release();
        }
        inbound.completeExceptionally(e);
        outbound.completeExceptionally(e);
        if (in != null) {
            in.close();
        }
        if (out != null) {
            out.close();
        }
        Channel s = server;
        if (s != null) {
            s.close();
        }
    }

    /** Closes connections and stops both I/O threads; idempotent. */
    void close() {
        if (closing) {
            return;
        }
        closing = true;
        fail(new CollectiveException("rank " + rank + ": the collective is closed"));
        io.netty.util.concurrent.Future<?> fin = inGroup.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        io.netty.util.concurrent.Future<?> fout = outGroup.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        if (!loop.inEventLoop()) {
            fin.awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
        if (!outGroup.next().inEventLoop()) {
            fout.awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
    }
}
