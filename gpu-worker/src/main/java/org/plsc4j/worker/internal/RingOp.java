package org.plsc4j.worker.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelPromise;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.plsc4j.core.collective.CollectiveException;

/**
 * One running collective operation on one rank: executes a {@link RingSchedule.Plan} over the
 * operation's memory.
 *
 * <p>Threads (see {@link RingTransport}): the operation is started and fed on the rank's inbound
 * I/O thread, which owns the receive state (header, step position, carry) and issues every write;
 * Netty runs those writes on the outbound I/O thread, where their completions arrive. The two
 * meet only in {@link #pendingWrites} (atomic), the volatile {@link #inputComplete} flag and the
 * {@link #settled} flag: whichever thread observes "input complete and no write pending" second
 * finishes the operation, exactly once.
 *
 * <p>Sends are zero-copy slices of the operation's memory; received bytes are copied (or reduced)
 * into it and, for forwarding steps, sent on as soon as at least {@link #FORWARD_BYTES} are ready,
 * so a large all-gather streams around the ring instead of moving block by block. The operation is
 * complete when the whole plan has been received and every write has been taken by the kernel;
 * only then may the caller reuse its buffers.
 */
final class RingOp implements ChannelFutureListener {

    /** Received bytes are forwarded in pieces of at least this size (or at the end of a step). */
    static final int FORWARD_BYTES = 256 * 1024;
    /** Initial sends are cut into writes of this size (progress tracking, fairness). */
    static final int WRITE_BYTES = 4 * 1024 * 1024;
    /** Smaller remainders of a step are read into ordinary buffers (a window costs a slice and a syscall). */
    static final int MIN_WINDOW = 4096;

    private final OpHeader header;
    private final ByteBuf work;
    private final ByteBuffer workNio;
    private final ByteBuffer initialSource;
    private final RingSchedule.Plan plan;
    private final List<RingSchedule.Step> steps;
    private final String prevName;
    private final String nextName;
    private final CompletableFuture<Void> done = new CompletableFuture<>();
    private final int lastForwardStep;

    // inbound-thread state
    private RingTransport transport;
    private Channel out;
    private final byte[] headerBytes = new byte[OpHeader.BYTES];
    private int headerLen;
    private int stepIndex;
    private int stepPos;
    private int forwarded;
    private final byte[] carry = new byte[ElementType.BYTES];
    private int carryLen;
    private boolean started;

    // shared between the inbound and the outbound I/O thread
    private final AtomicInteger pendingWrites = new AtomicInteger();
    private final AtomicBoolean settled = new AtomicBoolean();
    private volatile boolean finished;

    // read by the waiting caller
    private volatile long lastProgressNanos = System.nanoTime();
    private volatile long bytesIn;
    private volatile boolean inputComplete;

    /**
     * @param work the operation's memory as a little-endian direct buffer (position 0, all of it)
     * @param initialSource null, or the bytes of the plan's initial sends (concatenated) to send from
     *     instead of {@code work}, e.g. the caller's send buffer while its copy into {@code work} is
     *     still being made; it must not share memory with {@code work}
     * @param prevName e.g. "rank 1 (127.0.0.1:40123)", for messages
     */
    RingOp(OpHeader header, ByteBuffer work, ByteBuffer initialSource, RingSchedule.Plan plan, String prevName,
            String nextName) {
        this.header = header;
        this.workNio = work;
        this.initialSource = initialSource;
        this.work = work.capacity() == 0 ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(work);
        this.plan = plan;
        this.steps = plan.receives();
        int last = -1;
        for (int i = 0; i < steps.size(); i++) {
            if (steps.get(i).forward()) {
                last = i;
            }
        }
        this.lastForwardStep = last;
        this.prevName = prevName;
        this.nextName = nextName;
    }

    OpHeader header() {
        return header;
    }

    CompletableFuture<Void> done() {
        return done;
    }

    long lastProgressNanos() {
        return lastProgressNanos;
    }

    boolean inputComplete() {
        return inputComplete;
    }

    /** Whether everything this operation sends (initial slices and forwards) has been written (inbound thread). */
    boolean sendsComplete() {
        return started && pendingWrites.get() == 0 && stepIndex > lastForwardStep;
    }

    /** Whether the operation still consumes input (not complete, not failed); inbound thread. */
    boolean wantsInput() {
        return !inputComplete && !finished;
    }

    /**
     * Sends the header and the initial slices (inbound thread); {@code outChannel} belongs to the
     * outbound thread, which performs the writes in the order they are issued here.
     */
    void start(RingTransport owner, Channel outChannel) {
        this.transport = owner;
        this.out = outChannel;
        this.started = true;
        lastProgressNanos = System.nanoTime();
        write(Unpooled.wrappedBuffer(header.encode()));
        ByteBuf source = initialSource == null || !initialSource.hasRemaining() ? null
                : Unpooled.wrappedBuffer(initialSource.duplicate());
        int sourcePos = 0;
        for (RingSchedule.Slice s : plan.initialSends()) {
            for (int i = 0; i < s.length() && !finished; i += WRITE_BYTES) {
                int len = Math.min(WRITE_BYTES, s.length() - i);
                write(source != null ? source.retainedSlice(sourcePos, len) : work.retainedSlice(s.offset() + i, len));
                sourcePos += len;
            }
        }
        if (source != null) {
            source.release(); // the slices hold their own references until written
        }
        // the transport flushes once the operation's queued input has been drained as well
    }

    /** Consumes bytes of {@code in} until it is empty or this operation's input is complete. */
    void feed(ByteBuf in) {
        if (inputComplete || finished) {
            return;
        }
        int before = in.readableBytes();
        if (headerLen < OpHeader.BYTES) {
            int n = Math.min(OpHeader.BYTES - headerLen, in.readableBytes());
            in.readBytes(headerBytes, headerLen, n);
            headerLen += n;
            if (headerLen == OpHeader.BYTES) {
                checkHeader(OpHeader.decode(headerBytes, prevName));
            }
        }
        if (headerLen == OpHeader.BYTES) {
            consumeSteps(in);
        }
        if (finished) {
            return; // a write failed synchronously and failed the operation
        }
        int consumed = before - in.readableBytes();
        if (consumed > 0) {
            bytesIn += consumed;
            lastProgressNanos = System.nanoTime();
        }
        if (headerLen == OpHeader.BYTES && stepIndex == steps.size()) {
            inputComplete = true;
            if (pendingWrites.get() == 0) {
                finish();
            }
        }
    }

    private void checkHeader(OpHeader theirs) {
        if (!theirs.equals(header)) {
            throw new CollectiveException("rank " + transport.rank() + ": " + prevName + " called "
                    + theirs.describe() + " while this rank called " + header.describe()
                    + " (all ranks must issue the same operations with the same sizes in the same order)");
        }
    }

    private void consumeSteps(ByteBuf in) {
        while (stepIndex < steps.size()) {
            RingSchedule.Step s = steps.get(stepIndex);
            if (stepPos + carryLen < s.length()) {
                if (!in.isReadable()) {
                    return;
                }
                if (s.reduce()) {
                    reduceFrom(in, s);
                } else {
                    copyFrom(in, s);
                }
            }
            if (s.forward() && stepPos > forwarded
                    && (stepPos - forwarded >= FORWARD_BYTES || stepPos == s.length())) {
                write(work.retainedSlice(s.offset() + forwarded, stepPos - forwarded));
                forwarded = stepPos;
                if (finished) {
                    return;
                }
            }
            if (stepPos < s.length()) {
                return;
            }
            stepIndex++;
            stepPos = 0;
            forwarded = 0;
        }
    }

    /**
     * A window of this operation's memory where the next {@code ≤ max} bytes of the stream belong, for
     * the socket to read into directly; null unless the next bytes are part of a copy step (inbound thread).
     */
    ByteBuf receiveWindow(int max) {
        if (finished || inputComplete || headerLen < OpHeader.BYTES || carryLen != 0 || stepIndex >= steps.size()) {
            return null;
        }
        RingSchedule.Step s = steps.get(stepIndex);
        int len = Math.min(max, s.length() - stepPos);
        if (s.reduce() || len < MIN_WINDOW) {
            return null;
        }
        return work.retainedSlice(s.offset() + stepPos, len).clear();
    }

    private void copyFrom(ByteBuf in, RingSchedule.Step s) {
        int n = Math.min(in.readableBytes(), s.length() - stepPos);
        if (!inPlace(in, s.offset() + stepPos)) {
            work.setBytes(s.offset() + stepPos, in, in.readerIndex(), n);
        }
        in.skipBytes(n);
        stepPos += n;
    }

    /** Whether {@code in}'s readable bytes already are this operation's memory at {@code offset}. */
    private boolean inPlace(ByteBuf in, int offset) {
        return in.hasMemoryAddress() && work.hasMemoryAddress()
                && in.memoryAddress() + in.readerIndex() == work.memoryAddress() + offset;
    }

    private void reduceFrom(ByteBuf in, RingSchedule.Step s) {
        Reducer reducer = transport.reducer();
        if (carryLen > 0) {
            int n = Math.min(ElementType.BYTES - carryLen, in.readableBytes());
            in.readBytes(carry, carryLen, n);
            carryLen += n;
            if (carryLen < ElementType.BYTES) {
                return;
            }
            reducer.reduce(header.type(), header.op(), slice(s.offset() + stepPos, ElementType.BYTES),
                    ByteBuffer.wrap(carry));
            stepPos += ElementType.BYTES;
            carryLen = 0;
        }
        int n = Math.min(in.readableBytes(), s.length() - stepPos) & -ElementType.BYTES;
        if (n > 0) {
            reducer.reduce(header.type(), header.op(), slice(s.offset() + stepPos, n), in.nioBuffer(in.readerIndex(), n));
            in.skipBytes(n);
            stepPos += n;
        }
        int rest = Math.min(in.readableBytes(), s.length() - stepPos);
        if (rest > 0 && rest < ElementType.BYTES) {
            in.readBytes(carry, 0, rest);
            carryLen = rest;
        }
    }

    private ByteBuffer slice(int offset, int length) {
        return workNio.duplicate().position(offset).limit(offset + length).slice();
    }

    /** Issues one write (inbound thread); Netty hands it to the outbound thread in issue order. */
    private void write(ByteBuf data) {
        ChannelPromise promise = out.newPromise();
        promise.addListener(this);
        pendingWrites.incrementAndGet();
        transport.wroteOutbound();
        out.write(data, promise);
    }

    /** Completion of one write (outbound thread). */
    @Override
    public void operationComplete(ChannelFuture future) {
        int left = pendingWrites.decrementAndGet();
        if (finished) {
            return;
        }
        if (!future.isSuccess()) {
            transport.fail(new CollectiveException("rank " + transport.rank() + ": lost the connection to "
                    + nextName + " during " + header.describe() + ": " + future.cause(), future.cause()));
            return;
        }
        lastProgressNanos = System.nanoTime();
        if (left == 0 && inputComplete) {
            finish();
        }
    }

    /** Completes the operation once, on whichever I/O thread saw the last of its input and writes. */
    private void finish() {
        if (settled.compareAndSet(false, true)) {
            finished = true;
            work.release();
            transport.opFinished(this);
            done.complete(null);
        }
    }

    /** Fails the operation (inbound thread, or any thread before it started). */
    void fail(CollectiveException cause) {
        if (settled.compareAndSet(false, true)) {
            finished = true;
            // `work` is not released here: this may run inside start() or feed() (a write failing
            // synchronously); the wrapper owns no memory, so leaving its count alone is harmless.
            done.completeExceptionally(cause);
        }
    }

    /** E.g. "still waiting for data from rank 1 (...) (received 28 of 1028 bytes)", for messages. */
    String inputProgress() {
        return "still waiting for data from " + prevName + " (received " + bytesIn + " of "
                + (OpHeader.BYTES + plan.bytesIn()) + " bytes)";
    }

    /** Why the caller has been waiting: names the peer and the progress so far. */
    String timeoutMessage(int rank, java.time.Duration timeout) {
        long in = bytesIn;
        long expected = OpHeader.BYTES + plan.bytesIn();
        if (!inputComplete) {
            return "rank " + rank + ": timed out after " + timeout + " waiting for data from " + prevName + " in "
                    + header.describe() + " (received " + in + " of " + expected + " bytes)";
        }
        return "rank " + rank + ": timed out after " + timeout + " waiting for " + nextName + " to take data of "
                + header.describe() + " (all input received)";
    }
}
