package org.plsc4j.bench;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import org.plsc4j.core.collective.Collective;
import org.plsc4j.core.collective.CollectiveConfig;
import org.plsc4j.worker.internal.NettyCollective;

/**
 * N ranks of the Netty collective as threads of this JVM, each with direct send and receive buffers,
 * for {@link AllGatherBench}. Joined once; every {@link #iterationMs()} is one all-gather on all ranks.
 */
final class NettyRing implements AutoCloseable {

    private final List<NettyCollective> ranks;
    private final FloatBuffer[] send;
    private final FloatBuffer[] recv;
    private final RankThreads threads;

    private NettyRing(List<NettyCollective> ranks, int floatsPerRank) {
        this.ranks = ranks;
        int n = ranks.size();
        this.send = new FloatBuffer[n];
        this.recv = new FloatBuffer[n];
        for (int r = 0; r < n; r++) {
            send[r] = direct(floatsPerRank);
            recv[r] = direct((long) floatsPerRank * n);
            for (int i = 0; i < floatsPerRank; i++) {
                send[r].put(i, pattern(r, i));
            }
        }
        this.threads = new RankThreads("plsc4j-bench-netty-rank-", n);
    }

    /** Joins {@code base.worldSize()} ranks (concurrently: joining blocks until the ring is complete). */
    static NettyRing join(CollectiveConfig base, int floatsPerRank) throws Exception {
        int n = base.worldSize();
        RankThreads joiners = new RankThreads("plsc4j-bench-netty-join-", n);
        List<NettyCollective> joined = new ArrayList<>();
        try {
            NettyCollective[] out = new NettyCollective[n];
            joiners.runAll(r -> out[r] = NettyCollective.join(base.withRank(r)));
            joined.addAll(List.of(out));
        } catch (Exception e) {
            joined.forEach(Collective::close);
            throw e;
        } finally {
            joiners.close();
        }
        return new NettyRing(joined, floatsPerRank);
    }

    /** "epoll" or "nio". */
    String transport() {
        return ranks.get(0).transport().label();
    }

    /** Wall time of one all-gather on every rank, from a common start to the last rank's return (ms). */
    double iterationMs() throws Exception {
        return threads.runAll(r -> ranks.get(r).allGather(send[r], recv[r]));
    }

    /** One all-gather, then checks that every rank received every rank's block in rank order. */
    void verify() throws Exception {
        iterationMs();
        int n = ranks.size();
        int per = send[0].capacity();
        int stride = Math.max(1, per / 4096);
        for (int r = 0; r < n; r++) {
            for (int src = 0; src < n; src++) {
                for (int i = 0; i < per; i += stride) {
                    float got = recv[r].get(src * per + i);
                    if (got != pattern(src, i)) {
                        throw new IllegalStateException("allgather: rank " + r + " received " + got + " at element "
                                + i + " of rank " + src + "'s block (expected " + pattern(src, i) + ")");
                    }
                }
            }
        }
    }

    private static float pattern(int rank, int i) {
        return rank * 1_000_003f + (i % 65_536);
    }

    private static FloatBuffer direct(long floats) {
        return ByteBuffer.allocateDirect(Math.toIntExact(floats * Float.BYTES)).order(ByteOrder.nativeOrder())
                .asFloatBuffer();
    }

    @Override
    public void close() {
        threads.close();
        ranks.forEach(Collective::close);
    }
}
