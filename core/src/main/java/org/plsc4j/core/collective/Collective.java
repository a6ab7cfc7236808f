package org.plsc4j.core.collective;

import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.plsc4j.core.internal.HostArrays;

/**
 * The communication primitives a sharded-FC step needs between the ranks of one job.
 *
 * <p>Why an interface: the same training step runs over threads in one JVM (tests, single-process
 * multi-rank), over TCP between processes (the CPU backend) and over NCCL (GPUs). Implementations are
 * found with {@link java.util.ServiceLoader} through {@link CollectiveProvider}.
 *
 * <p>Semantics (all ranks must call the same operations in the same order, like MPI/NCCL):
 * <ul>
 *   <li>buffers are read and written from position 0 to their limit, positions are not moved; heap
 *       and direct buffers are both accepted, direct buffers avoid a copy;</li>
 *   <li>{@code allGather}: {@code recv} holds {@code worldSize} blocks of {@code send.remaining()}
 *       elements, block r from rank r;</li>
 *   <li>{@code reduceScatter}: {@code send} holds {@code worldSize} blocks of {@code recv.remaining()}
 *       elements; rank r receives the reduction over ranks of block r;</li>
 *   <li>{@code allReduce} reduces in place; {@code broadcast} copies root's buffer to every rank;</li>
 *   <li>every call either completes or throws {@link CollectiveException} (a timeout names the peer
 *       rank): never a silent hang.</li>
 * </ul>
 * An instance is used by one thread at a time. {@link #close()} is idempotent.
 *
 * <p>The {@link INDArray} variants take float32 arrays wherever ND4J keeps them: the defaults go through
 * host memory (a copy only for views or other types), a device backend (NCCL) overrides them to work
 * on device buffers without leaving the GPU. Same semantics as the buffer variants, over the arrays'
 * elements in C order.
 */
public interface Collective extends AutoCloseable {

    /** This member's rank in [0, worldSize). */
    int rank();

    /** Number of ranks in the group. */
    int worldSize();

    /** Gathers every rank's {@code send} into {@code recv}, ordered by rank. */
    void allGather(FloatBuffer send, FloatBuffer recv);

    /** Int variant of {@link #allGather(FloatBuffer, FloatBuffer)}, used for labels and counts. */
    void allGather(IntBuffer send, IntBuffer recv);

    /** Reduces {@code data} element-wise over all ranks, in place. */
    void allReduce(FloatBuffer data, ReduceOp op);

    /** Int variant of {@link #allReduce(FloatBuffer, ReduceOp)}. */
    void allReduce(IntBuffer data, ReduceOp op);

    /** Reduces {@code send} over ranks and leaves block {@code rank()} of the result in {@code recv}. */
    void reduceScatter(FloatBuffer send, FloatBuffer recv, ReduceOp op);

    /** Copies {@code root}'s {@code data} into every rank's {@code data}. */
    void broadcast(FloatBuffer data, int root);

    /** Int variant of {@link #broadcast(FloatBuffer, int)}. */
    void broadcast(IntBuffer data, int root);

    /** {@link #allGather(FloatBuffer, FloatBuffer)} over float32 arrays ({@code recv} has worldSize times the elements). */
    default void allGather(INDArray send, INDArray recv) {
        HostArrays.withHost(send, recv, (s, r) -> allGather(s, r));
    }

    /** {@link #allReduce(FloatBuffer, ReduceOp)} over a float32 array, in place. */
    default void allReduce(INDArray data, ReduceOp op) {
        HostArrays.withHost(data, d -> allReduce(d, op));
    }

    /** {@link #reduceScatter(FloatBuffer, FloatBuffer, ReduceOp)} over float32 arrays. */
    default void reduceScatter(INDArray send, INDArray recv, ReduceOp op) {
        HostArrays.withHost(send, recv, (s, r) -> reduceScatter(s, r, op));
    }

    /** {@link #broadcast(FloatBuffer, int)} over a float32 array. */
    default void broadcast(INDArray data, int root) {
        HostArrays.withHost(data, d -> broadcast(d, root));
    }

    /** Returns once every rank has entered the barrier. */
    void barrier();

    /** Releases connections and threads; further calls fail. Idempotent. */
    @Override
    void close();

    // ---- conveniences over heap arrays ----

    /** {@link #allGather(FloatBuffer, FloatBuffer)} over arrays. */
    default void allGather(float[] send, float[] recv) {
        allGather(FloatBuffer.wrap(send), FloatBuffer.wrap(recv));
    }

    /** {@link #allGather(IntBuffer, IntBuffer)} over arrays. */
    default void allGather(int[] send, int[] recv) {
        allGather(IntBuffer.wrap(send), IntBuffer.wrap(recv));
    }

    /** {@link #allReduce(FloatBuffer, ReduceOp)} over an array. */
    default void allReduce(float[] data, ReduceOp op) {
        allReduce(FloatBuffer.wrap(data), op);
    }

    /** {@link #allReduce(IntBuffer, ReduceOp)} over an array. */
    default void allReduce(int[] data, ReduceOp op) {
        allReduce(IntBuffer.wrap(data), op);
    }

    /** {@link #reduceScatter(FloatBuffer, FloatBuffer, ReduceOp)} over arrays. */
    default void reduceScatter(float[] send, float[] recv, ReduceOp op) {
        reduceScatter(FloatBuffer.wrap(send), FloatBuffer.wrap(recv), op);
    }

    /** {@link #broadcast(FloatBuffer, int)} over an array. */
    default void broadcast(float[] data, int root) {
        broadcast(FloatBuffer.wrap(data), root);
    }

    /** {@link #broadcast(IntBuffer, int)} over an array. */
    default void broadcast(int[] data, int root) {
        broadcast(IntBuffer.wrap(data), root);
    }
}
