package org.plsc4j.worker.internal;

import java.nio.ByteBuffer;
import org.plsc4j.core.collective.CollectiveException;
import org.plsc4j.core.collective.ReduceOp;

/**
 * The 28 bytes each rank sends its successor before the data of every operation.
 *
 * <p>Why: TCP only carries bytes; if two ranks disagree on the operation, its size, the root or the
 * sequence number, the receiver would otherwise mix up data silently. With the header it fails with
 * a message that names both calls.
 *
 * @param kind the operation
 * @param type element type
 * @param op reduction, null for operations that do not reduce
 * @param root broadcast root, -1 otherwise
 * @param seq per-group operation counter, starting at 1
 * @param count elements per rank (all-gather, reduce-scatter) or per buffer (all-reduce, broadcast)
 */
record OpHeader(Kind kind, ElementType type, ReduceOp op, int root, long seq, long count) {

    /** Encoded size. */
    static final int BYTES = 28;

    private static final int MAGIC = 0x52494e47; // "RING"

    /** The collective operations. */
    enum Kind {
        ALL_GATHER("allGather"),
        REDUCE_SCATTER("reduceScatter"),
        ALL_REDUCE("allReduce"),
        BROADCAST("broadcast"),
        BARRIER("barrier");

        private final String label;

        Kind(String label) {
            this.label = label;
        }

        String label() {
            return label;
        }
    }

    byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(BYTES);
        b.putInt(MAGIC).put((byte) kind.ordinal()).put((byte) type.ordinal())
                .put((byte) (op == null ? 0 : op.ordinal() + 1)).put((byte) 0)
                .putInt(root).putLong(seq).putLong(count);
        return b.array();
    }

    /** Decodes a header; a wrong magic means the streams are out of step. */
    static OpHeader decode(byte[] bytes, String fromWhom) {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        int magic = b.getInt();
        int kind = b.get();
        int type = b.get();
        int op = b.get();
        b.get();
        if (magic != MAGIC || kind < 0 || kind >= Kind.values().length || type < 0
                || type >= ElementType.values().length || op < 0 || op > ReduceOp.values().length) {
            throw new CollectiveException("received garbage instead of an operation header from " + fromWhom
                    + " (the ranks' operation sequences are out of step)");
        }
        return new OpHeader(Kind.values()[kind], ElementType.values()[type], op == 0 ? null : ReduceOp.values()[op - 1],
                b.getInt(), b.getLong(), b.getLong());
    }

    /** E.g. "allReduce(SUM, 12 floats) #4", "allGather(10 ints per rank) #2", "broadcast(root 1, 5 floats) #3". */
    String describe() {
        String size = count + " " + type.plural();
        String args = switch (kind) {
            case ALL_GATHER -> size + " per rank";
            case REDUCE_SCATTER -> op + ", " + size + " per rank";
            case ALL_REDUCE -> op + ", " + size;
            case BROADCAST -> "root " + root + ", " + size;
            case BARRIER -> "";
        };
        return kind.label() + "(" + args + ") #" + seq;
    }
}
