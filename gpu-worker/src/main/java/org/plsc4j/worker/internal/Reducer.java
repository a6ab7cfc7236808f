package org.plsc4j.worker.internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import org.plsc4j.core.collective.ReduceOp;

/**
 * Element-wise reduction of received bytes into the operation's memory: {@code acc = op(acc, in)}.
 *
 * <p>Why bulk copies through small arrays: indexed {@code FloatBuffer.get/put} on direct memory do not
 * vectorise, bulk transfers are memcpy and the loop over two {@code float[]} does. One instance per
 * transport, used on its inbound I/O thread only (the arrays are scratch space).
 */
final class Reducer {

    private static final int CHUNK = 8192;

    private final float[] fa = new float[CHUNK];
    private final float[] fb = new float[CHUNK];
    private final int[] ia = new int[CHUNK];
    private final int[] ib = new int[CHUNK];

    /** {@code acc[i] = op(acc[i], in[i])} over the remaining bytes of both (equal, multiple of 4). */
    void reduce(ElementType type, ReduceOp op, ByteBuffer acc, ByteBuffer in) {
        acc.order(ByteOrder.LITTLE_ENDIAN);
        in.order(ByteOrder.LITTLE_ENDIAN);
        if (type == ElementType.FLOAT) {
            reduceFloats(op, acc.asFloatBuffer(), in.asFloatBuffer());
        } else {
            reduceInts(op, acc.asIntBuffer(), in.asIntBuffer());
        }
    }

    private void reduceFloats(ReduceOp op, FloatBuffer acc, FloatBuffer in) {
        int n = acc.remaining();
        for (int i = 0; i < n; i += CHUNK) {
            int m = Math.min(CHUNK, n - i);
            acc.get(i, fa, 0, m);
            in.get(i, fb, 0, m);
            if (op == ReduceOp.SUM) {
                for (int j = 0; j < m; j++) {
                    fa[j] += fb[j];
                }
            } else {
                for (int j = 0; j < m; j++) {
                    fa[j] = Math.max(fa[j], fb[j]);
                }
            }
            acc.put(i, fa, 0, m);
        }
    }

    private void reduceInts(ReduceOp op, IntBuffer acc, IntBuffer in) {
        int n = acc.remaining();
        for (int i = 0; i < n; i += CHUNK) {
            int m = Math.min(CHUNK, n - i);
            acc.get(i, ia, 0, m);
            in.get(i, ib, 0, m);
            if (op == ReduceOp.SUM) {
                for (int j = 0; j < m; j++) {
                    ia[j] += ib[j];
                }
            } else {
                for (int j = 0; j < m; j++) {
                    ia[j] = Math.max(ia[j], ib[j]);
                }
            }
            acc.put(i, ia, 0, m);
        }
    }
}
