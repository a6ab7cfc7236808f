package org.plsc4j.worker.internal;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * First handler of the connection to the successor: sends the {@link Handshake.Hello} when the
 * connection is up, waits for the answer, and on ACCEPTED hands the channel to the
 * {@link RingTransport} (replacing itself with a guard that allows no inbound data).
 */
final class HandshakeClientHandler extends ByteToMessageDecoder {

    private final RingTransport transport;
    private boolean decided;

    HandshakeClientHandler(RingTransport transport) {
        this.transport = transport;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        ctx.writeAndFlush(transport.hello(ctx.alloc()));
        super.channelActive(ctx);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (decided) {
            in.skipBytes(in.readableBytes());
            return;
        }
        Handshake.Answer answer;
        try {
            ByteBuf frame = Handshake.readFrame(in);
            if (frame == null) {
                return;
            }
            try {
                answer = Handshake.decodeAnswer(frame);
            } finally {
                frame.release();
            }
        } catch (Handshake.BadHandshakeException e) {
            decide(ctx, "answered the handshake with garbage: " + e.getMessage());
            return;
        }
        if (!answer.accepted()) {
            decide(ctx, "refused the handshake: " + Handshake.printable(answer.reason()));
        } else if (answer.rank() != transport.next()) {
            decide(ctx, "answered as rank " + answer.rank());
        } else {
            decided = true;
            transport.outboundAccepted(ctx.channel());
            ctx.pipeline().replace(this, "ring-out", new RingDataHandlers.Outbound(transport));
        }
    }

    private void decide(ChannelHandlerContext ctx, String problem) {
        decided = true;
        transport.outboundFailed(problem, null);
        ctx.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        if (!decided) {
            decided = true;
            transport.outboundFailed("closed the connection during the handshake", null);
        }
        super.channelInactive(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (!decided) {
            decided = true;
            transport.outboundFailed("failed during the handshake", cause);
        }
        ctx.close();
    }
}
