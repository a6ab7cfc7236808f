package org.plsc4j.shardstore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The behaviour every {@link ShardStore} must show, written once and run against each
 * implementation (subclasses open the store).
 *
 * <p>Why a contract suite: workers will flush to whichever store the job is configured with, and
 * recovery is only sound if all stores agree on exact bits, partial blocks, overwrite and missing
 * semantics. Subclasses may share one store (one set of Ignite nodes) across the suite; every test
 * uses jobs of its own. Floats are random bit patterns (NaNs with payloads included): a store must
 * give back exactly the bits it got.
 */
public abstract class ShardStoreContractTest {

    /** The seed of every random number in this suite; {@code -Dplsc4j.seed=N} reproduces a run. */
    protected static final long SEED = Long.getLong("plsc4j.seed", new Random().nextLong());

    /** Block size the stores under test are opened with. */
    protected static final int BLOCK_ROWS = 16;

    private static final AtomicInteger JOBS = new AtomicInteger();

    /** The store under test, opened with {@link #BLOCK_ROWS}; the subclass closes it. */
    protected abstract ShardStore store();

    /** A job name no other test uses. */
    protected static String newJob() {
        return "job-" + SEED + "-" + JOBS.incrementAndGet();
    }

    protected static float[] randomBits(SplittableRandom rnd, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = Float.intBitsToFloat(rnd.nextInt());
        }
        return a;
    }

    private static void assertBits(float[] want, float[] got, String what) {
        assertEquals(want.length, got.length, what + " length (seed " + SEED + ")");
        for (int i = 0; i < want.length; i++) {
            if (Float.floatToRawIntBits(want[i]) != Float.floatToRawIntBits(got[i])) {
                throw new AssertionError(what + "[" + i + "]: bits " + Integer.toHexString(Float.floatToRawIntBits(want[i]))
                        + " != " + Integer.toHexString(Float.floatToRawIntBits(got[i])) + " (seed " + SEED + ")");
            }
        }
    }

    private static FcBlock block(SplittableRandom rnd, String job, int b, int dim, long version) {
        int n = BLOCK_ROWS * dim;
        return new FcBlock(job, b, b * BLOCK_ROWS, BLOCK_ROWS, dim, version, randomBits(rnd, n), randomBits(rnd, n));
    }

    @Test
    void blockRoundTripKeepsExactBits() {
        SplittableRandom rnd = new SplittableRandom(SEED);
        String job = newJob();
        FcBlock b = block(rnd, job, 3, 7, 42);
        store().put(b);
        FcBlock got = store().get(job, 3).orElseThrow();
        assertEquals(job, got.job());
        assertEquals(3, got.block());
        assertEquals(48, got.firstClass());
        assertEquals(BLOCK_ROWS, got.rows());
        assertEquals(7, got.dim());
        assertEquals(42, got.version());
        assertBits(b.weights(), got.weights(), "weights");
        assertBits(b.momentum(), got.momentum(), "momentum");
    }

    @Test
    void blockHelpers() {
        assertEquals(BLOCK_ROWS, store().blockRows());
        assertEquals(0, store().blockOf(0));
        assertEquals(0, store().blockOf(BLOCK_ROWS - 1));
        assertEquals(1, store().blockOf(BLOCK_ROWS));
        assertEquals(5 * BLOCK_ROWS, store().blockStart(5));
    }

    @Test
    void putAllAndGetAll() {
        SplittableRandom rnd = new SplittableRandom(SEED + 1);
        String job = newJob();
        List<FcBlock> blocks = new ArrayList<>();
        for (int b = 0; b < 5; b++) {
            blocks.add(block(rnd, job, b, 4, 10 + b));
        }
        store().putAll(blocks);
        Map<Integer, FcBlock> got = store().getAll(job, List.of(4, 0, 2, 9));
        assertEquals(List.of(4, 0, 2), new ArrayList<>(got.keySet()));
        for (int b : List.of(0, 2, 4)) {
            assertBits(blocks.get(b).weights(), got.get(b).weights(), "weights of block " + b);
            assertBits(blocks.get(b).momentum(), got.get(b).momentum(), "momentum of block " + b);
            assertEquals(10 + b, got.get(b).version());
        }
    }

    @Test
    void rangesSpanningBlocksAndPartialBlocks() {
        SplittableRandom rnd = new SplittableRandom(SEED + 2);
        String job = newJob();
        int dim = 5;
        int numClasses = 4 * BLOCK_ROWS + 3; // the last block is short
        // two "workers" whose ranges split block 1 in the middle, written in either order
        int split = BLOCK_ROWS + 5;
        float[] w = randomBits(rnd, numClasses * dim);
        float[] m = randomBits(rnd, numClasses * dim);
        float[] w1 = java.util.Arrays.copyOfRange(w, split * dim, numClasses * dim);
        float[] m1 = java.util.Arrays.copyOfRange(m, split * dim, numClasses * dim);
        store().writeRange(job, split, numClasses, dim, w1, m1, 7);
        // only the second worker's classes are there
        float[] rw = new float[numClasses * dim];
        float[] rm = new float[numClasses * dim];
        assertFalse(store().readRange(job, 0, numClasses, dim, rw, rm));
        assertTrue(store().readRange(job, split, numClasses, dim, new float[w1.length], new float[m1.length]));
        store().writeRange(job, 0, split, dim, java.util.Arrays.copyOf(w, split * dim),
                java.util.Arrays.copyOf(m, split * dim), 7);
        assertTrue(store().readRange(job, 0, numClasses, dim, rw, rm));
        assertBits(w, rw, "weights");
        assertBits(m, rm, "momentum");
        // the short last block covers what was written only
        FcBlock last = store().get(job, 4).orElseThrow();
        assertEquals(4 * BLOCK_ROWS, last.firstClass());
        assertEquals(3, last.rows());
        // a sub-range inside one block, and one that crosses a single boundary
        int lo = BLOCK_ROWS + 2;
        int hi = 3 * BLOCK_ROWS + 1;
        float[] sw = new float[(hi - lo) * dim];
        float[] sm = new float[(hi - lo) * dim];
        assertTrue(store().readRange(job, lo, hi, dim, sw, sm));
        assertBits(java.util.Arrays.copyOfRange(w, lo * dim, hi * dim), sw, "sub-range weights");
        assertBits(java.util.Arrays.copyOfRange(m, lo * dim, hi * dim), sm, "sub-range momentum");
        // classes past the end are missing
        assertFalse(store().readRange(job, numClasses - 1, numClasses + 1, dim, new float[2 * dim],
                new float[2 * dim]));
    }

    @Test
    void overwriteKeepsTheLatestVersion() {
        SplittableRandom rnd = new SplittableRandom(SEED + 3);
        String job = newJob();
        FcBlock v1 = block(rnd, job, 0, 3, 1);
        FcBlock v2 = block(rnd, job, 0, 3, 2);
        store().put(v1);
        store().put(v2);
        FcBlock got = store().get(job, 0).orElseThrow();
        assertEquals(2, got.version());
        assertBits(v2.weights(), got.weights(), "weights");
        assertBits(v2.momentum(), got.momentum(), "momentum");
        // a range write over a whole block replaces it too
        float[] w = randomBits(rnd, BLOCK_ROWS * 3);
        float[] m = randomBits(rnd, BLOCK_ROWS * 3);
        store().writeRange(job, 0, BLOCK_ROWS, 3, w, m, 3);
        got = store().get(job, 0).orElseThrow();
        assertEquals(3, got.version());
        assertBits(w, got.weights(), "weights");
    }

    @Test
    void missingBlockIsEmpty() {
        String job = newJob();
        assertEquals(Optional.empty(), store().get(job, 0));
        assertEquals(Optional.empty(), store().get(job, 123456));
        assertTrue(store().getAll(job, List.of(1, 2)).isEmpty());
        assertFalse(store().readRange(job, 0, 3, 2, new float[6], new float[6]));
        assertEquals(0, store().remove(job));
    }

    @Test
    void removeDropsOneJobOnlyAndJobsAreIsolated() {
        SplittableRandom rnd = new SplittableRandom(SEED + 4);
        String a = newJob();
        String b = newJob();
        String prefixOfA = a.substring(0, a.length() - 1); // "job-…-1" vs "job-…-12": no prefix confusion
        FcBlock a0 = block(rnd, a, 0, 2, 1);
        FcBlock a1 = block(rnd, a, 1, 2, 1);
        FcBlock b0 = block(rnd, b, 0, 2, 9);
        store().putAll(List.of(a0, a1, b0));
        assertBits(a0.weights(), store().get(a, 0).orElseThrow().weights(), "job a");
        assertBits(b0.weights(), store().get(b, 0).orElseThrow().weights(), "job b");
        assertEquals(Optional.empty(), store().get(prefixOfA, 0));
        assertEquals(2, store().remove(a));
        assertEquals(Optional.empty(), store().get(a, 0));
        assertEquals(Optional.empty(), store().get(a, 1));
        FcBlock gotB = store().get(b, 0).orElseThrow();
        assertEquals(9, gotB.version());
        assertBits(b0.momentum(), gotB.momentum(), "job b after removing a");
        assertEquals(1, store().remove(b));
    }

    @Test
    void badArgumentsAreNamed() {
        String job = newJob();
        ShardStore s = store();
        assertMessage("job", assertThrows(IllegalArgumentException.class, () -> s.get("a/b", 0)));
        assertMessage("job", assertThrows(IllegalArgumentException.class, () -> s.get("", 0)));
        assertMessage("job", assertThrows(IllegalArgumentException.class, () -> s.remove("..")));
        assertMessage("job", assertThrows(IllegalArgumentException.class, () -> s.get(".hidden", 0)));
        assertMessage("block", assertThrows(IllegalArgumentException.class, () -> s.get(job, -1)));
        assertMessage("classId", assertThrows(IllegalArgumentException.class, () -> s.blockOf(-1)));
        assertMessage("end", assertThrows(IllegalArgumentException.class,
                () -> s.writeRange(job, 5, 5, 2, new float[0], new float[0], 1)));
        assertMessage("weights.length", assertThrows(IllegalArgumentException.class,
                () -> s.writeRange(job, 0, 2, 2, new float[3], new float[4], 1)));
        assertMessage("momentum.length", assertThrows(IllegalArgumentException.class,
                () -> s.readRange(job, 0, 2, 2, new float[4], new float[5])));
        assertMessage("weights.length", assertThrows(IllegalArgumentException.class,
                () -> new FcBlock(job, 0, 0, 2, 2, 1, new float[3], new float[4])));
        // rows outside their block
        assertMessage("expected: inside block 1", assertThrows(IllegalArgumentException.class,
                () -> s.put(new FcBlock(job, 1, 0, 2, 1, 1, new float[2], new float[2]))));
        assertMessage("expected: inside block 0", assertThrows(IllegalArgumentException.class,
                () -> s.put(new FcBlock(job, 0, BLOCK_ROWS - 1, 2, 1, 1, new float[2], new float[2]))));
        // a stored block with another dim
        s.writeRange(job, 0, 2, 2, new float[4], new float[4], 1);
        assertMessage("dim", assertThrows(IllegalArgumentException.class,
                () -> s.readRange(job, 0, 2, 3, new float[6], new float[6])));
        assertMessage("dim", assertThrows(IllegalArgumentException.class,
                () -> s.writeRange(job, 2, 3, 3, new float[3], new float[3], 1)));
        // a partial write that would leave a hole in a block
        assertMessage("gap", assertThrows(IllegalArgumentException.class,
                () -> s.writeRange(job, 5, 6, 2, new float[2], new float[2], 1)));
    }

    /** Rows {@code [first, first + rows)} of a piece, cut from class-indexed arrays. */
    private static FcBlock piece(String job, int first, int rows, int dim, long version, float[] w, float[] m) {
        return new FcBlock(job, first / BLOCK_ROWS, first, rows, dim, version,
                java.util.Arrays.copyOfRange(w, first * dim, (first + rows) * dim),
                java.util.Arrays.copyOfRange(m, first * dim, (first + rows) * dim));
    }

    private static void assertStored(ShardStore s, String job, int block, int first, int end, long version,
                                     float[] w, float[] m, String what) {
        FcBlock got = s.get(job, block).orElseThrow();
        assertEquals(first, got.firstClass(), what + ": firstClass (seed " + SEED + ")");
        assertEquals(end, got.endClass(), what + ": endClass (seed " + SEED + ")");
        assertEquals(version, got.version(), what + ": version (seed " + SEED + ")");
        int dim = got.dim();
        assertBits(java.util.Arrays.copyOfRange(w, first * dim, end * dim), got.weights(), what + " weights");
        assertBits(java.util.Arrays.copyOfRange(m, first * dim, end * dim), got.momentum(), what + " momentum");
    }

    @Test
    void mergeUnitesRowsPieceWinsHigherVersionKept() {
        SplittableRandom rnd = new SplittableRandom(SEED + 6);
        String job = newJob();
        int dim = 2;
        int b = 1;
        int bs = b * BLOCK_ROWS;
        // the expected contents, class-indexed; each merge overwrites its rows here too
        float[] w = randomBits(rnd, 4 * BLOCK_ROWS * dim);
        float[] m = randomBits(rnd, 4 * BLOCK_ROWS * dim);
        // no stored block: the piece is stored as it is
        store().merge(piece(job, bs + 4, 4, dim, 5, w, m));
        assertStored(store(), job, b, bs + 4, bs + 8, 5, w, m, "first piece");
        // overlapping on the right, older version: the piece's rows win, the version stays 5
        float[] w2 = randomBits(rnd, w.length);
        float[] m2 = randomBits(rnd, m.length);
        System.arraycopy(w2, (bs + 6) * dim, w, (bs + 6) * dim, 6 * dim);
        System.arraycopy(m2, (bs + 6) * dim, m, (bs + 6) * dim, 6 * dim);
        store().merge(piece(job, bs + 6, 6, dim, 3, w, m));
        assertStored(store(), job, b, bs + 4, bs + 12, 5, w, m, "overlap on the right");
        // touching on the left, newer version
        store().merge(piece(job, bs, 4, dim, 9, w, m));
        assertStored(store(), job, b, bs, bs + 12, 9, w, m, "touching on the left");
        // inside the stored rows: only those rows change
        float[] w3 = randomBits(rnd, w.length);
        System.arraycopy(w3, (bs + 2) * dim, w, (bs + 2) * dim, 3 * dim);
        store().merge(piece(job, bs + 2, 3, dim, 9, w, m));
        assertStored(store(), job, b, bs, bs + 12, 9, w, m, "inside");
        // a gap is refused, names the block and both ranges, and changes nothing
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> store().merge(piece(job, bs + 14, 2, dim, 10, randomBits(rnd, w.length),
                        randomBits(rnd, m.length))));
        assertMessage("block " + b, e);
        assertMessage("[" + (bs + 14) + ", " + (bs + 16) + ")", e);
        assertMessage("[" + bs + ", " + (bs + 12) + ")", e);
        assertMessage("gap", e);
        assertStored(store(), job, b, bs, bs + 12, 9, w, m, "after a refused gap");
        // another dim is refused
        assertMessage("dim", assertThrows(IllegalArgumentException.class,
                () -> store().merge(new FcBlock(job, b, bs + 12, 1, dim + 1, 1, new float[dim + 1],
                        new float[dim + 1]))));
        // rows outside the block are refused
        assertMessage("expected: inside block " + b, assertThrows(IllegalArgumentException.class,
                () -> store().merge(new FcBlock(job, b, bs + BLOCK_ROWS - 1, 2, dim, 1, new float[2 * dim],
                        new float[2 * dim]))));
        // filling the rest makes the block whole
        store().merge(piece(job, bs + 12, 4, dim, 2, w, m));
        assertStored(store(), job, b, bs, bs + BLOCK_ROWS, 9, w, m, "whole");
        assertEquals(1, store().remove(job));
    }

    @Test
    void concurrentWritersOfAdjacentRangesLoseNoRows() throws Exception {
        concurrentAdjacentWriters(SEED + 5, store());
    }

    /**
     * Three "workers" own adjacent ranges that share boundary blocks ([0, 21), [21, 40), [40, 53)
     * with blockRows 16: blocks 1 and 2 have two writers each) and flush them all at once, round
     * after round, with new values and versions every round. After each round every class must hold
     * what its owner wrote in that round (a read-modify-write that is not atomic loses one side of a
     * boundary block), and a shared block's version is the higher of its writers'. Writer {@code i}
     * uses {@code stores[i % stores.length]}, so a subclass can put the writers on separate nodes
     * or separate store instances.
     */
    protected static void concurrentAdjacentWriters(long seed, ShardStore... stores) throws Exception {
        int[] bounds = {0, BLOCK_ROWS + 5, 2 * BLOCK_ROWS + 8, 3 * BLOCK_ROWS + 5};
        int writers = bounds.length - 1;
        int classes = bounds[writers];
        int dim = 3;
        int rounds = 60;
        String job = newJob();
        SplittableRandom rnd = new SplittableRandom(seed);
        float[][] w = new float[rounds][];
        float[][] m = new float[rounds][];
        for (int r = 0; r < rounds; r++) {
            w[r] = randomBits(rnd, classes * dim);
            m[r] = randomBits(rnd, classes * dim);
        }
        // the writers and this checker meet twice a round: all start writing together, then the
        // checker reads back while the writers wait for the next round
        CyclicBarrier start = new CyclicBarrier(writers + 1);
        CyclicBarrier done = new CyclicBarrier(writers + 1);
        ExecutorService pool = Executors.newFixedThreadPool(writers);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int i = 0; i < writers; i++) {
                int lo = bounds[i];
                int hi = bounds[i + 1];
                int wi = i;
                ShardStore s = stores[i % stores.length];
                futures.add(pool.submit(() -> {
                    for (int r = 0; r < rounds; r++) {
                        start.await(60, TimeUnit.SECONDS);
                        try {
                            s.writeRange(job, lo, hi, dim, java.util.Arrays.copyOfRange(w[r], lo * dim, hi * dim),
                                    java.util.Arrays.copyOfRange(m[r], lo * dim, hi * dim), version(r, wi));
                        } finally {
                            done.await(60, TimeUnit.SECONDS);
                        }
                    }
                    return null;
                }));
            }
            ShardStore reader = stores[0];
            for (int r = 0; r < rounds; r++) {
                try {
                    start.await(60, TimeUnit.SECONDS);
                    done.await(60, TimeUnit.SECONDS);
                } catch (BrokenBarrierException | TimeoutException e) {
                    for (Future<?> f : futures) {
                        if (f.isDone()) {
                            try {
                                f.get();
                            } catch (ExecutionException x) {
                                throw new AssertionError("a writer failed in round " + r + " (seed " + seed + ")",
                                        x.getCause());
                            }
                        }
                    }
                    throw new AssertionError("round " + r + " did not complete (seed " + seed + ")", e);
                }
                float[] rw = new float[classes * dim];
                float[] rm = new float[classes * dim];
                assertTrue(reader.readRange(job, 0, classes, dim, rw, rm),
                        "round " + r + ": some class is missing (seed " + seed + ")");
                for (int c = 0; c < classes; c++) {
                    for (int k = 0; k < dim; k++) {
                        int i = c * dim + k;
                        if (Float.floatToRawIntBits(rw[i]) != Float.floatToRawIntBits(w[r][i])
                                || Float.floatToRawIntBits(rm[i]) != Float.floatToRawIntBits(m[r][i])) {
                            throw new AssertionError("round " + r + ": class " + c + " (block "
                                    + c / BLOCK_ROWS + ") does not hold what its owner wrote in this round"
                                    + " (lost update) (seed " + seed + ")");
                        }
                    }
                }
                for (int i = 0; i < writers; i++) {
                    // writer i's first block; when writer i - 1 shares it, the higher version is i's
                    int b = bounds[i] / BLOCK_ROWS;
                    assertEquals(version(r, i), reader.get(job, b).orElseThrow().version(),
                            "round " + r + ": version of block " + b + " (seed " + seed + ")");
                }
            }
            for (Future<?> f : futures) {
                f.get(60, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
            assertTrue(pool.awaitTermination(60, TimeUnit.SECONDS), "writers did not stop");
        }
        stores[0].remove(job);
    }

    /** Writer {@code i}'s version in round {@code r}: later rounds and higher writers are higher. */
    private static long version(int r, int i) {
        return 10L * r + i + 1;
    }

    private static void assertMessage(String part, Throwable t) {
        assertTrue(t.getMessage() != null && t.getMessage().contains(part),
                "message \"" + t.getMessage() + "\" should name " + part);
    }
}
