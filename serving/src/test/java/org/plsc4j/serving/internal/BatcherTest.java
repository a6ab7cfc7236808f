package org.plsc4j.serving.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.plsc4j.core.TestSeed;

/**
 * The batcher with a fake forward pass (row i = the image's floats times 2): each request gets its
 * own rows whatever it was batched with, batches never exceed max-batch, oversize requests are
 * chunked, a failed forward fails only its requests, close fails what is queued.
 */
@ExtendWith(TestSeed.class)
class BatcherTest {

    private static final int PER = 3;

    private final List<Integer> batchSizes = Collections.synchronizedList(new ArrayList<>());

    private float[][] fake(float[] chw, int n) {
        batchSizes.add(n);
        float[][] out = new float[n][PER];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < PER; j++) {
                out[i][j] = chw[i * PER + j] * 2;
            }
        }
        return out;
    }

    @Test
    void everyRequestGetsItsOwnRowsAndBatchesStayWithinMaxBatch() throws Exception {
        SplittableRandom rng = new SplittableRandom(TestSeed.of("batcher"));
        int maxBatch = 8;
        // a forward pass that waits for the test, so that requests pile up behind it and get merged
        CountDownLatch release = new CountDownLatch(1);
        Batcher.Forward gated = (chw, n) -> {
            try {
                release.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return fake(chw, n);
        };
        ServingMetrics metrics = new ServingMetrics();
        try (Batcher b = new Batcher(gated, PER, maxBatch, TimeUnit.MILLISECONDS.toNanos(1), metrics)) {
            b.start();
            List<float[]> inputs = new ArrayList<>();
            List<CompletableFuture<float[][]>> results = new ArrayList<>();
            for (int r = 0; r < 40; r++) {
                int n = rng.nextInt(1, 12); // some over max-batch: chunked
                float[] chw = new float[n * PER];
                for (int i = 0; i < chw.length; i++) {
                    chw[i] = (float) rng.nextGaussian();
                }
                inputs.add(chw);
                results.add(b.submit(chw, n));
            }
            release.countDown();
            for (int r = 0; r < inputs.size(); r++) {
                float[][] rows = results.get(r).get(30, TimeUnit.SECONDS);
                float[] chw = inputs.get(r);
                assertEquals(chw.length / PER, rows.length);
                for (int i = 0; i < rows.length; i++) {
                    for (int j = 0; j < PER; j++) {
                        assertEquals(chw[i * PER + j] * 2, rows[i][j], "request " + r + " row " + i);
                    }
                }
            }
        }
        assertTrue(batchSizes.stream().allMatch(s -> s <= maxBatch), batchSizes.toString());
        String text = metrics.render();
        assertTrue(sample(text, "plsc4j_serving_batch_requests_count") > sample(text, "plsc4j_serving_batch_requests_bucket{le=\"1.0\"}"),
                "requests queued behind a running pass were never merged: " + batchSizes + "\n" + text);
        assertEquals(batchSizes.size(), (int) sample(text, "plsc4j_serving_batch_images_count"));
    }

    @Test
    void aFailedForwardFailsItsRequestsAndTheNextOnesSucceed() throws Exception {
        boolean[] fail = {true};
        Batcher.Forward f = (chw, n) -> {
            if (fail[0]) {
                fail[0] = false;
                throw new IllegalArgumentException("boom");
            }
            return fake(chw, n);
        };
        try (Batcher b = new Batcher(f, PER, 4, 0, new ServingMetrics())) {
            b.start();
            ExecutionException e = assertThrows(ExecutionException.class,
                    () -> b.submit(new float[PER], 1).get(30, TimeUnit.SECONDS));
            assertInstanceOf(IllegalArgumentException.class, e.getCause());
            assertArrayEquals(new float[] {2, 4, 6}, b.submit(new float[] {1, 2, 3}, 1).get(30, TimeUnit.SECONDS)[0]);
        }
    }

    @Test
    void closeFailsQueuedRequestsAndLaterSubmissions() throws Exception {
        CountDownLatch inForward = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Batcher.Forward blocking = (chw, n) -> {
            inForward.countDown();
            try {
                release.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return fake(chw, n);
        };
        Batcher b = new Batcher(blocking, PER, 1, 0, new ServingMetrics());
        b.start();
        CompletableFuture<float[][]> running = b.submit(new float[PER], 1);
        assertTrue(inForward.await(30, TimeUnit.SECONDS));
        CompletableFuture<float[][]> queued = b.submit(new float[PER], 1);
        // close() while the pass is under way: it marks the batcher closed, then interrupts the worker,
        // which ends the blocked pass (the fake returns its rows). Releasing the pass before close()
        // would race: the worker could take the queued request before the state changes
        b.close();
        release.countDown();
        b.close();
        assertEquals(1, running.get(30, TimeUnit.SECONDS).length); // the pass under way finishes
        ExecutionException e = assertThrows(ExecutionException.class, () -> queued.get(30, TimeUnit.SECONDS));
        assertInstanceOf(IllegalStateException.class, e.getCause());
        assertTrue(b.submit(new float[PER], 1).isCompletedExceptionally());
    }

    @Test
    void invalidSubmissionsFailTheirFuture() {
        try (Batcher b = new Batcher(this::fake, PER, 4, 0, new ServingMetrics())) {
            b.start();
            assertTrue(b.submit(new float[PER + 1], 1).isCompletedExceptionally());
            assertTrue(b.submit(new float[0], 0).isCompletedExceptionally());
        }
        assertThrows(IllegalArgumentException.class, () -> new Batcher(this::fake, PER, 0, 0, new ServingMetrics()));
    }

    private static double sample(String text, String name) {
        for (String line : text.split("\n")) {
            if (line.startsWith(name + " ")) {
                return Double.parseDouble(line.substring(name.length() + 1));
            }
        }
        throw new AssertionError(name + " not in\n" + text);
    }
}
