package org.plsc4j.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntToLongFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.plsc4j.core.PartialFc;
import org.plsc4j.core.TestSeed;
import org.plsc4j.core.TrainConfig;
import org.plsc4j.core.TrainConfigs;
import org.plsc4j.core.collective.Collective;
import org.plsc4j.core.collective.CollectiveConfig;
import org.plsc4j.core.collective.CollectiveException;
import org.plsc4j.core.internal.InProcessCollective;
import org.plsc4j.data.Batch;

/**
 * A micro-batched step of a batch-norm model (the {@code small} CNN) against the per-micro-batch-BN
 * reference computed directly: each micro-batch's training forward, the FC step on all embeddings,
 * each micro-batch's backward, gradients summed by hand. Also: running statistics are folded in once
 * per micro-batch (not again in the recompute pass), the start-time memory check, and re-planning
 * at a generation change with an injected free-memory reading.
 */
@ExtendWith(TestSeed.class)
class TrainingStepMicroBatchTest {

    private static final int BATCH = 8;
    private static final int MICRO = 3;
    private static final int SIZE = 16;
    private static final int EMB = 8;
    private static final int CLASSES = 10;

    /** Records the gradients it is given instead of stepping. */
    private static final class Capture implements Optimizer {
        final Map<String, INDArray> grads = new LinkedHashMap<>();

        @Override
        public void step(Map<String, INDArray> params, Map<String, INDArray> g, double lr) {
            g.forEach((k, v) -> grads.put(k, v.dup()));
        }

        @Override
        public Map<String, INDArray> state() {
            return Map.of();
        }

        @Override
        public void loadState(Map<String, INDArray> state) {
        }
    }

    private static TrainConfig config(Integer micro) {
        return TrainConfigs.load(null, List.of("model_name=small", "train_batch_size=" + BATCH, "emb_size=" + EMB,
                "num_classes=" + CLASSES, "image_shape=[3, " + SIZE + ", " + SIZE + "]", "loss_type=dist_arcface",
                "scale=16", "micro_batch_size=" + (micro == null ? "null" : micro)));
    }

    private static Collective collective(String job) {
        return InProcessCollective.join(CollectiveConfig.builder().jobId(job).token("t").rank(0).worldSize(1)
                .timeout(Duration.ofSeconds(30)).build());
    }

    private static INDArray rows(INDArray a, int lo, int hi) {
        return a.rank() == 2 ? a.get(NDArrayIndex.interval(lo, hi), NDArrayIndex.all()).dup()
                : a.get(NDArrayIndex.interval(lo, hi), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all()).dup();
    }

    @Test
    void splitStepEqualsThePerMicroBatchReference() {
        SplittableRandom rng = new SplittableRandom(TestSeed.of("micro-bn"));
        TrainConfig cfg = config(MICRO);
        INDArray x = Tensors.gaussian(rng, DataType.FLOAT, 1.0, BATCH, 3, SIZE, SIZE);
        int[] labels = new int[BATCH];
        for (int i = 0; i < BATCH; i++) {
            labels[i] = rng.nextInt(CLASSES);
        }
        long step = 0;
        long seed = step * 1_000_003L; // TrainingStep's dropout seed of rank 0 (small has no dropout anyway)
        try (Collective c = collective("micro-" + rng.nextLong())) {
            PartialFc fc = PartialFc.create(cfg.fcConfig(), c);
            Generation g = new Generation(1, c, fc);

            // the reference, directly: forward each micro-batch, FC on all, backward each, sum
            Backbone ref = Backbones.create("small", BackboneConfig.of(EMB, 3, SIZE, SIZE, 5));
            INDArray emb = Nd4j.create(DataType.FLOAT, BATCH, EMB);
            int[][] chunks = {{0, 3}, {3, 6}, {6, 8}};
            for (int[] ch : chunks) {
                emb.get(NDArrayIndex.interval(ch[0], ch[1]), NDArrayIndex.all())
                        .assign(ref.forwardTrain(rows(x, ch[0], ch[1]), 0));
            }
            Map<String, INDArray> refState = new LinkedHashMap<>();
            ref.state().forEach((k, v) -> refState.put(k, v.dup()));
            PartialFc.StepResult r = fc.forwardBackward(emb, labels, step, false, 1.0);
            INDArray dEmb = r.featureGrad().dup();
            fc.discardUpdate();
            Map<String, INDArray> expected = new LinkedHashMap<>();
            ref.parameters().forEach((k, v) -> expected.put(k, Nd4j.zeros(v.dataType(), v.shape())));
            for (int[] ch : chunks) {
                ref.forwardTrain(rows(x, ch[0], ch[1]), 0); // its running statistics were snapshotted above
                ref.backward(rows(dEmb, ch[0], ch[1]));
                ref.gradients().forEach((k, v) -> expected.get(k).addi(v));
            }

            Backbone bb = Backbones.create("small", BackboneConfig.of(EMB, 3, SIZE, SIZE, 5));
            Capture opt = new Capture();
            TrainingStep ts = new TrainingStep(cfg, bb, opt, null);
            MicroBatchPlan plan = ts.plan(g, 1);
            assertEquals(MICRO, plan.size());
            assertEquals(3, plan.count());
            PartialFc.StepResult got = ts.run(g, new Batch(0, 0, x, labels, new int[BATCH], List.of()), 0, step, 0.1);
            assertEquals(r.loss(), got.loss(), 1e-5 * Math.abs(r.loss()));
            assertEquals(expected.keySet(), opt.grads.keySet());
            double scale = 0;
            for (INDArray e : expected.values()) {
                scale = Math.max(scale, e.amaxNumber().doubleValue());
            }
            for (Map.Entry<String, INDArray> e : expected.entrySet()) {
                double diff = e.getValue().sub(opt.grads.get(e.getKey())).amaxNumber().doubleValue();
                assertTrue(diff <= 1e-4 * scale, e.getKey() + ": max |diff| " + diff + " of " + scale);
            }
            // once per micro-batch: the recompute pass left the running statistics alone
            for (Map.Entry<String, INDArray> e : refState.entrySet()) {
                double diff = e.getValue().sub(bb.state().get(e.getKey())).amaxNumber().doubleValue();
                assertTrue(diff <= 1e-6 * Math.max(1, e.getValue().amaxNumber().doubleValue()), e.getKey() + ": " + diff);
            }
            // and the split step differs from an unsplit one (batch statistics over 8 images, not 3)
            Backbone whole = Backbones.create("small", BackboneConfig.of(EMB, 3, SIZE, SIZE, 5));
            INDArray wholeEmb = whole.forwardTrain(x, 0);
            assertTrue(wholeEmb.sub(emb).amaxNumber().doubleValue() > 1e-3, "BN statistics per micro-batch");
        }
    }

    @Test
    void planFailsAtStartWhenNotEvenOneImageFits() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> MicroBatchPlan.plan(64, null, 3L << 30, 2L << 30));
        assertEquals("train_batch_size : a training step of even one image needs about 3072 MiB of memory for the"
                + " backbone and only 2048 MiB is available to this worker (expected: more free memory, fewer workers"
                + " on this machine, a smaller image_shape or model_name)", e.getMessage());
        IllegalStateException m = assertThrows(IllegalStateException.class,
                () -> MicroBatchPlan.plan(64, 32, 100L << 20, 1L << 30));
        assertTrue(m.getMessage().startsWith("micro_batch_size : 32 (a training step of 32 images needs about 3200 MiB"),
                m.getMessage());
        assertTrue(m.getMessage().endsWith("expected: at most 8)"), m.getMessage());
        MicroBatchPlan auto = MicroBatchPlan.plan(64, null, 100L << 20, 1L << 30);
        assertEquals(8, auto.size()); // 0.8 x 1024 MiB / 100 MiB
        assertEquals(8, auto.count());
        assertEquals(64, MicroBatchPlan.plan(64, null, 1L << 20, 1L << 30).size());
        assertEquals(5, MicroBatchPlan.plan(64, 5, 1L << 20, -1).size());
        // chosen sizes split evenly: 123 of 128 fit (~106 MiB per image of 16 GiB), so 64 + 64, not 123 + 5
        MicroBatchPlan even = MicroBatchPlan.plan(128, null, 106L << 20, 16465L << 20);
        assertEquals(64, even.size());
        assertEquals(2, even.count());
        assertEquals(43, MicroBatchPlan.even(128, 50)); // 43 + 43 + 42
        assertEquals(26, MicroBatchPlan.even(128, 30)); // 5 micro-batches, the last of 24
        assertEquals(1, MicroBatchPlan.even(128, 1));
        assertEquals(7, MicroBatchPlan.even(7, 7));
        for (int local = 1; local <= 80; local++) {
            for (int largest = 1; largest <= local; largest++) {
                int size = MicroBatchPlan.even(local, largest);
                int count = (local + size - 1) / size;
                assertTrue(size <= largest && count == (local + largest - 1) / largest,
                        local + " images, at most " + largest + " per micro-batch: " + size);
            }
        }
    }

    /** Free-memory readings, one per plan, each room for the given number of images under the backbone's estimate. */
    private static IntToLongFunction readings(long perSample, int... images) {
        AtomicInteger next = new AtomicInteger();
        // 0.8 (MicroBatchPlan.USABLE) of k x 5/4 x perSample + 16 is k x perSample plus a few bytes
        return sharers -> images[next.getAndIncrement()] * perSample * 5 / 4 + 16;
    }

    @Test
    void laterGenerationKeepsItsPlanWhenFreeMemoryReadsShort() {
        SplittableRandom rng = new SplittableRandom(TestSeed.of("micro-replan"));
        TrainConfig cfg = config(null);
        Backbone bb = Backbones.create("small", BackboneConfig.of(EMB, 3, SIZE, SIZE, 5));
        long perSample = bb.trainingBytesPerSample();
        assertTrue(perSample > 64, "bytes per sample " + perSample);
        // generation 1: room for 3 of 8; 2: for none (the previous generation's buffers not yet
        // returned); 3: for 1; 4: for all 8
        TrainingStep ts = new TrainingStep(cfg, bb, new Capture(), null, readings(perSample, 3, 0, 1, 8));
        try (Collective c = collective("replan-" + rng.nextLong())) {
            PartialFc fc = PartialFc.create(cfg.fcConfig(), c);
            MicroBatchPlan first = ts.plan(new Generation(1, c, fc), 1);
            assertEquals(3, first.size());
            assertTrue(first.chosen());
            MicroBatchPlan shortOfAll = ts.plan(new Generation(2, c, fc), 1);
            assertEquals(3, shortOfAll.size(), "kept, not failed: " + shortOfAll);
            assertEquals(3, shortOfAll.count());
            MicroBatchPlan shortOfSome = ts.plan(new Generation(3, c, fc), 1);
            assertEquals(3, shortOfSome.size(), "kept, not shrunk: " + shortOfSome);
            // and the kept plan trains
            INDArray x = Tensors.gaussian(rng, DataType.FLOAT, 1.0, BATCH, 3, SIZE, SIZE);
            int[] labels = rng.ints(BATCH, 0, CLASSES).toArray();
            PartialFc.StepResult r = ts.run(new Generation(3, c, fc),
                    new Batch(0, 0, x, labels, new int[BATCH], List.of()), 0, 0, 0.1);
            assertTrue(Double.isFinite(r.loss()) && r.loss() > 0, "loss " + r.loss());
            MicroBatchPlan roomier = ts.plan(new Generation(4, c, fc), 1);
            assertEquals(BATCH, roomier.size(), "more memory, a larger size: " + roomier);
            assertFalse(roomier.split());
        }
        // the first plan of a process still fails, at start, with the numbers
        TrainingStep fresh = new TrainingStep(cfg, bb, new Capture(), null, readings(perSample, 0));
        try (Collective c = collective("replan-" + rng.nextLong())) {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> fresh.plan(new Generation(1, c, PartialFc.create(cfg.fcConfig(), c)), 1));
            assertTrue(e.getMessage().startsWith("train_batch_size : a training step of even one image needs about "),
                    e.getMessage());
        }
    }

    @Test
    void ranksAgreeOnASizeAndStopTogetherWhenOneCannotFitOneImage() throws Exception {
        SplittableRandom rng = new SplittableRandom(TestSeed.of("micro-ranks"));
        TrainConfig cfg = config(null); // 2 ranks: 4 local images each
        Backbone[] bbs = new Backbone[2];
        long[] perSample = new long[2];
        for (int r = 0; r < 2; r++) {
            bbs[r] = Backbones.create("small", BackboneConfig.of(EMB, 3, SIZE, SIZE, 5));
            perSample[r] = bbs[r].trainingBytesPerSample(); // measured one at a time, before the ranks start
        }
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            // rank 0 has room for 4 images, rank 1 for 2: both plan 2
            Object[] agreed = planTogether(pool, "ranks-" + rng.nextLong(), 1,
                    step(cfg, bbs[0], readings(perSample[0], 4)), step(cfg, bbs[1], readings(perSample[1], 2)));
            for (Object o : agreed) {
                assertEquals(2, ((MicroBatchPlan) o).size(), String.valueOf(o));
            }
            // the job's first generation, rank 1 has room for none: both fail now, neither waits in a
            // collective for the other
            Object[] failed = planTogether(pool, "ranks-" + rng.nextLong(), 1,
                    step(cfg, bbs[0], readings(perSample[0], 4)), step(cfg, bbs[1], readings(perSample[1], 0)));
            assertTrue(failed[0] instanceof IllegalStateException && ((Exception) failed[0]).getMessage()
                    .startsWith("train_batch_size : another worker of generation 1 cannot fit even one image"),
                    String.valueOf(failed[0]));
            assertTrue(failed[1] instanceof IllegalStateException && ((Exception) failed[1]).getMessage()
                    .startsWith("train_batch_size : a training step of even one image needs about "),
                    String.valueOf(failed[1]));
            // a later generation: rank 0 trained alone before (room for 8, then for none), a joiner has
            // room for none: the joiner fails, rank 0 (which would keep 4) only leaves the generation
            TrainingStep veteran = step(cfg, bbs[0], readings(perSample[0], 8, 0));
            try (Collective c = collective("ranks-" + rng.nextLong())) {
                assertEquals(BATCH, veteran.plan(new Generation(1, c, null), 1).size());
            }
            Object[] joined = planTogether(pool, "ranks-" + rng.nextLong(), 2,
                    veteran, step(cfg, bbs[1], readings(perSample[1], 0)));
            assertTrue(joined[0] instanceof CollectiveException, String.valueOf(joined[0]));
            assertTrue(joined[1] instanceof IllegalStateException && ((Exception) joined[1]).getMessage()
                    .startsWith("train_batch_size : a training step of even one image needs about "),
                    String.valueOf(joined[1]));
        } finally {
            pool.shutdownNow();
        }
    }

    private static TrainingStep step(TrainConfig cfg, Backbone bb, IntToLongFunction freeMemory) {
        return new TrainingStep(cfg, bb, new Capture(), null, freeMemory);
    }

    /** Each rank's plan of generation {@code number} of 2 ranks, on its own thread: the plan or the exception. */
    private static Object[] planTogether(ExecutorService pool, String job, long number, TrainingStep... steps)
            throws Exception {
        List<Future<Object>> futures = new java.util.ArrayList<>();
        for (int r = 0; r < 2; r++) {
            int rank = r;
            futures.add(pool.submit(() -> {
                try (Collective c = InProcessCollective.join(CollectiveConfig.builder().jobId(job).token("t")
                        .rank(rank).worldSize(2).timeout(Duration.ofSeconds(30)).build())) {
                    // planning reads only the group of the generation, not its FC
                    return steps[rank].plan(new Generation(number, c, null), 2);
                } catch (IllegalStateException | CollectiveException e) {
                    return e;
                }
            }));
        }
        Object[] out = new Object[2];
        for (int r = 0; r < 2; r++) {
            out[r] = futures.get(r).get(60, TimeUnit.SECONDS);
        }
        return out;
    }
}
