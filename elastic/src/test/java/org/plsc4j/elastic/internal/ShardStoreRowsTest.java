package org.plsc4j.elastic.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.core.FcConfig;
import org.plsc4j.core.FcDtype;
import org.plsc4j.core.MarginConfig;
import org.plsc4j.core.PartialFc;
import org.plsc4j.core.collective.Collective;
import org.plsc4j.core.collective.CollectiveConfig;
import org.plsc4j.core.collective.Collectives;
import org.plsc4j.shardstore.ShardStore;
import org.plsc4j.shardstore.ShardStoreConfig;
import org.plsc4j.shardstore.ShardStoreException;
import org.plsc4j.shardstore.ShardStores;
import org.plsc4j.worker.FcRowStore;
import org.plsc4j.worker.internal.RowTransfer;

/**
 * The trainer's row store over a real (local file) shard store: reads name the classes a store
 * lost, transfers are whole blocks within their budget, and a shard moved block by block
 * (float32, float16, bfloat16, with a bias column) comes back bit for bit.
 */
class ShardStoreRowsTest {

    private static final long SEED = 20261204L;
    private static final int DIM = 16;

    @TempDir
    Path dir;

    private ShardStore open(int blockRows) {
        return ShardStores.open("local", ShardStoreConfig.builder().blockRows(blockRows).directory(dir).build());
    }

    private static float[] random(SplittableRandom rng, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) rng.nextGaussian();
        }
        return a;
    }

    @Test
    void readNamesTheClassesTheStoreLost() throws Exception {
        SplittableRandom rng = new SplittableRandom(SEED);
        try (ShardStore store = open(4)) {
            ShardStoreRows rows = new ShardStoreRows(store, "lost");
            float[] w1 = random(rng, 6 * DIM);
            float[] m1 = random(rng, 6 * DIM);
            rows.write(0, 6, DIM, w1, m1, 3);
            rows.write(12, 20, DIM, random(rng, 8 * DIM), random(rng, 8 * DIM), 5);
            // the blocks of [16, 20) are lost (a node gone beyond its backups, a file deleted)
            Files.delete(dir.resolve("lost").resolve(String.format("block-%08d.fcb", 4)));
            float[] w = new float[20 * DIM];
            float[] m = new float[20 * DIM];
            FcRowStore.ReadResult r = rows.read(0, 20, DIM, w, m);
            assertEquals(List.of(new FcRowStore.Range(6, 12), new FcRowStore.Range(16, 20)), r.missing());
            assertEquals(10, r.missingRows());
            assertEquals(3, r.minVersion());
            assertEquals(5, r.maxVersion());
            assertArrayEquals(w1, java.util.Arrays.copyOf(w, 6 * DIM));
            assertArrayEquals(m1, java.util.Arrays.copyOf(m, 6 * DIM));
            assertTrue(rows.describe().startsWith("local shard store LocalFileShardStore["), rows.describe());
            assertTrue(rows.describe().endsWith(", job lost"), rows.describe());
        }
    }

    @Test
    void transfersAreWholeBlocksWithinTheBudget() {
        try (ShardStore store = open(4)) {
            assertEquals(12, new ShardStoreRows(store, "a", 200).transferRows(DIM), "3 blocks of 4 x 16 in 200 floats");
            assertEquals(4, new ShardStoreRows(store, "a", 10).transferRows(DIM), "at least one block");
            assertEquals(4 * ((1 << 22) / 64), new ShardStoreRows(store, "a").transferRows(DIM));
        }
    }

    /** A shard of 37 classes from class 5, moved in transfers of 8 classes, through real block files. */
    private void roundTrip(DataType type, boolean bias) {
        SplittableRandom rng = new SplittableRandom(SEED + type.ordinal() + (bias ? 100 : 0));
        int n = 37;
        int start = 5;
        INDArray w = Nd4j.create(random(rng, n * DIM), new long[] {n, DIM}, 'c').castTo(type);
        INDArray m = Nd4j.create(random(rng, n * DIM), new long[] {n, DIM}, 'c').castTo(type);
        INDArray b = bias ? Nd4j.createFromArray(random(rng, n)) : null;
        INDArray bm = bias ? Nd4j.createFromArray(random(rng, n)) : null;
        RowTransfer.Shard src = new RowTransfer.Shard(w, m, b, bm);
        try (ShardStore store = open(4)) {
            ShardStoreRows rows = new ShardStoreRows(store, "rt-" + type + bias, 8L * src.dim());
            assertEquals(8, rows.transferRows(src.dim()));
            // [5, 8) [8, 16) [16, 24) [24, 32) [32, 40) [40, 42): never more than 8 classes per call
            assertEquals(6, RowTransfer.write(rows, start, src, 7));
            RowTransfer.Shard dst = new RowTransfer.Shard(Nd4j.zeros(type, n, DIM), Nd4j.zeros(type, n, DIM),
                    bias ? Nd4j.zeros(DataType.FLOAT, n) : null, bias ? Nd4j.zeros(DataType.FLOAT, n) : null);
            RowTransfer.Result r = RowTransfer.read(rows, start, dst);
            assertEquals(0, r.missingRows());
            assertEquals(6, r.calls());
            assertEquals(7, r.maxVersion());
            String what = type + (bias ? " with bias" : "");
            assertArrayEquals(bits(w), bits(dst.weights()), what + " weights");
            assertArrayEquals(bits(m), bits(dst.momentum()), what + " momentum");
            if (bias) {
                assertArrayEquals(bits(b), bits(dst.bias()), what + " bias");
                assertArrayEquals(bits(bm), bits(dst.biasMomentum()), what + " bias momentum");
            }
        }
    }

    private static int[] bits(INDArray a) {
        float[] f = a.castTo(DataType.FLOAT).reshape(a.length()).toFloatVector();
        int[] out = new int[f.length];
        for (int i = 0; i < f.length; i++) {
            out[i] = Float.floatToRawIntBits(f[i]);
        }
        return out;
    }

    @Test
    void blockwiseRoundTripIsBitExact() {
        for (DataType t : List.of(DataType.FLOAT, DataType.FLOAT16, DataType.BFLOAT16)) {
            roundTrip(t, false);
        }
        roundTrip(DataType.FLOAT, true);
    }

    /**
     * The restore of a shard created without its seeded draw: transfers the store answers in full
     * initialise nothing, and the rows of a transfer that misses some (a partial block, a lost block, a
     * never-written range) end bit for bit as a read into a usually created shard leaves them.
     */
    @Test
    void aReadIntoAnUninitialisedShardMatchesAReadIntoAnInitialisedOne() throws Exception {
        for (FcDtype dtype : List.of(FcDtype.FLOAT32, FcDtype.BFLOAT16)) {
            SplittableRandom rng = new SplittableRandom(SEED + 7 + dtype.ordinal());
            FcConfig cfg = FcConfig.builder().numClasses(40).embSize(DIM).margin(MarginConfig.arcface(0.5, 16))
                    .seed(SEED).build();
            try (ShardStore store = open(4);
                 Collective c = Collectives.join("inprocess", CollectiveConfig.builder()
                         .jobId("lazy-" + UUID.randomUUID()).timeout(Duration.ofSeconds(30)).build())) {
                ShardStoreRows rows = new ShardStoreRows(store, "lazy-" + dtype, 8L * DIM);
                // [0, 6) stored (the block [4, 8) only half), [6, 12) never, [12, 28) stored, then [20, 24) lost
                rows.write(0, 6, DIM, random(rng, 6 * DIM), random(rng, 6 * DIM), 3);
                rows.write(12, 28, DIM, random(rng, 16 * DIM), random(rng, 16 * DIM), 5);
                Files.delete(dir.resolve("lazy-" + dtype).resolve(String.format("block-%08d.fcb", 5)));
                PartialFc eager = PartialFc.create(cfg, c, 16, dtype, dtype);
                RowTransfer.Result want = RowTransfer.read(rows, 0, RowTransfer.Shard.of(eager));
                PartialFc lazy = PartialFc.createUninitialised(cfg, c, 16, dtype, dtype);
                List<FcRowStore.Range> drawn = new ArrayList<>();
                RowTransfer.Result got = RowTransfer.read(rows, 0, RowTransfer.Shard.of(lazy), (a, b) -> {
                    drawn.add(new FcRowStore.Range(a, b));
                    lazy.initialiseRows(a, b);
                });
                lazy.weightsChanged();
                // transfers of 8: [0, 8) misses 6..7, [8, 16) misses 8..11, [16, 24) misses 20..23, the rest
                assertEquals(List.of(new FcRowStore.Range(0, 8), new FcRowStore.Range(8, 16),
                        new FcRowStore.Range(16, 24), new FcRowStore.Range(24, 32), new FcRowStore.Range(32, 40)),
                        drawn, dtype + ": only the transfers that miss rows are drawn");
                assertEquals(want.missingRows(), got.missingRows());
                assertEquals(6 + 4 + 12, got.missingRows(), "6..12, 20..24 and 28..40");
                assertEquals(want.missing(), got.missing());
                assertEquals(want.minVersion(), got.minVersion());
                assertEquals(want.maxVersion(), got.maxVersion());
                assertArrayEquals(bits(eager.weights()), bits(lazy.weights()), dtype + " weights");
                assertArrayEquals(bits(eager.momentum()), bits(lazy.momentum()), dtype + " momentum");

                // once the store has every row, a restore draws nothing
                RowTransfer.write(rows, 0, RowTransfer.Shard.of(eager), 6);
                PartialFc full = PartialFc.createUninitialised(cfg, c, 16, dtype, dtype);
                RowTransfer.Result all = RowTransfer.read(rows, 0, RowTransfer.Shard.of(full), (a, b) -> {
                    throw new AssertionError("drew [" + a + ", " + b + ") though the store has every row");
                });
                full.weightsChanged();
                assertEquals(0, all.missingRows());
                assertEquals(5, all.calls(), "one call per transfer, none repeated");
                assertArrayEquals(bits(eager.weights()), bits(full.weights()), dtype + " weights, full store");
                eager.close();
                lazy.close();
                full.close();
            }
        }
    }

    @Test
    void anUnreachableStoreCountsItsClassesAsMissing() {
        FcRowStore down = new FcRowStore() {
            @Override
            public void write(int start, int end, int dim, float[] weights, float[] momentum, long version) {
                throw new ShardStoreException("no server node");
            }

            @Override
            public ReadResult read(int start, int end, int dim, float[] weights, float[] momentum) {
                throw new ShardStoreException("no server node");
            }

            @Override
            public int transferRows(int dim) {
                return 4;
            }
        };
        INDArray w = Nd4j.rand(DataType.FLOAT, 10, DIM);
        INDArray before = w.dup();
        RowTransfer.Result r = RowTransfer.read(down, 6, new RowTransfer.Shard(w, Nd4j.zeros(DataType.FLOAT, 10, DIM),
                null, null));
        assertEquals(10, r.missingRows());
        assertEquals(List.of(new FcRowStore.Range(6, 16)), r.missing());
        assertEquals(3, r.failedCalls(), "[6, 8) [8, 12) [12, 16)");
        assertEquals(before, w, "rows left as they were");
    }
}
