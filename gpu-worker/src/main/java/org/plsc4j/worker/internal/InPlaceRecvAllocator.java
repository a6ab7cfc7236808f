package org.plsc4j.worker.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.util.UncheckedBooleanSupplier;
import java.util.function.IntFunction;

/**
 * Lets the socket read straight into the running operation's memory.
 *
 * <p>Why: with ordinary receive buffers every byte crosses memory twice on the receiving side (the
 * kernel's copy into a pooled buffer, then ours into the operation's memory); an all-gather is pure
 * data movement, so that extra pass cost as much as the rest of the transfer. When the next bytes of
 * the stream are known to belong at a fixed place — a copy step of the running operation, header
 * already consumed, nothing queued before them — {@link #allocate} hands Netty a window of the
 * operation's memory there (from {@code window}), and {@link RingOp} recognises the bytes as already
 * in place. Everything else (headers, reduce steps, data arriving before its operation starts) uses
 * the adaptive pooled buffers as before. The window is never longer than what the current step still
 * expects, so bytes of a later step or operation can never land in it.
 */
final class InPlaceRecvAllocator implements RecvByteBufAllocator {

    private final AdaptiveRecvByteBufAllocator fallback;
    private final IntFunction<ByteBuf> window;
    private final int maxWindow;

    /**
     * @param fallback sizes and provides the ordinary buffers
     * @param window given the largest useful size, a window of the running operation's memory with
     *     writerIndex 0, or null when the next bytes have no fixed place; called on the inbound I/O thread
     * @param maxWindow the largest window handed out (bytes)
     */
    InPlaceRecvAllocator(AdaptiveRecvByteBufAllocator fallback, IntFunction<ByteBuf> window, int maxWindow) {
        this.fallback = fallback;
        this.window = window;
        this.maxWindow = maxWindow;
    }

    @Override
    public ExtendedHandle newHandle() {
        return new InPlaceHandle((ExtendedHandle) fallback.newHandle());
    }

    /** The adaptive handle's bookkeeping with a different {@link #allocate}. */
    private final class InPlaceHandle implements ExtendedHandle {
        private final ExtendedHandle delegate;

        InPlaceHandle(ExtendedHandle delegate) {
            this.delegate = delegate;
        }

        @Override
        public ByteBuf allocate(ByteBufAllocator alloc) {
            ByteBuf w = window.apply(maxWindow);
            return w != null ? w : delegate.allocate(alloc);
        }

        @Override
        public int guess() {
            return delegate.guess();
        }

        @Override
        public void reset(io.netty.channel.ChannelConfig config) {
            delegate.reset(config);
        }

        @Override
        public void incMessagesRead(int numMessages) {
            delegate.incMessagesRead(numMessages);
        }

        @Override
        public void lastBytesRead(int bytes) {
            delegate.lastBytesRead(bytes);
        }

        @Override
        public int lastBytesRead() {
            return delegate.lastBytesRead();
        }

        @Override
        public void attemptedBytesRead(int bytes) {
            delegate.attemptedBytesRead(bytes);
        }

        @Override
        public int attemptedBytesRead() {
            return delegate.attemptedBytesRead();
        }

        @Override
        public boolean continueReading() {
            return delegate.continueReading();
        }

        @Override
        public boolean continueReading(UncheckedBooleanSupplier maybeMoreDataSupplier) {
            return delegate.continueReading(maybeMoreDataSupplier);
        }

        @Override
        public void readComplete() {
            delegate.readComplete();
        }
    }
}
