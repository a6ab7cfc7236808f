package org.plsc4j.worker.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.epoll.Epoll;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.plsc4j.core.collective.Collective;
import org.plsc4j.core.collective.CollectiveConfig;
import org.plsc4j.core.collective.CollectiveException;
import org.plsc4j.core.collective.Collectives;
import org.plsc4j.core.collective.ReduceOp;
import org.plsc4j.core.collective.Rendezvous;
import org.plsc4j.core.internal.InMemoryRendezvous;
import org.slf4j.LoggerFactory;

/** Behaviour specific to the Netty backend: handshake refusals, lost peers, transport choice. */
class NettyCollectiveBehaviourTest {

    private final ExecutorService pool = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "netty-test-rank");
        t.setDaemon(true);
        return t;
    });
    private final List<Collective> opened = new ArrayList<>();

    @AfterEach
    void tearDown() throws InterruptedException {
        synchronized (opened) {
            opened.forEach(Collective::close);
        }
        pool.shutdownNow();
        assertTrue(pool.awaitTermination(20, TimeUnit.SECONDS));
    }

    private List<Collective> join(int worldSize, String jobId, Duration timeout, Rendezvous rendezvous) throws Exception {
        List<Future<NettyCollective>> futures = new ArrayList<>();
        for (int r = 0; r < worldSize; r++) {
            CollectiveConfig cfg = CollectiveConfig.builder().jobId(jobId).token("t0ken").rank(r).worldSize(worldSize)
                    .timeout(timeout).rendezvous(rendezvous).build();
            futures.add(pool.submit(() -> NettyCollective.join(cfg)));
        }
        List<Collective> group = new ArrayList<>();
        for (Future<NettyCollective> f : futures) {
            Collective c = f.get(60, TimeUnit.SECONDS);
            synchronized (opened) {
                opened.add(c);
            }
            group.add(c);
        }
        return group;
    }

    private <T> List<Future<T>> onEach(List<Collective> group, java.util.function.Function<Collective, Callable<T>> f) {
        List<Future<T>> out = new ArrayList<>();
        for (Collective c : group) {
            out.add(pool.submit(f.apply(c)));
        }
        return out;
    }

    /** Collects log events of one logger (thread-safe, unlike a plain ListAppender's list). */
    private static final class Capture extends AppenderBase<ILoggingEvent> {
        final Queue<ILoggingEvent> events = new ConcurrentLinkedQueue<>();

        @Override
        protected void append(ILoggingEvent e) {
            events.add(e);
        }

        List<String> warnings() {
            List<String> out = new ArrayList<>();
            for (ILoggingEvent e : events) {
                if (e.getLevel() == Level.WARN) {
                    out.add(e.getFormattedMessage());
                }
            }
            return out;
        }
    }

    /** Result of one rogue connection attempt. */
    private record RogueResult(int localPort, Handshake.Answer answer, boolean closedByServer) {
    }

    private static RogueResult rogue(String address, byte[] payload) throws IOException {
        InetSocketAddress target = RingTransport.parse(address);
        try (Socket s = new Socket()) {
            s.connect(target, 5000);
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write(payload);
            out.flush();
            DataInputStream in = new DataInputStream(s.getInputStream());
            assertEquals(Handshake.MAGIC, in.readInt(), "answer magic");
            byte[] frame = new byte[in.readInt()];
            in.readFully(frame);
            Handshake.Answer answer;
            try {
                answer = Handshake.decodeAnswer(Unpooled.wrappedBuffer(frame));
            } catch (Handshake.BadHandshakeException e) {
                throw new AssertionError(e);
            }
            boolean closed = in.read() == -1;
            return new RogueResult(s.getLocalPort(), answer, closed);
        }
    }

    private static byte[] hello(String jobId, int rank, String token) {
        ByteBuf b = Handshake.encodeHello(ByteBufAllocator.DEFAULT, jobId, rank, token);
        try {
            byte[] out = new byte[b.readableBytes()];
            b.readBytes(out);
            return out;
        } finally {
            b.release();
        }
    }

    @Test
    void rogueConnectionsAreRefusedAndTheLegitimatePeerStillConnects() throws Exception {
        Logger handshakeLog = (Logger) LoggerFactory.getLogger(HandshakeServerHandler.class);
        Capture capture = new Capture();
        capture.start();
        handshakeLog.addAppender(capture);
        try {
            String jobId = "rogue-job";
            InMemoryRendezvous inner = new InMemoryRendezvous(3);
            List<RogueResult> rogues = new ArrayList<>();
            Socket[] silent = new Socket[1];
            // Rank 0 is rank 1's predecessor: before rank 0 connects, impostors try rank 1's port.
            Rendezvous rendezvous = (rank, worldSize, me, timeout) -> {
                List<String> all = inner.exchange(rank, worldSize, me, timeout);
                if (rank == 0) {
                    try {
                        rogues.add(rogue(all.get(1), hello(jobId, 0, "not-the-token")));
                        rogues.add(rogue(all.get(1), hello("other-job", 0, "t0ken")));
                        rogues.add(rogue(all.get(1), "GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII)));
                        rogues.add(rogue(all.get(1), hello(jobId, 2, "t0ken"))); // right secret, wrong position
                        silent[0] = new Socket();
                        silent[0].connect(RingTransport.parse(all.get(1)), 5000); // says nothing at all
                    } catch (IOException e) {
                        throw new AssertionError(e);
                    }
                }
                return all;
            };
            List<Collective> group = join(3, jobId, Duration.ofSeconds(20), rendezvous);
            try {
                assertEquals(4, rogues.size());
                for (RogueResult r : rogues) {
                    assertFalse(r.answer().accepted(), "impostor accepted: " + r);
                    assertTrue(r.closedByServer(), "connection of an impostor left open: " + r);
                }
                assertEquals("wrong token", rogues.get(0).answer().reason());
                assertEquals("wrong job id", rogues.get(1).answer().reason());
                assertTrue(rogues.get(2).answer().reason().startsWith("not a plsc4j handshake"), rogues.get(2).toString());
                assertTrue(rogues.get(3).answer().reason().startsWith("unexpected rank"), rogues.get(3).toString());

                List<String> warnings = capture.warnings();
                assertTrue(warnings.stream().anyMatch(w -> w.contains("rank 1: refused connection from /127.0.0.1:"
                        + rogues.get(0).localPort() + " claiming rank 0 of job 'rogue-job': wrong token")), warnings.toString());
                assertTrue(warnings.stream().anyMatch(w -> w.contains(":" + rogues.get(2).localPort() + " claiming rank ?")),
                        warnings.toString());

                // the group works, with the silent impostor still connected
                List<Future<float[]>> results = onEach(group, c -> () -> {
                    float[] v = {c.rank() + 1f, 10f * c.rank()};
                    c.allReduce(v, ReduceOp.SUM);
                    return v;
                });
                for (Future<float[]> f : results) {
                    assertArrayEquals(new float[] {6f, 30f}, f.get(30, TimeUnit.SECONDS));
                }
            } finally {
                silent[0].close();
            }
        } finally {
            handshakeLog.detachAppender(capture);
        }
    }

    @Test
    void closingARankFailsItsNeighboursFastNamingIt() throws Exception {
        List<Collective> group = join(3, "lost-peer", Duration.ofSeconds(60), new InMemoryRendezvous(3));
        int n = 2 << 20;
        List<Future<Throwable>> outcomes = new ArrayList<>();
        for (Collective c : group.subList(0, 2)) {
            outcomes.add(pool.submit(() -> {
                FloatBuffer recv = ByteBuffer.allocateDirect(n * 3 * 4).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
                try {
                    for (int i = 0; i < 100; i++) {
                        c.allGather(FloatBuffer.allocate(n), recv);
                    }
                    return null;
                } catch (Throwable e) {
                    return e;
                }
            }));
        }
        long t0 = System.nanoTime();
        group.get(2).close();
        // The first failure anywhere is a neighbour of rank 2 noticing its connection is gone; the
        // other rank may then see that neighbour's connection go first (the failure cascades).
        StringBuilder messages = new StringBuilder();
        for (int r = 0; r < 2; r++) {
            Throwable e = outcomes.get(r).get(30, TimeUnit.SECONDS);
            assertInstanceOf(CollectiveException.class, e);
            messages.append(" | ").append(e.getMessage());
        }
        assertTrue(messages.toString().matches(".*lost the connection (to|from) rank 2 .*"), messages.toString());
        assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(10), "took longer than 10 s with a 60 s timeout");
        // broken for good: fails fast
        assertThrows(CollectiveException.class, () -> group.get(0).barrier());
    }

    @Test
    void differentOperationsOnDifferentRanksAreReportedWithBothCalls() throws Exception {
        List<Collective> group = join(2, "mixup", Duration.ofSeconds(5), new InMemoryRendezvous(2));
        Future<Throwable> a = pool.submit(() -> {
            try {
                group.get(0).allGather(new float[10], new float[20]);
                return null;
            } catch (Throwable e) {
                return e;
            }
        });
        Future<Throwable> b = pool.submit(() -> {
            try {
                group.get(1).allReduce(new float[10], ReduceOp.MAX);
                return null;
            } catch (Throwable e) {
                return e;
            }
        });
        String messages = a.get(30, TimeUnit.SECONDS) + " | " + b.get(30, TimeUnit.SECONDS);
        assertTrue(messages.contains("allGather(10 floats per rank) #1") && messages.contains("allReduce(MAX, 10 floats) #1"),
                messages);
    }

    @Test
    void worldSizeAboveOneNeedsARendezvous() {
        CollectiveConfig cfg = CollectiveConfig.builder().worldSize(2).rank(0).build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NettyCollective.join(cfg));
        assertTrue(e.getMessage().startsWith("rendezvous : null"), e.getMessage());
    }

    @Test
    void isRegisteredAsNettyAndPrefersEpoll() {
        assertInstanceOf(NettyCollectiveProvider.class, Collectives.provider("netty"));
        try (NettyCollective c = NettyCollective.join(CollectiveConfig.builder().build())) {
            assertEquals(Epoll.isAvailable() ? TransportKind.EPOLL : TransportKind.NIO, c.transport());
            assertTrue(Epoll.isAvailable(), "epoll should load on this Linux x86_64 build machine: " + Epoll.unavailabilityCause());
        }
    }

    @Test
    void nioTransportWorksToo() throws Exception {
        InMemoryRendezvous rendezvous = new InMemoryRendezvous(3);
        List<Future<float[]>> results = new ArrayList<>();
        for (int r = 0; r < 3; r++) {
            CollectiveConfig cfg = CollectiveConfig.builder().jobId("nio").rank(r).worldSize(3).rendezvous(rendezvous).build();
            results.add(pool.submit(() -> {
                try (NettyCollective c = NettyCollective.join(cfg, TransportKind.NIO)) {
                    float[] recv = new float[3 * 100_001];
                    float[] send = new float[100_001];
                    java.util.Arrays.fill(send, cfg.rank());
                    c.allGather(send, recv);
                    c.barrier();
                    return recv;
                }
            }));
        }
        for (Future<float[]> f : results) {
            float[] recv = f.get(60, TimeUnit.SECONDS);
            for (int i = 0; i < recv.length; i++) {
                assertEquals(i / 100_001, recv[i], 0f, "element " + i);
            }
        }
    }

    /**
     * A rank that completed an operation may close while its predecessor still waits for the rest of
     * that operation from the other side of the ring: that close must not fail the predecessor's
     * (already served) operation. Repeated, because it depends on which rank finishes first.
     */
    @Test
    void aRankClosingRightAfterTheLastOperationDoesNotFailItsPeers() throws Exception {
        for (int round = 0; round < 15; round++) {
            InMemoryRendezvous rendezvous = new InMemoryRendezvous(3);
            List<Future<float[]>> results = new ArrayList<>();
            for (int r = 0; r < 3; r++) {
                CollectiveConfig cfg = CollectiveConfig.builder().jobId("close-" + round).rank(r).worldSize(3)
                        .rendezvous(rendezvous).build();
                results.add(pool.submit(() -> {
                    try (NettyCollective c = NettyCollective.join(cfg)) {
                        float[] recv = new float[3 * 1000];
                        float[] send = new float[1000];
                        java.util.Arrays.fill(send, cfg.rank());
                        c.allGather(send, recv);
                        return recv;
                    }
                }));
            }
            for (Future<float[]> f : results) {
                float[] recv = f.get(60, TimeUnit.SECONDS);
                for (int i = 0; i < recv.length; i += 999) {
                    assertEquals(i / 1000, recv[i], 0f, "round " + round + ", element " + i);
                }
            }
        }
    }
}
