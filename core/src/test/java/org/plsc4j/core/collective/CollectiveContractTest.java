package org.plsc4j.core.collective;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestExecutionExceptionHandler;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.plsc4j.core.internal.InMemoryRendezvous;

/**
 * The behaviour every {@link Collective} backend must show, written once and run against each
 * implementation (in the spirit of Netty's transport {@code testsuite}).
 *
 * <p>Why a contract suite: the trainer is tested with the in-process backend and run with Netty
 * or NCCL; that is only sound if all backends agree on semantics, edge cases (empty buffers,
 * element counts not divisible by the world size, buffer positions, heap vs direct memory) and
 * failure behaviour (wrong token, missing rank, mismatched calls, use after close).
 *
 * <p>All ranks of a group are joined concurrently, each operation runs on one thread per rank.
 * Data are random but seeded: the seed is printed on failure and can be fixed with
 * {@code -Dplsc4j.seed=...}. Floats are multiples of 1/8 in [-512, 512] so that sums are exact in
 * any order and results are compared bit for bit.
 */
@ExtendWith(CollectiveContractTest.SeedReporter.class)
public abstract class CollectiveContractTest {

    /** The seed of every random number in this suite; {@code -Dplsc4j.seed=N} reproduces a run. */
    protected static final long SEED = Long.getLong("plsc4j.seed", new Random().nextLong());

    /** Timeout for tests that expect success (never reached unless something hangs). */
    protected static final Duration TIMEOUT = Duration.ofSeconds(60);

    /** Timeout for tests that expect a failure: short, so the suite stays fast. */
    protected static final Duration SHORT_TIMEOUT = Duration.ofSeconds(2);

    /** Elements of the "large" cases: 4 MiB of floats per rank. */
    protected static final int LARGE = 1 << 20;

    private static final AtomicInteger JOB_COUNTER = new AtomicInteger();

    private ExecutorService pool;
    private final List<Collective> opened = Collections.synchronizedList(new ArrayList<>());
    private String testName;

    // ------------------------------------------------------------------ backend hooks

    /** Joins one rank of a group; called concurrently for all ranks of the group. */
    protected abstract Collective join(CollectiveConfig config);

    /**
     * A fresh rendezvous for a group of {@code worldSize}; backends that do not exchange
     * addresses ignore it.
     */
    protected Rendezvous newRendezvous(int worldSize) {
        return new InMemoryRendezvous(worldSize);
    }

    // ------------------------------------------------------------------ harness

    @BeforeEach
    void setUpHarness(TestInfo info) {
        testName = info.getTestMethod().map(m -> m.getName()).orElse("test") + info.getDisplayName();
        AtomicInteger threads = new AtomicInteger();
        pool = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "contract-rank-thread-" + threads.getAndIncrement());
            t.setDaemon(true);
            return t;
        });
    }

    @AfterEach
    void tearDownHarness() throws InterruptedException {
        List<Collective> toClose;
        synchronized (opened) {
            toClose = new ArrayList<>(opened);
            opened.clear();
        }
        for (Collective c : toClose) {
            c.close();
        }
        pool.shutdownNow();
        assertTrue(pool.awaitTermination(30, TimeUnit.SECONDS), "rank threads did not stop");
    }

    /** What one rank's call produced: a value or an error, and how long it took. */
    protected record Outcome<T>(T value, Throwable error, long nanos) {
        boolean ok() {
            return error == null;
        }
    }

    /** Work one rank does with its member of the group. */
    @FunctionalInterface
    protected interface RankTask {
        void run(Collective c) throws Exception;
    }

    /** A unique job id per group so that in-process groups never collide. */
    protected String newJobId() {
        return "contract-" + JOB_COUNTER.incrementAndGet();
    }

    /** Configs of a whole group sharing one fresh rendezvous. */
    protected List<CollectiveConfig> configs(int worldSize, String jobId, String token, Duration timeout) {
        Rendezvous rendezvous = newRendezvous(worldSize);
        List<CollectiveConfig> out = new ArrayList<>();
        for (int r = 0; r < worldSize; r++) {
            out.add(CollectiveConfig.builder().jobId(jobId).token(token).rank(r).worldSize(worldSize)
                    .timeout(timeout).rendezvous(rendezvous).build());
        }
        return out;
    }

    /** Joins all ranks concurrently; the group is closed after the test. */
    protected List<Collective> joinGroup(int worldSize, String jobId, String token) {
        return joinGroup(configs(worldSize, jobId, token, TIMEOUT));
    }

    private List<Collective> joinGroup(List<CollectiveConfig> configs) {
        List<Outcome<Collective>> outcomes = joinEach(configs);
        List<Collective> group = new ArrayList<>();
        StringBuilder errors = new StringBuilder();
        for (int r = 0; r < outcomes.size(); r++) {
            Outcome<Collective> o = outcomes.get(r);
            if (o.ok()) {
                group.add(o.value());
            } else {
                errors.append("\n  rank ").append(r).append(": ").append(o.error());
            }
        }
        if (errors.length() > 0) {
            throw new AssertionError("join failed" + errors + seedNote());
        }
        for (int r = 0; r < group.size(); r++) {
            assertEquals(r, group.get(r).rank(), "rank of member " + r);
            assertEquals(configs.size(), group.get(r).worldSize(), "world size");
        }
        return group;
    }

    /** Joins the given configs concurrently and reports each rank's outcome. */
    protected List<Outcome<Collective>> joinEach(List<CollectiveConfig> configs) {
        List<Future<Outcome<Collective>>> futures = new ArrayList<>();
        for (CollectiveConfig cfg : configs) {
            futures.add(pool.submit(() -> {
                long t0 = System.nanoTime();
                try {
                    Collective c = join(cfg);
                    opened.add(c);
                    return new Outcome<>(c, null, System.nanoTime() - t0);
                } catch (RuntimeException | Error e) {
                    return new Outcome<>(null, e, System.nanoTime() - t0);
                }
            }));
        }
        return collect(futures, "join");
    }

    /** Runs {@code task} on every member concurrently and reports each rank's outcome. */
    protected List<Outcome<Void>> runEach(List<Collective> group, RankTask task) {
        return runEach(group, task, false);
    }

    private List<Outcome<Void>> runEach(List<Collective> group, RankTask task, boolean closeOnFailure) {
        List<Future<Outcome<Void>>> futures = new ArrayList<>();
        for (Collective c : group) {
            futures.add(pool.submit(() -> {
                long t0 = System.nanoTime();
                try {
                    task.run(c);
                    return new Outcome<Void>(null, null, System.nanoTime() - t0);
                } catch (Exception | Error e) {
                    if (closeOnFailure) {
                        // the other ranks would wait for this one until their timeout: release them
                        group.forEach(Collective::close);
                    }
                    return new Outcome<Void>(null, e, System.nanoTime() - t0);
                }
            }));
        }
        return collect(futures, "operation");
    }

    /**
     * Runs {@code task} on every member concurrently; any failure fails the test (and closes the
     * group so that the other ranks do not wait for the failed one).
     */
    protected void runAll(List<Collective> group, RankTask task) {
        List<Outcome<Void>> outcomes = runEach(group, task, true);
        AssertionError failure = null;
        for (int r = 0; r < outcomes.size(); r++) {
            Throwable e = outcomes.get(r).error();
            if (e != null) {
                if (failure == null) {
                    failure = new AssertionError("rank " + r + " failed: " + e + seedNote(), e);
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    private <T> List<T> collect(List<Future<T>> futures, String what) {
        List<T> out = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        for (int r = 0; r < futures.size(); r++) {
            try {
                out.add(futures.get(r).get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS));
            } catch (TimeoutException e) {
                throw new AssertionError(what + " of rank " + r + " hangs (no result after 120 s)" + seedNote());
            } catch (ExecutionException e) {
                throw new AssertionError(what + " of rank " + r + " crashed the harness", e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted", e);
            }
        }
        return out;
    }

    private static String seedNote() {
        return " [reproduce with -Dplsc4j.seed=" + SEED + "]";
    }

    /** Prints the seed when a test of this suite fails (Lucene style). */
    static final class SeedReporter implements TestExecutionExceptionHandler {
        @Override
        public void handleTestExecutionException(ExtensionContext context, Throwable throwable) throws Throwable {
            System.err.println("FAILED " + context.getDisplayName() + " in "
                    + context.getRequiredTestClass().getSimpleName() + ": reproduce with -Dplsc4j.seed=" + SEED);
            throw throwable;
        }
    }

    // ------------------------------------------------------------------ data

    /** A seed for one piece of data, derived from the suite seed and what the data is for. */
    private long seedFor(Object... parts) {
        long h = SEED ^ testName.hashCode() * 0x9E3779B97F4A7C15L;
        for (Object p : parts) {
            h = (h ^ String.valueOf(p).hashCode()) * 0xBF58476D1CE4E5B9L;
            h ^= h >>> 31;
        }
        return h;
    }

    /** Exactly summable floats: multiples of 1/8 in [-512, 512]. */
    protected float[] floats(int n, Object... seedParts) {
        SplittableRandom rnd = new SplittableRandom(seedFor(seedParts));
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = rnd.nextInt(-4096, 4097) / 8f;
        }
        return out;
    }

    /** Arbitrary ints (sums wrap identically in any order). */
    protected int[] ints(int n, Object... seedParts) {
        SplittableRandom rnd = new SplittableRandom(seedFor(seedParts));
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = rnd.nextInt();
        }
        return out;
    }

    /**
     * Where a test's data live: on the heap, in direct memory of either byte order, or in the
     * middle of a larger heap array (position 3, guard elements around it that must stay intact).
     */
    protected enum Mem {
        HEAP, DIRECT, DIRECT_BIG_ENDIAN, HEAP_OFFSET;

        private static final int GUARD = 3;
        private static final float FLOAT_GUARD = -77.25f;
        private static final int INT_GUARD = 0x5eed5eed;

        FloatBuffer floats(float[] values) {
            FloatBuffer b;
            switch (this) {
                case HEAP -> b = FloatBuffer.allocate(values.length);
                case DIRECT -> b = ByteBuffer.allocateDirect(values.length * 4).order(ByteOrder.nativeOrder())
                        .asFloatBuffer();
                case DIRECT_BIG_ENDIAN -> b = ByteBuffer.allocateDirect(values.length * 4)
                        .order(ByteOrder.BIG_ENDIAN).asFloatBuffer();
                default -> {
                    float[] backing = new float[values.length + 2 * GUARD];
                    java.util.Arrays.fill(backing, FLOAT_GUARD);
                    b = FloatBuffer.wrap(backing, GUARD, values.length);
                }
            }
            b.put(b.position(), values);
            return b;
        }

        IntBuffer ints(int[] values) {
            IntBuffer b;
            switch (this) {
                case HEAP -> b = IntBuffer.allocate(values.length);
                case DIRECT -> b = ByteBuffer.allocateDirect(values.length * 4).order(ByteOrder.nativeOrder())
                        .asIntBuffer();
                case DIRECT_BIG_ENDIAN -> b = ByteBuffer.allocateDirect(values.length * 4)
                        .order(ByteOrder.BIG_ENDIAN).asIntBuffer();
                default -> {
                    int[] backing = new int[values.length + 2 * GUARD];
                    java.util.Arrays.fill(backing, INT_GUARD);
                    b = IntBuffer.wrap(backing, GUARD, values.length);
                }
            }
            b.put(b.position(), values);
            return b;
        }

        /** Reads the buffer's content and checks position/limit were not moved and guards are intact. */
        float[] read(FloatBuffer b, int expectedLength) {
            checkWindow(b, expectedLength);
            float[] out = new float[expectedLength];
            b.get(b.position(), out);
            if (this == HEAP_OFFSET) {
                float[] a = b.array();
                for (int i = 0; i < GUARD; i++) {
                    assertEquals(FLOAT_GUARD, a[i], "guard before the window was overwritten");
                    assertEquals(FLOAT_GUARD, a[a.length - 1 - i], "guard after the window was overwritten");
                }
            }
            return out;
        }

        int[] read(IntBuffer b, int expectedLength) {
            checkWindow(b, expectedLength);
            int[] out = new int[expectedLength];
            b.get(b.position(), out);
            if (this == HEAP_OFFSET) {
                int[] a = b.array();
                for (int i = 0; i < GUARD; i++) {
                    assertEquals(INT_GUARD, a[i], "guard before the window was overwritten");
                    assertEquals(INT_GUARD, a[a.length - 1 - i], "guard after the window was overwritten");
                }
            }
            return out;
        }

        private void checkWindow(Buffer b, int expectedLength) {
            int pos = this == HEAP_OFFSET ? GUARD : 0;
            assertEquals(pos, b.position(), "position moved");
            assertEquals(pos + expectedLength, b.limit(), "limit moved");
        }
    }

    private static final Mem[] ALL_MEM = Mem.values();
    private static final int[] SMALL_SIZES = {0, 1, 2, 7, 1001};

    // ------------------------------------------------------------------ expected values

    private static float[] reduce(float[][] perRank, ReduceOp op) {
        float[] acc = perRank[0].clone();
        for (int r = 1; r < perRank.length; r++) {
            for (int i = 0; i < acc.length; i++) {
                acc[i] = op.apply(acc[i], perRank[r][i]);
            }
        }
        return acc;
    }

    private static int[] reduce(int[][] perRank, ReduceOp op) {
        int[] acc = perRank[0].clone();
        for (int r = 1; r < perRank.length; r++) {
            for (int i = 0; i < acc.length; i++) {
                acc[i] = op.apply(acc[i], perRank[r][i]);
            }
        }
        return acc;
    }

    private static float[] concat(float[][] blocks) {
        int n = blocks.length == 0 ? 0 : blocks[0].length;
        float[] out = new float[n * blocks.length];
        for (int r = 0; r < blocks.length; r++) {
            System.arraycopy(blocks[r], 0, out, r * n, n);
        }
        return out;
    }

    private static int[] concat(int[][] blocks) {
        int n = blocks.length == 0 ? 0 : blocks[0].length;
        int[] out = new int[n * blocks.length];
        for (int r = 0; r < blocks.length; r++) {
            System.arraycopy(blocks[r], 0, out, r * n, n);
        }
        return out;
    }

    private static String ctx(String op, int worldSize, int n, Mem mem, int rank) {
        return op + " world_size=" + worldSize + " n=" + n + " mem=" + mem + " rank=" + rank + seedNote();
    }

    // ------------------------------------------------------------------ data-movement tests

    @ParameterizedTest(name = "world_size={0}")
    @ValueSource(ints = {1, 2, 3, 4})
    void allGatherFloat(int worldSize) {
        List<Collective> group = joinGroup(worldSize, newJobId(), "secret");
        for (Mem mem : ALL_MEM) {
            for (int n : SMALL_SIZES) {
                checkAllGatherFloat(group, n, mem);
            }
        }
        checkAllGatherFloat(group, LARGE, Mem.DIRECT);
        checkAllGatherFloat(group, LARGE + 1, Mem.HEAP);
    }

    private void checkAllGatherFloat(List<Collective> group, int n, Mem mem) {
        int w = group.size();
        float[][] data = new float[w][];
        for (int r = 0; r < w; r++) {
            data[r] = floats(n, "ag", w, n, mem, r);
        }
        float[] expected = concat(data);
        runAll(group, c -> {
            int r = c.rank();
            FloatBuffer send = mem.floats(data[r]);
            FloatBuffer recv = mem.floats(new float[n * w]);
            c.allGather(send, recv);
            assertArrayEquals(data[r], mem.read(send, n), "send modified: " + ctx("allGather", w, n, mem, r));
            assertArrayEquals(expected, mem.read(recv, n * w), ctx("allGather", w, n, mem, r));
        });
    }

    @ParameterizedTest(name = "world_size={0}")
    @ValueSource(ints = {1, 2, 3, 4})
    void allGatherInt(int worldSize) {
        List<Collective> group = joinGroup(worldSize, newJobId(), "secret");
        for (Mem mem : ALL_MEM) {
            for (int n : new int[] {0, 1, 1001, 65_537}) {
                int w = group.size();
                int[][] data = new int[w][];
                for (int r = 0; r < w; r++) {
                    data[r] = ints(n, "agi", w, n, mem, r);
                }
                int[] expected = concat(data);
                runAll(group, c -> {
                    int r = c.rank();
                    IntBuffer send = mem.ints(data[r]);
                    IntBuffer recv = mem.ints(new int[n * w]);
                    c.allGather(send, recv);
                    assertArrayEquals(expected, mem.read(recv, n * w), ctx("allGather(int)", w, n, mem, r));
                });
            }
        }
    }

    @ParameterizedTest(name = "world_size={0}")
    @ValueSource(ints = {1, 2, 3, 4})
    void allGatherInPlace(int worldSize) {
        List<Collective> group = joinGroup(worldSize, newJobId(), "secret");
        int n = 1001;
        int w = group.size();
        for (Mem mem : new Mem[] {Mem.HEAP, Mem.DIRECT}) {
            float[][] data = new float[w][];
            for (int r = 0; r < w; r++) {
                data[r] = floats(n, "agip", w, mem, r);
            }
            float[] expected = concat(data);
            runAll(group, c -> {
                int r = c.rank();
                float[] initial = new float[n * w];
                System.arraycopy(data[r], 0, initial, r * n, n);
                FloatBuffer recv = mem.floats(initial);
                FloatBuffer send = recv.duplicate().position(r * n).limit((r + 1) * n).slice();
                c.allGather(send, recv);
                assertArrayEquals(expected, mem.read(recv, n * w), ctx("allGather in place", w, n, mem, r));
            });
        }
    }

    @ParameterizedTest(name = "world_size={0}")
    @ValueSource(ints = {1, 2, 3, 4})
    void allReduceFloat(int worldSize) {
        List<Collective> group = joinGroup(worldSize, newJobId(), "secret");
        for (ReduceOp op : ReduceOp.values()) {
            for (Mem mem : ALL_MEM) {
                for (int n : SMALL_SIZES) {
                    checkAllReduceFloat(group, n, mem, op);
                }
            }
            checkAllReduceFloat(group, LARGE + 3, Mem.DIRECT, op);
            checkAllReduceFloat(group, LARGE + 1, Mem.HEAP, op);
        }
    }

    private void checkAllReduceFloat(List<Collective> group, int n, Mem mem, ReduceOp op) {
        int w = group.size();
        float[][] data = new float[w][];
        for (int r = 0; r < w; r++) {
            data[r] = floats(n, "ar", op, w, n, mem, r);
        }
        float[] expected = reduce(data, op);
        runAll(group, c -> {
            int r = c.rank();
            FloatBuffer buf = mem.floats(data[r]);
            c.allReduce(buf, op);
            assertArrayEquals(expected, mem.read(buf, n), ctx("allReduce " + op, w, n, mem, r));
        });
    }

    @ParameterizedTest(name = "world_size={0}")
    @ValueSource(ints = {1, 2, 3, 4})
    void allReduceInt(int worldSize) {
        List<Collective> group = joinGroup(worldSize, newJobId(), "secret");
        int w = group.size();
        for (ReduceOp op : ReduceOp.values()) {
            for (Mem mem : ALL_MEM) {
                for (int n : new int[] {0, 1, 3, 1001, 100_003}) {
                    int[][] data = new int[w][];
                    for (int r = 0; r < w; r++) {
                        data[r] = ints(n, "ari", op, w, n, mem, r);
                    }
                    int[] expected = reduce(data, op);
                    runAll(group, c -> {
                        int r = c.rank();
                        IntBuffer buf = mem.ints(data[r]);
                        c.allReduce(buf, op);
                        assertArrayEquals(expected, mem.read(buf, n), ctx("allReduce(int) " + op, w, n, mem, r));
                    });
                }
            }
        }
    }

    @ParameterizedTest(name = "world_size={0}")
    @ValueSource(ints = {1, 2, 3, 4})
    void reduceScatter(int worldSize) {
        List<Collective> group = joinGroup(worldSize, newJobId(), "secret");
        for (ReduceOp op : ReduceOp.values()) {
            for (Mem mem : ALL_MEM) {
                for (int n : SMALL_SIZES) {
                    checkReduceScatter(group, n, mem, op);
                }
            }
            checkReduceScatter(group, (LARGE / 4) + 1, Mem.DIRECT, op);
            checkReduceScatter(group, (LARGE / 4) + 1, Mem.HEAP, op);
        }
    }

    private void checkReduceScatter(List<Collective> group, int n, Mem mem, ReduceOp op) {
        int w = group.size();
        float[][] data = new float[w][];
        for (int r = 0; r < w; r++) {
            data[r] = floats(n * w, "rs", op, w, n, mem, r);
        }
        float[] total = reduce(data, op);
        runAll(group, c -> {
            int r = c.rank();
            FloatBuffer send = mem.floats(data[r]);
            FloatBuffer recv = mem.floats(new float[n]);
            c.reduceScatter(send, recv, op);
            float[] expected = java.util.Arrays.copyOfRange(total, r * n, (r + 1) * n);
            assertArrayEquals(expected, mem.read(recv, n), ctx("reduceScatter " + op, w, n, mem, r));
            assertArrayEquals(data[r], mem.read(send, n * w), "send modified: " + ctx("reduceScatter", w, n, mem, r));
        });
    }

    @ParameterizedTest(name = "world_size={0}")
    @ValueSource(ints = {1, 2, 3, 4})
    void broadcastFromEveryRoot(int worldSize) {
        List<Collective> group = joinGroup(worldSize, newJobId(), "secret");
        int w = group.size();
        for (int root = 0; root < w; root++) {
            for (Mem mem : ALL_MEM) {
                for (int n : new int[] {0, 1, 1001, 300_007}) {
                    float[][] data = new float[w][];
                    int[][] idata = new int[w][];
                    for (int r = 0; r < w; r++) {
                        data[r] = floats(n, "bc", root, n, mem, r);
                        idata[r] = ints(n, "bci", root, n, mem, r);
                    }
                    int theRoot = root;
                    runAll(group, c -> {
                        int r = c.rank();
                        FloatBuffer buf = mem.floats(data[r]);
                        c.broadcast(buf, theRoot);
                        assertArrayEquals(data[theRoot], mem.read(buf, n), ctx("broadcast root=" + theRoot, w, n, mem, r));
                        IntBuffer ibuf = mem.ints(idata[r]);
                        c.broadcast(ibuf, theRoot);
                        assertArrayEquals(idata[theRoot], mem.read(ibuf, n),
                                ctx("broadcast(int) root=" + theRoot, w, n, mem, r));
                    });
                }
            }
        }
    }

    @ParameterizedTest(name = "world_size={0}")
    @ValueSource(ints = {1, 2, 3, 4})
    void barrierLetsNoRankThroughEarly(int worldSize) {
        List<Collective> group = joinGroup(worldSize, newJobId(), "secret");
        AtomicInteger arrivals = new AtomicInteger();
        int rounds = 20;
        runAll(group, c -> {
            for (int round = 0; round < rounds; round++) {
                arrivals.incrementAndGet();
                c.barrier();
                int seen = arrivals.get();
                assertTrue(seen >= (round + 1) * worldSize,
                        "rank " + c.rank() + " left barrier " + round + " after only " + seen + " arrivals");
            }
        });
        assertEquals(rounds * worldSize, arrivals.get());
    }

    /** Many different operations back to back on one group, as a training step issues them. */
    @ParameterizedTest(name = "world_size={0}")
    @ValueSource(ints = {1, 2, 3, 4})
    void mixedSequence(int worldSize) {
        List<Collective> group = joinGroup(worldSize, newJobId(), "secret");
        int w = group.size();
        int steps = 30;
        runAll(group, c -> {
            int r = c.rank();
            for (int step = 0; step < steps; step++) {
                int n = (step * 37) % 500 + (step % 3 == 0 ? 20_000 : 0);
                float[][] all = new float[w][];
                for (int q = 0; q < w; q++) {
                    all[q] = floats(n, "mix", step, q);
                }
                float[] gathered = new float[n * w];
                c.allGather(all[r], gathered);
                assertArrayEquals(concat(all), gathered, "allGather step " + step + seedNote());

                float[] sum = all[r].clone();
                c.allReduce(sum, ReduceOp.SUM);
                assertArrayEquals(reduce(all, ReduceOp.SUM), sum, "allReduce step " + step + seedNote());

                int[] labels = ints(n % 97, "lab", step, r);
                int[] allLabels = new int[labels.length * w];
                c.allGather(labels, allLabels);
                assertArrayEquals(labels, java.util.Arrays.copyOfRange(allLabels, r * labels.length,
                        (r + 1) * labels.length), "allGather(int) step " + step);

                float[] bc = all[r].clone();
                c.broadcast(bc, step % w);
                assertArrayEquals(all[step % w], bc, "broadcast step " + step + seedNote());

                if (step % 5 == 0) {
                    c.barrier();
                }
                float[][] big = new float[w][];
                for (int q = 0; q < w; q++) {
                    big[q] = floats(n * w, "mixrs", step, q);
                }
                float[] part = new float[n];
                c.reduceScatter(big[r], part, ReduceOp.MAX);
                float[] max = reduce(big, ReduceOp.MAX);
                assertArrayEquals(java.util.Arrays.copyOfRange(max, r * n, (r + 1) * n), part,
                        "reduceScatter step " + step + seedNote());
            }
        });
    }

    // ------------------------------------------------------------------ argument checks

    @ParameterizedTest(name = "world_size={0}")
    @ValueSource(ints = {1, 3})
    void localLengthMismatchIsRejectedAndGroupStaysUsable(int worldSize) {
        List<Collective> group = joinGroup(worldSize, newJobId(), "secret");
        int w = group.size();
        runAll(group, c -> {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> c.allGather(new float[10], new float[10 * w + 1]));
            assertTrue(e.getMessage().contains(String.valueOf(10 * w + 1)) && e.getMessage().contains(
                    String.valueOf(10 * w)), "message should name both sizes: " + e.getMessage());
            IllegalArgumentException e2 = assertThrows(IllegalArgumentException.class,
                    () -> c.reduceScatter(new float[5 * w + 1], new float[5], ReduceOp.SUM));
            assertTrue(e2.getMessage().contains(String.valueOf(5 * w + 1)) && e2.getMessage().contains(
                    String.valueOf(5 * w)), "message should name both sizes: " + e2.getMessage());
            assertThrows(IllegalArgumentException.class, () -> c.broadcast(new float[3], w));
            assertThrows(IllegalArgumentException.class, () -> c.broadcast(new float[3], -1));
            // the group still works after the refused calls
            float[] one = {c.rank() + 1};
            c.allReduce(one, ReduceOp.SUM);
            assertEquals(w * (w + 1) / 2f, one[0]);
        });
    }

    @Test
    void mismatchedLengthsAcrossRanksFailNamingTheSizes() {
        int w = 3;
        List<Collective> group = joinGroup(configsOrGroup(w));
        List<Outcome<Void>> outcomes = runEach(group, c -> {
            float[] data = new float[c.rank() == 0 ? 10 : 12];
            c.allReduce(data, ReduceOp.SUM);
        });
        boolean namesSizes = false;
        for (int r = 0; r < w; r++) {
            Throwable e = outcomes.get(r).error();
            assertTrue(e instanceof IllegalArgumentException || e instanceof CollectiveException,
                    "rank " + r + " should fail with IllegalArgumentException or CollectiveException, got " + e);
            assertTrue(outcomes.get(r).nanos() < 3 * SHORT_TIMEOUT.toNanos() + 1_000_000_000L,
                    "rank " + r + " took " + outcomes.get(r).nanos() / 1e9 + " s to fail");
            namesSizes |= e.getMessage().contains("10") && e.getMessage().contains("12");
        }
        assertTrue(namesSizes, "no rank named both sizes 10 and 12: " + messages(outcomes));
    }

    private List<CollectiveConfig> configsOrGroup(int w) {
        return configs(w, newJobId(), "secret", SHORT_TIMEOUT);
    }

    // ------------------------------------------------------------------ failures

    @Test
    void wrongTokenIsRefused() {
        int w = 3;
        String jobId = newJobId();
        List<CollectiveConfig> cfgs = new ArrayList<>(configs(w, jobId, "right-token", SHORT_TIMEOUT));
        CollectiveConfig bad = cfgs.get(1);
        cfgs.set(1, new CollectiveConfig(bad.jobId(), "wrong-token", bad.rank(), bad.worldSize(), bad.timeout(),
                bad.bindHost(), bad.rendezvous()));
        List<Outcome<Collective>> joined = joinEach(cfgs);
        // Whoever joined must not be able to exchange data with the impostor: every rank fails,
        // either at join or at its first operation.
        List<Collective> members = new ArrayList<>();
        List<Integer> memberRanks = new ArrayList<>();
        StringBuilder all = new StringBuilder();
        boolean mentionsToken = false;
        for (int r = 0; r < w; r++) {
            Outcome<Collective> o = joined.get(r);
            if (o.ok()) {
                members.add(o.value());
                memberRanks.add(r);
            } else {
                assertTrue(o.error() instanceof CollectiveException, "join of rank " + r + ": " + o.error());
                mentionsToken |= o.error().getMessage().toLowerCase(java.util.Locale.ROOT).contains("token");
                all.append("\n  join ").append(r).append(": ").append(o.error().getMessage());
            }
        }
        List<Outcome<Void>> ops = runEach(members, c -> c.allGather(new float[] {c.rank()}, new float[w]));
        for (int i = 0; i < members.size(); i++) {
            Throwable e = ops.get(i).error();
            assertTrue(e instanceof CollectiveException,
                    "rank " + memberRanks.get(i) + " exchanged data in a group with an impostor: " + e);
            all.append("\n  op ").append(memberRanks.get(i)).append(": ").append(e.getMessage());
        }
        assertTrue(mentionsToken, "some rank should report the wrong token:" + all);
    }

    @ParameterizedTest(name = "world_size={0}")
    @ValueSource(ints = {2, 3})
    void missingRankIsNamedWithinTheTimeout(int worldSize) {
        int missing = worldSize - 1;
        List<CollectiveConfig> cfgs = configs(worldSize, newJobId(), "secret", SHORT_TIMEOUT);
        long t0 = System.nanoTime();
        List<Outcome<Collective>> joined = joinEach(cfgs.subList(0, missing));
        List<Collective> members = new ArrayList<>();
        List<Throwable> errors = new ArrayList<>();
        for (Outcome<Collective> o : joined) {
            if (o.ok()) {
                members.add(o.value());
            } else {
                errors.add(o.error());
            }
        }
        for (Outcome<Void> o : runEach(members, c -> c.allReduce(new float[] {1f}, ReduceOp.SUM))) {
            errors.add(o.error());
        }
        long elapsed = System.nanoTime() - t0;
        assertEquals(missing, errors.size());
        for (Throwable e : errors) {
            assertTrue(e instanceof CollectiveException, "expected CollectiveException, got " + e);
            assertNamesRank(e.getMessage(), missing);
        }
        assertTrue(elapsed < 4 * SHORT_TIMEOUT.toNanos(), "took " + elapsed / 1e9 + " s with a 2 s timeout");
    }

    @ParameterizedTest(name = "world_size={0}")
    @ValueSource(ints = {2, 3, 4})
    void silentRankTimesOutNamingIt(int worldSize) {
        int silent = 1;
        List<Collective> group = joinGroup(configs(worldSize, newJobId(), "secret", SHORT_TIMEOUT));
        List<Collective> active = new ArrayList<>(group);
        active.remove(silent);
        List<Outcome<Void>> outcomes = runEach(active, c -> c.allReduce(new float[1000], ReduceOp.SUM));
        for (int i = 0; i < outcomes.size(); i++) {
            Outcome<Void> o = outcomes.get(i);
            int r = active.get(i).rank();
            assertTrue(o.error() instanceof CollectiveException, "rank " + r + " should fail, got " + o.error());
            assertTrue(o.nanos() < 3 * SHORT_TIMEOUT.toNanos(), "rank " + r + " took " + o.nanos() / 1e9 + " s");
            if (r == (silent + 1) % worldSize) {
                assertNamesRank(o.error().getMessage(), silent);
            }
        }
        // the group is broken now: later calls fail fast everywhere, including on the silent rank
        for (Collective c : group) {
            long t0 = System.nanoTime();
            assertThrows(CollectiveException.class, () -> c.allReduce(new float[1000], ReduceOp.SUM));
            assertTrue(System.nanoTime() - t0 < SHORT_TIMEOUT.toNanos(),
                    "rank " + c.rank() + " did not fail fast after the group broke");
        }
    }

    @ParameterizedTest(name = "world_size={0}")
    @ValueSource(ints = {1, 2, 3})
    void operationsAfterCloseFail(int worldSize) {
        List<Collective> group = joinGroup(worldSize, newJobId(), "secret");
        runAll(group, Collective::barrier);
        for (Collective c : group) {
            c.close();
            c.close(); // idempotent
        }
        for (Collective c : group) {
            assertThrows(CollectiveException.class, c::barrier);
            assertThrows(CollectiveException.class, () -> c.allReduce(new float[4], ReduceOp.SUM));
            assertThrows(CollectiveException.class, () -> c.allGather(new int[1], new int[worldSize]));
        }
    }

    // ------------------------------------------------------------------ helpers for subclasses

    /** Asserts the message names {@code rank}, as "rank 2", "rank(s) [2]" or "ranks [0, 2]". */
    protected static void assertNamesRank(String message, int rank) {
        Pattern p = Pattern.compile("rank(?:s|\\(s\\))?\\s+(?:" + rank + "\\b|\\[(?:\\d+,\\s*)*" + rank
                + "(?:,\\s*\\d+)*\\])");
        assertTrue(message != null && p.matcher(message).find(),
                "message should name rank " + rank + ": " + message);
    }

    private static String messages(List<? extends Outcome<?>> outcomes) {
        StringBuilder sb = new StringBuilder();
        for (int r = 0; r < outcomes.size(); r++) {
            sb.append("\n  rank ").append(r).append(": ").append(outcomes.get(r).error());
        }
        return sb.toString();
    }

    /** Fails with a list of what each rank did; for subclasses' own failure tests. */
    protected static void failWith(String what, List<? extends Outcome<?>> outcomes) {
        fail(what + messages(outcomes) + seedNote());
    }
}
