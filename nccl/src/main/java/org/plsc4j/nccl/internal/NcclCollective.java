package org.plsc4j.nccl.internal;

import static org.bytedeco.cuda.global.cudart.cudaErrorNotReady;
import static org.bytedeco.cuda.global.cudart.cudaStreamQuery;
import static org.bytedeco.cuda.global.cudart.cudaSuccess;
import static org.bytedeco.cuda.global.nccl.NCCL_UNIQUE_ID_BYTES;
import static org.bytedeco.cuda.global.nccl.ncclAllGather;
import static org.bytedeco.cuda.global.nccl.ncclAllReduce;
import static org.bytedeco.cuda.global.nccl.ncclBroadcast;
import static org.bytedeco.cuda.global.nccl.ncclCommAbort;
import static org.bytedeco.cuda.global.nccl.ncclCommDestroy;
import static org.bytedeco.cuda.global.nccl.ncclCommGetAsyncError;
import static org.bytedeco.cuda.global.nccl.ncclCommInitRank;
import static org.bytedeco.cuda.global.nccl.ncclFloat32;
import static org.bytedeco.cuda.global.nccl.ncclGetErrorString;
import static org.bytedeco.cuda.global.nccl.ncclGetUniqueId;
import static org.bytedeco.cuda.global.nccl.ncclInt32;
import static org.bytedeco.cuda.global.nccl.ncclMax;
import static org.bytedeco.cuda.global.nccl.ncclSuccess;
import static org.bytedeco.cuda.global.nccl.ncclSum;

import java.nio.FloatBuffer;
import java.time.Duration;
import java.nio.IntBuffer;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.nccl.ncclComm;
import org.bytedeco.cuda.nccl.ncclUniqueId;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.jita.allocator.impl.AtomicAllocator;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.concurrency.AffinityManager;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.jcublas.context.CudaContext;
import org.plsc4j.core.collective.Collective;
import org.plsc4j.core.collective.CollectiveConfig;
import org.plsc4j.core.collective.CollectiveException;
import org.plsc4j.core.collective.ReduceOp;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link Collective} over NCCL on the GPU this thread's ND4J device is: one communicator per group
 * (per generation of an elastic job: a membership change closes it and joins a new one).
 *
 * <p>Rendezvous: rank 0 makes NCCL's unique id and publishes it, hex encoded, as its "address" through the
 * group's {@link org.plsc4j.core.collective.Rendezvous} (the job's ZooKeeper rendezvous in a coordinated
 * job); the other ranks read it from there. No other channel is used.
 *
 * <p>The {@link INDArray} operations run on device buffers on ND4J's CUDA stream of this thread
 * ({@code CudaContext.getOldStream()}), so they are ordered with ND4J's kernels; the stream is synchronised
 * after each call (the FC step reads results on the next op anyway). The {@code FloatBuffer}/{@code IntBuffer}
 * variants (labels, counts, the trainer's small agreements) copy through a device array.
 *
 * <p>Failures: NCCL has no per-call timeout, so each call polls its stream and, past the group's timeout
 * or on an asynchronous NCCL error, aborts the communicator and throws {@link CollectiveException}; the
 * group is then broken and every later call fails at once. NCCL cannot say which peer is silent, and
 * ranks calling with different lengths are not detected (the host-buffer variants check their own
 * arguments only). The job token travels as a SHA-256 next to the unique id: a rank with another token
 * refuses to join.
 */
public final class NcclCollective implements Collective {

    private static final Logger LOG = LoggerFactory.getLogger(NcclCollective.class);

    private enum State { OPEN, BROKEN, CLOSED }

    private final int rank;
    private final int worldSize;
    private final ncclComm comm;
    private final int device;
    private final Duration timeout;
    private final AtomicReference<State> state = new AtomicReference<>(State.OPEN);

    private NcclCollective(int rank, int worldSize, ncclComm comm, int device, Duration timeout) {
        this.rank = rank;
        this.worldSize = worldSize;
        this.comm = comm;
        this.device = device;
        this.timeout = timeout;
    }

    /** Joins the group: exchanges the unique id through the rendezvous, then {@code ncclCommInitRank}. */
    public static NcclCollective join(CollectiveConfig config) {
        ncclUniqueId id = new ncclUniqueId();
        byte[] rootId = new byte[NCCL_UNIQUE_ID_BYTES];
        if (config.rank() == 0) {
            check(ncclGetUniqueId(id), "ncclGetUniqueId", 0);
            for (int i = 0; i < rootId.length; i++) {
                rootId[i] = id.internal(i);
            }
        }
        byte[] b = UniqueIdExchange.exchange(config, rootId);
        for (int i = 0; i < b.length; i++) {
            id.internal(i, b[i]);
        }
        ncclComm comm = new ncclComm();
        check(ncclCommInitRank(comm, config.worldSize(), id, config.rank()), "ncclCommInitRank", config.rank());
        LOG.info("nccl: rank {} of {} joined job {} on device {}", config.rank(), config.worldSize(), config.jobId(),
                Nd4j.getAffinityManager().getDeviceForCurrentThread());
        return new NcclCollective(config.rank(), config.worldSize(), comm,
                Nd4j.getAffinityManager().getDeviceForCurrentThread(), config.timeout());
    }

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public int worldSize() {
        return worldSize;
    }

    // ---- device buffers

    @Override
    public void allGather(INDArray send, INDArray recv) {
        open();
        requireLength(recv, send.length() * worldSize, "allGather recv");
        onDevice(send, recv, (s, r, stream) -> ncclAllGather(s, r, send.length(), type(send), comm, stream),
                "ncclAllGather");
    }

    @Override
    public void allReduce(INDArray data, ReduceOp op) {
        open();
        onDevice(data, data, (s, r, stream) -> ncclAllReduce(s, r, data.length(), type(data), op(op), comm, stream),
                "ncclAllReduce");
    }

    @Override
    public void reduceScatter(INDArray send, INDArray recv, ReduceOp op) {
        open();
        requireLength(send, recv.length() * worldSize, "reduceScatter send");
        onDevice(send, recv, (s, r, stream) -> ncclReduceScatter(s, r, recv.length(), type(recv), op(op), comm, stream),
                "ncclReduceScatter");
    }

    @Override
    public void broadcast(INDArray data, int root) {
        open();
        checkRoot(root);
        onDevice(data, data, (s, r, stream) -> ncclBroadcast(s, r, data.length(), type(data), root, comm, stream),
                "ncclBroadcast");
    }

    private static int ncclReduceScatter(Pointer s, Pointer r, long n, int type, int op, ncclComm comm, CUstream_st st) {
        return org.bytedeco.cuda.global.nccl.ncclReduceScatter(s, r, n, type, op, comm, st);
    }

    /** An NCCL call on device pointers of two arrays. */
    @FunctionalInterface
    private interface Call {
        int run(Pointer send, Pointer recv, CUstream_st stream);
    }

    private void onDevice(INDArray send, INDArray recv, Call call, String what) {
        INDArray s = contiguous(send);
        INDArray r = recv == send ? s : contiguous(recv);
        AtomicAllocator alloc = AtomicAllocator.getInstance();
        CudaContext ctx = alloc.getDeviceContext();
        Pointer sp = alloc.getPointer(s, ctx);
        Pointer rp = alloc.getPointer(r, ctx);
        CUstream_st stream = new CUstream_st(ctx.getOldStream());
        check(call.run(sp, rp, stream), what, rank);
        await(stream, what);
        alloc.tickDeviceWrite(r);
        Nd4j.getAffinityManager().tagLocation(r, AffinityManager.Location.DEVICE);
        if (r != recv) {
            recv.assign(r);
        }
    }

    /** Waits for the stream; aborts the communicator past the timeout or on an NCCL error. */
    private void await(CUstream_st stream, String what) {
        long deadline = System.nanoTime() + timeout.toNanos();
        int[] async = new int[1];
        while (true) {
            int q = cudaStreamQuery(stream);
            if (q == cudaSuccess) {
                return;
            }
            if (q != cudaErrorNotReady) {
                broken(what + " failed: CUDA error " + q);
            }
            ncclCommGetAsyncError(comm, async);
            if (async[0] != ncclSuccess) {
                broken(what + " failed: " + ncclGetErrorString(async[0]).getString());
            }
            if (System.nanoTime() - deadline > 0) {
                broken(what + " timed out after " + timeout + " waiting for the other ranks (NCCL cannot name them)");
            }
            LockSupport.parkNanos(20_000);
            if (Thread.currentThread().isInterrupted()) {
                broken(what + " interrupted");
            }
        }
    }

    private void broken(String message) {
        if (state.compareAndSet(State.OPEN, State.BROKEN)) {
            ncclCommAbort(comm);
        }
        throw new CollectiveException("nccl rank " + rank + " of " + worldSize + " : " + message);
    }

    private static INDArray contiguous(INDArray a) {
        boolean direct = !a.isView() && a.ordering() == 'c' && a.offset() == 0 && a.data().length() == a.length()
                && (a.dataType() == DataType.FLOAT || a.dataType() == DataType.INT32);
        return direct ? a : a.castTo(a.dataType() == DataType.INT32 ? DataType.INT32 : DataType.FLOAT).dup('c');
    }

    private static int type(INDArray a) {
        return a.dataType() == DataType.INT32 ? ncclInt32 : ncclFloat32;
    }

    private static int op(ReduceOp op) {
        return switch (op) {
            case SUM -> ncclSum;
            case MAX -> ncclMax;
        };
    }

    private static void requireLength(INDArray a, long want, String what) {
        if (a.length() != want) {
            throw new IllegalArgumentException(what + " : " + a.length() + " elements (expected: " + want + ")");
        }
    }

    // ---- host buffers: through device arrays

    private void checkBlocks(long blocks, long block, long whole, String what) {
        if (blocks * block != whole) {
            throw new IllegalArgumentException(what + " : " + whole + " elements (expected: " + blocks * block
                    + " = world_size " + blocks + " x " + block + ")");
        }
    }

    private void checkRoot(int root) {
        if (root < 0 || root >= worldSize) {
            throw new IllegalArgumentException("root : " + root + " (expected: 0 <= root < world_size = " + worldSize + ")");
        }
    }

    @Override
    public void allGather(FloatBuffer send, FloatBuffer recv) {
        open();
        checkBlocks(worldSize, send.limit(), recv.limit(), "allGather recv");
        INDArray s = Nd4j.createFromArray(read(send));
        INDArray r = Nd4j.create(DataType.FLOAT, (long) send.limit() * worldSize);
        allGather(s, r);
        write(r.toFloatVector(), recv);
    }

    @Override
    public void allGather(IntBuffer send, IntBuffer recv) {
        open();
        checkBlocks(worldSize, send.limit(), recv.limit(), "allGather recv");
        INDArray s = Nd4j.createFromArray(read(send));
        INDArray r = Nd4j.create(DataType.INT32, (long) send.limit() * worldSize);
        allGather(s, r);
        write(r.toIntVector(), recv);
    }

    @Override
    public void allReduce(FloatBuffer data, ReduceOp op) {
        open();
        INDArray d = Nd4j.createFromArray(read(data));
        allReduce(d, op);
        write(d.toFloatVector(), data);
    }

    @Override
    public void allReduce(IntBuffer data, ReduceOp op) {
        open();
        INDArray d = Nd4j.createFromArray(read(data));
        allReduce(d, op);
        write(d.toIntVector(), data);
    }

    @Override
    public void reduceScatter(FloatBuffer send, FloatBuffer recv, ReduceOp op) {
        open();
        checkBlocks(worldSize, recv.limit(), send.limit(), "reduceScatter send");
        INDArray s = Nd4j.createFromArray(read(send));
        INDArray r = Nd4j.create(DataType.FLOAT, recv.limit());
        reduceScatter(s, r, op);
        write(r.toFloatVector(), recv);
    }

    @Override
    public void broadcast(FloatBuffer data, int root) {
        open();
        checkRoot(root);
        INDArray d = Nd4j.createFromArray(read(data));
        broadcast(d, root);
        write(d.toFloatVector(), data);
    }

    @Override
    public void broadcast(IntBuffer data, int root) {
        open();
        checkRoot(root);
        INDArray d = Nd4j.createFromArray(read(data));
        broadcast(d, root);
        write(d.toIntVector(), data);
    }

    @Override
    public void barrier() {
        allReduce(new int[] {1}, ReduceOp.SUM);
    }

    @Override
    public void close() {
        State was = state.getAndSet(State.CLOSED);
        if (was == State.OPEN) {
            int rc = ncclCommDestroy(comm);
            if (rc != ncclSuccess) {
                ncclCommAbort(comm);
            }
        }
    }

    private void open() {
        State st = state.get();
        if (st != State.OPEN) {
            throw new CollectiveException("nccl rank " + rank + " : " + (st == State.BROKEN ? "the group is broken by an"
                    + " earlier failure" : "closed"));
        }
        Nd4j.getAffinityManager().unsafeSetDevice(device); // the communicator's GPU, whatever thread calls
    }

    private static void check(int rc, String what, int rank) {
        if (rc != ncclSuccess) {
            throw new CollectiveException("nccl rank " + rank + " : " + what + " failed: " + ncclGetErrorString(rc).getString()
                    + " (code " + rc + ")");
        }
    }

    // buffers are used from position 0 to their limit; positions are not moved (the Collective contract)

    private static float[] read(FloatBuffer b) {
        FloatBuffer d = b.duplicate();
        d.position(0);
        float[] a = new float[d.limit()];
        d.get(a);
        return a;
    }

    private static int[] read(IntBuffer b) {
        IntBuffer d = b.duplicate();
        d.position(0);
        int[] a = new int[d.limit()];
        d.get(a);
        return a;
    }

    private static void write(float[] a, FloatBuffer b) {
        FloatBuffer d = b.duplicate();
        d.position(0);
        d.put(a);
    }

    private static void write(int[] a, IntBuffer b) {
        IntBuffer d = b.duplicate();
        d.position(0);
        d.put(a);
    }
}
