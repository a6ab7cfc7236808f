package org.plsc4j.bench;

/** Socket settings the NIO baseline shares with the Netty transport, so the comparison is like for like. */
final class RingSockets {

    /** SO_SNDBUF/SO_RCVBUF of the Netty ring transport (its {@code plsc4j.netty.socketBuffer} default, 4 MiB). */
    static final int SOCKET_BUFFER = Integer.getInteger("plsc4j.netty.socketBuffer", 4 * 1024 * 1024);

    /** Bytes per write/read call of the baseline. */
    static final int CHUNK = 1024 * 1024;

    /** Largest send/receive buffer of the baseline: well beyond any cache, bounded direct memory. */
    static final long MAX_BUFFER = 64L * 1024 * 1024;

    private RingSockets() {
    }
}
