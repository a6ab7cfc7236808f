package org.plsc4j.worker.internal;

import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.util.concurrent.ThreadFactory;

/**
 * The Netty transport under the collective: native epoll where it loads (fewer copies and
 * syscalls than the JDK selector), the portable NIO transport elsewhere.
 */
public enum TransportKind {
    /** Linux native epoll ({@code netty-transport-native-epoll}). */
    EPOLL,
    /** The JDK's NIO selector. */
    NIO;

    /** EPOLL when {@link Epoll#isAvailable()}, else NIO. */
    public static TransportKind auto() {
        return Epoll.isAvailable() ? EPOLL : NIO;
    }

    /** Lower-case name, as printed by benchmarks ("epoll" or "nio"). */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    EventLoopGroup newGroup(int threads, ThreadFactory factory) {
        if (this == EPOLL) {
            Epoll.ensureAvailability();
            return new EpollEventLoopGroup(threads, factory);
        }
        return new NioEventLoopGroup(threads, factory);
    }

    Class<? extends ServerChannel> serverChannel() {
        return this == EPOLL ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    }

    Class<? extends Channel> channel() {
        return this == EPOLL ? EpollSocketChannel.class : NioSocketChannel.class;
    }
}
