package org.plsc4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.NoSuchElementException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.plsc4j.core.TestSeed;

@ExtendWith(TestSeed.class)
class BatchLoaderTest {

    private static final int N = 40;
    private static final int SIZE = 6;

    @TempDir
    Path dir;

    /** 40 PNGs, sample i red = 5·i and green = a left-to-right ramp (so a flip shows), label i % 7; {@code bad} is corrupt. */
    private Dataset dataset(int bad, boolean skip) throws IOException {
        Files.createDirectories(dir.resolve("images"));
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < N; i++) {
            int tag = 5 * i;
            byte[] png = TestImages.encode(TestImages.rgb(SIZE, SIZE, (x, y) -> tag << 16 | (x * 40) << 8 | y * 9), "png");
            Files.write(dir.resolve("images/" + i + ".png"), i == bad ? new byte[] {1, 2, 3} : png);
            lines.add("images/" + i + ".png " + i % 7);
        }
        Files.write(dir.resolve("label.txt"), lines);
        return Dataset.open(DatasetConfig.strict(dir, DatasetFormat.LABEL_TXT, 7, ImageShape.square(SIZE))
                .withSkipBadSamples(skip));
    }

    @Test
    void returnsExactlyThePlannedSamplesInOrder() throws IOException {
        long seed = TestSeed.of("loader");
        try (Dataset ds = dataset(-1, false)) {
            GlobalBatchPlan plan = new GlobalBatchPlan(N, 8, 2, seed);
            for (int rank = 0; rank < 2; rank++) {
                try (BatchLoader loader = new BatchLoader(ds, plan, new LoaderConfig(rank,
                        new GlobalBatchPlan.Position(0, 0), 2, true, 2, 2))) {
                    int count = 0;
                    for (int epoch = 0; epoch < 2; epoch++) {
                        int[] order = plan.epochOrder(epoch);
                        for (int step = 0; step < plan.stepsPerEpoch(); step++) {
                            assertTrue(loader.hasNext());
                            Batch b = loader.next();
                            assertBatch(ds, plan, b, epoch, step, plan.rankBatch(order, step, rank));
                            count++;
                        }
                    }
                    assertFalse(loader.hasNext());
                    assertThrows(NoSuchElementException.class, loader::next);
                    assertEquals(10, count);
                }
            }
        }
    }

    private static void assertBatch(Dataset ds, GlobalBatchPlan plan, Batch b, int epoch, int step, int[] planned) {
        assertEquals(epoch, b.epoch());
        assertEquals(step, b.step());
        assertArrayEquals(planned, b.indices());
        assertArrayEquals(new long[] {planned.length, 3, SIZE, SIZE}, b.images().shape());
        float[] all = b.images().data().asFloat();
        int per = 3 * SIZE * SIZE;
        for (int row = 0; row < planned.length; row++) {
            int i = planned[row];
            assertEquals(ds.label(i), b.labels()[row]);
            float[] want = ds.read(i, ImagePreprocessor.flip(plan.seed(), epoch, i));
            float[] got = java.util.Arrays.copyOfRange(all, row * per, (row + 1) * per);
            assertArrayEquals(want, got, 0f, "epoch " + epoch + " step " + step + " row " + row);
            assertEquals(TestImages.norm(5 * i), got[0], 0f);
        }
        assertTrue(b.badSamples().isEmpty());
    }

    @Test
    void resumesMidEpoch() throws IOException {
        try (Dataset ds = dataset(-1, false)) {
            GlobalBatchPlan plan = new GlobalBatchPlan(N, 4, 1, 7);
            GlobalBatchPlan.Position start = plan.position(13); // epoch 1, step 3
            try (BatchLoader loader = new BatchLoader(ds, plan, new LoaderConfig(0, start, 2, false, 1, 1))) {
                int[] order = plan.epochOrder(1);
                for (int step = 3; step < 10; step++) {
                    Batch b = loader.next();
                    assertEquals(1, b.epoch());
                    assertEquals(step, b.step());
                    assertArrayEquals(plan.rankBatch(order, step, 0), b.indices());
                }
                assertFalse(loader.hasNext());
            }
        }
    }

    @Test
    void workerFailureReachesTheConsumerWithItsMessage() throws IOException {
        try (Dataset ds = dataset(17, false)) {
            GlobalBatchPlan plan = new GlobalBatchPlan(N, 8, 1, 3);
            try (BatchLoader loader = new BatchLoader(ds, plan, LoaderConfig.of(0, 1))) {
                DataLoadingException e = assertThrows(DataLoadingException.class, () -> {
                    while (loader.hasNext()) {
                        loader.next();
                    }
                });
                BadDataException cause = assertInstanceOf(BadDataException.class, e.getCause());
                assertEquals(cause.getMessage(), e.getMessage());
                assertTrue(e.getMessage().startsWith(dir.resolve("label.txt") + ":18 [images/17.png]: image : 3 bytes"),
                        e.getMessage());
                assertFalse(loader.hasNext(), "the loader stops after a failure");
            }
        }
    }

    @Test
    void skipModeMarksUnreadableRowsInsteadOfSubstituting() throws IOException {
        try (Dataset ds = dataset(17, true)) {
            GlobalBatchPlan plan = new GlobalBatchPlan(N, 40, 1, 3);
            try (BatchLoader loader = new BatchLoader(ds, plan, LoaderConfig.of(0, 1))) {
                Batch b = loader.next();
                int row = -1;
                for (int r = 0; r < 40; r++) {
                    if (b.indices()[r] == 17) {
                        row = r;
                    } else {
                        assertEquals(ds.label(b.indices()[r]), b.labels()[r]);
                    }
                }
                assertEquals(Batch.IGNORED, b.labels()[row]);
                assertEquals(0.0, b.images().get(org.nd4j.linalg.indexing.NDArrayIndex.point(row)).norm2Number().doubleValue(), 0);
                assertEquals(1, b.badSamples().size());
                assertTrue(b.badSamples().get(0).contains("images/17.png"));
                assertEquals(1, loader.readFailures().count());
            }
        }
    }

    @Test
    void closeIsIdempotentAndStopsNamedDaemonThreads() throws IOException {
        try (Dataset ds = dataset(-1, false)) {
            GlobalBatchPlan plan = new GlobalBatchPlan(N, 4, 1, 3);
            BatchLoader loader = new BatchLoader(ds, plan, new LoaderConfig(0, new GlobalBatchPlan.Position(0, 0), 50, true, 2, 2));
            loader.next(); // the threads exist and the queue is filling
            List<Thread> threads = Thread.getAllStackTraces().keySet().stream()
                    .filter(t -> t.getName().startsWith("plsc4j-loader-") && t.isAlive()).toList();
            assertTrue(threads.size() >= 2, "loader and decode threads: " + threads);
            assertTrue(threads.stream().allMatch(Thread::isDaemon));
            loader.close();
            loader.close();
            for (Thread t : threads) {
                assertFalse(t.isAlive(), t.getName() + " still alive after close");
            }
            assertThrows(IllegalStateException.class, loader::next);
        }
    }

    @Test
    void interruptedConsumerKeepsItsFlag() throws IOException {
        try (Dataset ds = dataset(-1, false);
             BatchLoader loader = new BatchLoader(ds, new GlobalBatchPlan(N, 4, 1, 3), LoaderConfig.of(0, 1))) {
            Thread.currentThread().interrupt();
            assertThrows(DataLoadingException.class, loader::next);
            assertTrue(Thread.interrupted(), "interrupt flag restored");
        }
    }

    @Test
    void configMistakesAreNamed() throws IOException {
        try (Dataset ds = dataset(-1, false)) {
            assertEquals("rank : 2 (expected: < world_size = 2)", assertThrows(IllegalArgumentException.class,
                    () -> new BatchLoader(ds, new GlobalBatchPlan(N, 4, 2, 0), LoaderConfig.of(2, 1))).getMessage());
            assertEquals("plan size : 39 (expected: dataset size 40)", assertThrows(IllegalArgumentException.class,
                    () -> new BatchLoader(ds, new GlobalBatchPlan(39, 4, 1, 0), LoaderConfig.of(0, 1))).getMessage());
        }
    }
}
