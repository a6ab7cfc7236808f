package org.plsc4j.worker.internal;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.core.collective.Collective;

/**
 * Copies a map of named float arrays (backbone parameters and state, optimizer state) from one
 * rank to all others over the collective: when an elastic job forms a new generation, the ranks
 * that joined it have no backbone yet, and survivors of a failed step may be one step apart.
 *
 * <p>Two broadcasts: a header (names and shapes, as bytes packed into ints) and one flat float
 * buffer with every array's values, so a large backbone costs one bulk transfer.
 */
public final class StateBroadcast {

    private StateBroadcast() {
    }

    /**
     * Every rank calls this; {@code root}'s {@code arrays} (ignored elsewhere, may be null) are
     * returned on every rank as new arrays, in the root's order.
     *
     * @throws IllegalArgumentException on the root when an array is not float32
     */
    public static Map<String, INDArray> broadcast(Map<String, INDArray> arrays, int root, Collective c) {
        boolean isRoot = c.rank() == root;
        int[] header;
        int[] len = new int[1];
        if (isRoot) {
            header = encodeHeader(arrays);
            len[0] = header.length;
        } else {
            header = null;
        }
        c.broadcast(len, root);
        if (!isRoot) {
            header = new int[len[0]];
        }
        c.broadcast(header, root);
        List<Entry> entries = decodeHeader(header);
        long total = 0;
        for (Entry e : entries) {
            total += e.length();
        }
        if (total > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("state elements : " + total + " (expected: <= " + Integer.MAX_VALUE + ")");
        }
        float[] flat = new float[(int) total];
        if (isRoot) {
            int off = 0;
            for (Entry e : entries) {
                float[] v = arrays.get(e.name()).castTo(DataType.FLOAT).dup('c').data().asFloat();
                System.arraycopy(v, 0, flat, off, v.length);
                off += v.length;
            }
        }
        if (total > 0) {
            c.broadcast(FloatBuffer.wrap(flat), root);
        }
        Map<String, INDArray> out = new LinkedHashMap<>();
        int off = 0;
        for (Entry e : entries) {
            int n = (int) e.length();
            float[] v = new float[n];
            System.arraycopy(flat, off, v, 0, n);
            off += n;
            out.put(e.name(), Nd4j.create(v, e.shape(), 'c'));
        }
        return out;
    }

    private record Entry(String name, long[] shape) {
        long length() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }
    }

    private static int[] encodeHeader(Map<String, INDArray> arrays) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeInt(arrays.size());
            for (Map.Entry<String, INDArray> e : arrays.entrySet()) {
                if (e.getValue().dataType() != DataType.FLOAT) {
                    throw new IllegalArgumentException("state array " + e.getKey() + " : " + e.getValue().dataType()
                            + " (expected: FLOAT)");
                }
                out.writeUTF(e.getKey());
                long[] shape = e.getValue().shape();
                out.writeInt(shape.length);
                for (long d : shape) {
                    out.writeLong(d);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        byte[] b = bytes.toByteArray();
        int[] ints = new int[(b.length + 3) / 4];
        ByteBuffer.wrap(java.util.Arrays.copyOf(b, ints.length * 4)).order(ByteOrder.BIG_ENDIAN).asIntBuffer().get(ints);
        return ints;
    }

    private static List<Entry> decodeHeader(int[] ints) {
        ByteBuffer bb = ByteBuffer.allocate(ints.length * 4).order(ByteOrder.BIG_ENDIAN);
        bb.asIntBuffer().put(ints);
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bb.array()))) {
            int n = in.readInt();
            List<Entry> out = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                String name = in.readUTF();
                long[] shape = new long[in.readInt()];
                for (int d = 0; d < shape.length; d++) {
                    shape[d] = in.readLong();
                }
                out.add(new Entry(name, shape));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("state broadcast header unreadable", e);
        }
    }
}
