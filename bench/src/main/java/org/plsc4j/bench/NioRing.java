package org.plsc4j.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.Channel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The baseline of {@link AllGatherBench}: N ranks in a ring of blocking {@code java.nio}
 * {@link SocketChannel}s over 127.0.0.1, rank r connected to rank r+1. One iteration streams
 * {@code bytesPerRank} bytes from every rank to its successor while it reads as many from its
 * predecessor (a writer and a reader thread per rank): the data movement of a ring all-gather with
 * nothing else — no framing, no forwarding logic, no event loop.
 *
 * <p>Memory like the collective's: each rank sends from and receives into buffers of one block
 * ({@code blockBytes}, up to {@link RingSockets#MAX_BUFFER}), walked through in order, so the bytes
 * come from and go to main memory as an all-gather's must. Cycling through 1 MiB buffers instead
 * kept the baseline's user-side copies in the cache (32 MiB L3 here) and measured a transfer no
 * all-gather of 64 MiB blocks can make: up to twice the rate of the same ring over block-sized buffers.
 */
final class NioRing implements AutoCloseable {

    private final int n;
    private final long bytesPerRank;
    private final List<SocketChannel> out = new ArrayList<>();
    private final List<SocketChannel> in = new ArrayList<>();
    private final List<ServerSocketChannel> servers = new ArrayList<>();
    private final ByteBuffer[] sendBuf;
    private final ByteBuffer[] recvBuf;
    private final RankThreads threads;

    private NioRing(int n, long bytesPerRank, long blockBytes) {
        this.n = n;
        this.bytesPerRank = bytesPerRank;
        this.sendBuf = new ByteBuffer[n];
        this.recvBuf = new ByteBuffer[n];
        int size = (int) Math.max(1, Math.min(blockBytes, RingSockets.MAX_BUFFER));
        for (int r = 0; r < n; r++) {
            sendBuf[r] = ByteBuffer.allocateDirect(size);
            recvBuf[r] = ByteBuffer.allocateDirect(size);
        }
        // a writer and a reader per rank, so that no rank waits on its own send to read
        this.threads = new RankThreads("plsc4j-bench-nio-", 2 * n);
    }

    /**
     * Opens the ring; every socket gets the same buffer sizes as the Netty transport's.
     *
     * @param bytesPerRank bytes each rank sends and receives per iteration
     * @param blockBytes the all-gather's block (the size of the send and receive buffers, capped)
     */
    static NioRing connect(int n, long bytesPerRank, long blockBytes, Duration timeout) throws IOException {
        NioRing ring = new NioRing(n, bytesPerRank, blockBytes);
        try {
            for (int r = 0; r < n; r++) {
                ServerSocketChannel s = ServerSocketChannel.open();
                s.setOption(StandardSocketOptions.SO_RCVBUF, RingSockets.SOCKET_BUFFER);
                s.bind(new InetSocketAddress("127.0.0.1", 0));
                ring.servers.add(s);
            }
            for (int r = 0; r < n; r++) {
                // rank r's outgoing connection goes to rank r+1's server
                ServerSocketChannel next = ring.servers.get((r + 1) % n);
                SocketChannel c = SocketChannel.open();
                c.setOption(StandardSocketOptions.TCP_NODELAY, true);
                c.setOption(StandardSocketOptions.SO_SNDBUF, RingSockets.SOCKET_BUFFER);
                c.socket().connect(next.getLocalAddress(), (int) timeout.toMillis());
                ring.out.add(c);
                SocketChannel accepted = next.accept();
                accepted.setOption(StandardSocketOptions.SO_RCVBUF, RingSockets.SOCKET_BUFFER);
                accepted.setOption(StandardSocketOptions.TCP_NODELAY, true);
                ring.in.add(accepted); // in.get(r) is rank (r+1)'s connection from rank r
            }
        } catch (IOException | RuntimeException e) {
            ring.close();
            throw e;
        }
        return ring;
    }

    /** Wall time of every rank sending and receiving {@code bytesPerRank} bytes (ms). */
    double iterationMs() throws Exception {
        return threads.runAll(t -> {
            if (t < n) {
                write(out.get(t), sendBuf[t]);
            } else {
                int rank = t - n;
                read(in.get((rank - 1 + n) % n), recvBuf[rank]);
            }
        });
    }

    private void write(SocketChannel c, ByteBuffer b) throws IOException {
        long left = bytesPerRank;
        while (left > 0) {
            chunk(b, left);
            while (b.hasRemaining()) {
                left -= c.write(b);
            }
        }
    }

    private void read(SocketChannel c, ByteBuffer b) throws IOException {
        long left = bytesPerRank;
        while (left > 0) {
            chunk(b, left);
            int got = c.read(b);
            if (got < 0) {
                throw new IOException("connection closed with " + left + " bytes still expected");
            }
            left -= got;
        }
    }

    /** Sets {@code b} to its next {@link RingSockets#CHUNK} bytes after the last call's, wrapping at the end. */
    private static void chunk(ByteBuffer b, long left) {
        int from = b.position() == b.capacity() || b.limit() == 0 ? 0 : b.position();
        b.limit(b.capacity()).position(from);
        b.limit((int) Math.min(b.capacity(), from + Math.min(RingSockets.CHUNK, left)));
    }

    @Override
    public void close() {
        threads.close();
        for (List<? extends Channel> list : List.of(out, in, servers)) {
            for (Channel c : list) {
                try {
                    c.close();
                } catch (IOException ignored) {
                    // closing a benchmark socket: nothing to recover
                }
            }
        }
    }
}
