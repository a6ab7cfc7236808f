package org.plsc4j.worker.internal;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * First handler of every accepted connection: reads the {@link Handshake.Hello}, lets the
 * {@link RingTransport} decide, and either refuses (WARN line naming the remote address and the
 * claimed rank, answer REFUSED, close; nothing read from the peer is used) or answers ACCEPTED and
 * replaces itself with the data handler. Bytes that arrived behind the hello are passed on by
 * {@link ByteToMessageDecoder} when it is removed. A connection that does not complete its
 * handshake within the timeout is refused too.
 */
final class HandshakeServerHandler extends ByteToMessageDecoder {

    private static final Logger LOG = LoggerFactory.getLogger(HandshakeServerHandler.class);

    private final RingTransport transport;
    private ScheduledFuture<?> deadline;
    private boolean decided;

    HandshakeServerHandler(RingTransport transport) {
        this.transport = transport;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        deadline = ctx.executor().schedule(() -> {
            if (!decided) {
                refuse(ctx, -1, null, "no handshake within " + transport.timeout());
            }
        }, transport.timeout().toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (decided) {
            in.skipBytes(in.readableBytes());
            return;
        }
        Handshake.Hello hello;
        try {
            ByteBuf frame = Handshake.readFrame(in);
            if (frame == null) {
                return;
            }
            try {
                hello = Handshake.decodeHello(frame);
            } finally {
                frame.release();
            }
        } catch (Handshake.BadHandshakeException e) {
            in.skipBytes(in.readableBytes());
            refuse(ctx, -1, null, e.getMessage());
            return;
        }
        String refusal = transport.admitInbound(hello, ctx.channel());
        if (refusal != null) {
            in.skipBytes(in.readableBytes());
            refuse(ctx, hello.rank(), hello.jobId(), refusal);
            return;
        }
        decided = true;
        deadline.cancel(false);
        ctx.writeAndFlush(Handshake.encodeAnswer(ctx.alloc(), true, transport.rank(), ""));
        ctx.pipeline().replace(this, "ring-in", new RingDataHandlers.Inbound(transport));
    }

    private void refuse(ChannelHandlerContext ctx, int claimedRank, String claimedJob, String reason) {
        decided = true;
        if (deadline != null) {
            deadline.cancel(false);
        }
        LOG.warn("rank {}: refused connection from {} claiming rank {} of job '{}': {}", transport.rank(),
                ctx.channel().remoteAddress(), claimedRank < 0 ? "?" : String.valueOf(claimedRank),
                Handshake.printable(claimedJob), reason);
        ctx.writeAndFlush(Handshake.encodeAnswer(ctx.alloc(), false, transport.rank(), reason))
                .addListener(ChannelFutureListener.CLOSE);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (!decided) {
            refuse(ctx, -1, null, "error during the handshake: " + cause);
        } else {
            ctx.close();
        }
    }
}
