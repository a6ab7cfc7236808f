package org.plsc4j.worker.internal;

import java.util.ArrayList;
import java.util.List;

/**
 * Which bytes a rank sends first and which bytes it then receives from its predecessor, in stream
 * order, for the ring algorithms; pure arithmetic, no I/O.
 *
 * <p>Why a separate schedule: the transport only has to execute one shape — send some slices, then
 * consume a stream of steps, each copied or reduced into the operation's memory and optionally
 * forwarded to the successor as soon as it is processed (which pipelines the ring at chunk
 * granularity). All-gather, reduce-scatter, all-reduce and broadcast differ only in the plan.
 *
 * <p>Rank r sends to r+1 and receives from r-1 (mod n). Offsets and lengths are in bytes of the
 * operation's memory.
 */
final class RingSchedule {

    private RingSchedule() {
    }

    /** A byte range of the operation's memory. */
    record Slice(int offset, int length) {
    }

    /**
     * The next {@code length} bytes of the incoming stream go to {@code offset}: copied, or reduced
     * with what is there; when {@code forward}, the result is then sent on to the successor.
     */
    record Step(int offset, int length, boolean reduce, boolean forward) {
    }

    /** What one rank does in one operation. */
    record Plan(List<Slice> initialSends, List<Step> receives) {

        long bytesIn() {
            return receives.stream().mapToLong(Step::length).sum();
        }

        long bytesOut() {
            return initialSends.stream().mapToLong(Slice::length).sum()
                    + receives.stream().filter(Step::forward).mapToLong(Step::length).sum();
        }
    }

    private static int mod(int a, int n) {
        return ((a % n) + n) % n;
    }

    /**
     * Ring all-gather over {@code n} blocks of {@code blockBytes}: send the own block r, then receive
     * blocks r-1, r-2, ..., r+1 and forward all but the last (which is the successor's own).
     */
    static Plan allGather(int rank, int n, int blockBytes) {
        List<Step> receives = new ArrayList<>();
        for (int k = 0; k < n - 1; k++) {
            int b = mod(rank - 1 - k, n);
            receives.add(new Step(b * blockBytes, blockBytes, false, k < n - 2));
        }
        return new Plan(List.of(new Slice(rank * blockBytes, blockBytes)), receives);
    }

    /**
     * Ring reduce-scatter in place over {@code n} equal blocks: send block r-1, then receive partial
     * sums of blocks r-2, r-3, ..., r, add the own contribution and forward all but the last; block r
     * ends fully reduced.
     */
    static Plan reduceScatter(int rank, int n, int blockBytes) {
        List<Step> receives = new ArrayList<>();
        for (int k = 0; k < n - 1; k++) {
            int b = mod(rank - 2 - k, n);
            receives.add(new Step(b * blockBytes, blockBytes, true, k < n - 2));
        }
        return new Plan(List.of(new Slice(mod(rank - 1, n) * blockBytes, blockBytes)), receives);
    }

    /**
     * Ring all-reduce in place = reduce-scatter then all-gather, over {@code n} blocks as equal as the
     * element count allows (the first {@code elements % n} blocks have one element more). The last
     * reduce step (block r, now final) is forwarded: it starts the all-gather.
     */
    static Plan allReduce(int rank, int n, int elements, int elementBytes) {
        List<Step> receives = new ArrayList<>();
        for (int k = 0; k < n - 1; k++) {
            int b = mod(rank - 2 - k, n);
            receives.add(new Step(blockStart(b, n, elements) * elementBytes, blockLength(b, n, elements) * elementBytes,
                    true, true));
        }
        for (int k = 0; k < n - 1; k++) {
            int b = mod(rank - 1 - k, n);
            receives.add(new Step(blockStart(b, n, elements) * elementBytes, blockLength(b, n, elements) * elementBytes,
                    false, k < n - 2));
        }
        int first = mod(rank - 1, n);
        return new Plan(List.of(new Slice(blockStart(first, n, elements) * elementBytes,
                blockLength(first, n, elements) * elementBytes)), receives);
    }

    /** Pipelined chain broadcast: root sends everything; each rank forwards unless its successor is the root. */
    static Plan broadcast(int rank, int n, int root, int bytes) {
        if (rank == root) {
            return new Plan(List.of(new Slice(0, bytes)), List.of());
        }
        return new Plan(List.of(), List.of(new Step(0, bytes, false, mod(rank + 1, n) != root)));
    }

    /** First element of block {@code b} when {@code elements} are split into {@code n} near-equal blocks. */
    static int blockStart(int b, int n, int elements) {
        int base = elements / n;
        int rem = elements % n;
        return b * base + Math.min(b, rem);
    }

    /** Elements in block {@code b}. */
    static int blockLength(int b, int n, int elements) {
        return elements / n + (b < elements % n ? 1 : 0);
    }
}
