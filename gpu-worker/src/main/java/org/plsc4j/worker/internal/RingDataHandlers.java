package org.plsc4j.worker.internal;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;

/** The handlers of established ring connections: they only hand events to the {@link RingTransport}. */
final class RingDataHandlers {

    private RingDataHandlers() {
    }

    /** On the connection from the predecessor: data for the running (or next) operation. */
    static final class Inbound extends ChannelInboundHandlerAdapter {
        private final RingTransport transport;

        Inbound(RingTransport transport) {
            this.transport = transport;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            transport.onData((ByteBuf) msg);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            transport.onReadComplete();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            transport.onConnectionLost(ctx.channel(), null);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            transport.onConnectionLost(ctx.channel(), cause);
            ctx.close();
        }
    }

    /** On the connection to the successor: we only write; anything read is a protocol error. */
    static final class Outbound extends ChannelInboundHandlerAdapter {
        private final RingTransport transport;

        Outbound(RingTransport transport) {
            this.transport = transport;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
            transport.onProtocolError("rank " + transport.next() + " sent data on the outgoing connection");
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            transport.onConnectionLost(ctx.channel(), null);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            transport.onConnectionLost(ctx.channel(), cause);
            ctx.close();
        }
    }
}
