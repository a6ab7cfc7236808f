package org.plsc4j.elastic;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.IntPredicate;
import java.util.function.LongFunction;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;
import org.plsc4j.core.ClassLayout;
import org.plsc4j.core.TrainConfig;
import org.plsc4j.core.TrainConfigs;
import org.plsc4j.data.DatasetGenerator;
import org.plsc4j.data.GeneratorOptions;
import org.plsc4j.worker.Trainer;

/**
 * The elastic training loop against the single-worker result: membership changes at step
 * boundaries (a worker leaves, another joins) give exactly the loss curve of an uninterrupted
 * one-worker run, and a crashed worker's classes come back as of its last flush.
 */
class ElasticTrainerTest {

    @TempDir
    static Path dir;
    static Path data;

    @BeforeAll
    static void generate() throws Exception {
        data = dir.resolve("data");
        DatasetGenerator.generate(GeneratorOptions.of(data, 30, 10).withImageSize(16).withPairs(20).withSeed(7));
    }

    static TrainConfig config(Path save, int syncSteps) {
        return config(save, syncSteps, "dist_arcface");
    }

    static TrainConfig config(Path save, int syncSteps, String lossType) {
        Map<String, Object> m = TrainerInvarianceTest.tinyMlp(data, save, 2);
        m.put("shard_sync_steps", syncSteps);
        m.put("loss_type", lossType);
        return TrainConfigs.bind(TrainConfigs.merged(m), "test");
    }

    private static final LongFunction<IntPredicate> NEVER = g -> n -> false;

    /** Starts each worker's trainer on its own thread; returns the futures by worker id. */
    private static Map<String, Future<Trainer.Summary>> start(ExecutorService pool, ScriptedJob job, TrainConfig cfg,
                                                              Map<String, LongFunction<IntPredicate>> workers) {
        Map<String, Future<Trainer.Summary>> out = new LinkedHashMap<>();
        workers.forEach((w, hook) -> out.put(w, pool.submit(() -> new Trainer(cfg, job.member(w, hook), null, null,
                "elastic-run").train())));
        return out;
    }

    private static ExecutorService pool() {
        return Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "test-worker");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Also for PLSC's dist_softmax, whose bias travels through the shard store as a last column of the
     * rows (a leaving worker's classes, bias included, come back from the store).
     */
    @ParameterizedTest
    @ValueSource(strings = {"dist_arcface", "dist_softmax"})
    void leavingAndJoiningAtStepBoundariesGivesTheSingleWorkerCurve(String lossType) throws Exception {
        Trainer.Summary reference = ThreadRanks.run(config(dir.resolve("ref-" + lossType), 4, lossType), 1);
        ScriptedJob job = new ScriptedJob("leave-join-" + lossType);
        ExecutorService pool = pool();
        try {
            Map<String, LongFunction<IntPredicate>> hooks = new LinkedHashMap<>();
            // w0 drives the script: at boundary 7 of generation 1 w2 is dropped, at boundary 9 of
            // generation 2 w3 is added (a step boundary is where the ranks agree to change)
            hooks.put("w0", g -> n -> {
                if (g == 1 && n == 7) {
                    job.publish(List.of("w0", "w1"));
                } else if (g == 2 && n == 9) {
                    job.publish(List.of("w0", "w1", "w3"));
                }
                return false;
            });
            hooks.put("w1", NEVER);
            hooks.put("w2", NEVER);
            hooks.put("w3", NEVER);
            TrainConfig cfg = config(dir.resolve("leave-join-" + lossType), 4, lossType);
            Map<String, Future<Trainer.Summary>> fs = start(pool, job, cfg, hooks);
            job.publish(List.of("w0", "w1", "w2"));
            ExecutionException left = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                    () -> fs.get("w2").get(5, TimeUnit.MINUTES));
            assertInstanceOf(ScriptedJob.Gone.class, left.getCause());
            Trainer.Summary s0 = fs.get("w0").get(5, TimeUnit.MINUTES);
            Trainer.Summary s1 = fs.get("w1").get(5, TimeUnit.MINUTES);
            Trainer.Summary s3 = fs.get("w3").get(5, TimeUnit.MINUTES);
            assertEquals(3, job.current());
            TrainerInvarianceTest.assertSameCurve(reference.losses(), s0.losses(), "w0 over 3 generations vs 1 worker");
            TrainerInvarianceTest.assertSameCurve(reference.losses(), s1.losses(), "w1 vs 1 worker");
            assertEquals(6 + 8, s3.firstStep(), "w3 joined at global step 14");
            TrainerInvarianceTest.assertSameCurve(reference.losses().subList(14, reference.losses().size()),
                    s3.losses(), "w3 vs 1 worker");
            assertNotNull(s0.lastCheckpoint());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aCrashedWorkersClassesComeBackAsOfItsLastFlush() throws Exception {
        ScriptedJob job = new ScriptedJob("crash");
        ExecutorService pool = pool();
        int sync = 3;
        int crashAt = 11; // w2 crashes before step 10 (boundaries are counted from 1): last flush due at step 9
        try {
            Map<String, LongFunction<IntPredicate>> hooks = new LinkedHashMap<>();
            hooks.put("w0", NEVER);
            hooks.put("w1", NEVER);
            hooks.put("w2", g -> n -> g == 1 && n == crashAt);
            TrainConfig cfg = config(dir.resolve("crash"), sync);
            Map<String, Future<Trainer.Summary>> fs = start(pool, job, cfg, hooks);
            job.publish(List.of("w0", "w1", "w2"));
            ExecutionException crashed = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                    () -> fs.get("w2").get(5, TimeUnit.MINUTES));
            assertInstanceOf(ScriptedJob.Gone.class, crashed.getCause());
            // what the dead worker last wrote, taken before the survivors may read it
            ClassLayout three = ClassLayout.of(ClassLayout.Kind.BALANCED, 30, 3);
            int lo = three.start(2);
            int hi = three.end(2);
            // w2 flushed in the background after steps 3, 6 and 9; a flush that comes due while the
            // previous write still runs is skipped (a loaded machine can delay the write thread), so
            // its last stored flush is the one after step 9, or an earlier one: whichever it is, the
            // whole range has that one version and the restore must give exactly those rows
            long lastVersion = job.rows().version(lo);
            assertTrue(lastVersion > 0 && lastVersion <= 9 && lastVersion % sync == 0,
                    "w2's last flush: version " + lastVersion + " (expected: a multiple of 3 in [3, 9])");
            List<float[]> lastFlushed = new ArrayList<>();
            for (int c = lo; c < hi; c++) {
                lastFlushed.add(job.rows().weights(c));
                assertEquals(lastVersion, job.rows().version(c), "class " + c + ": w2's range is written in one flush");
            }
            int readsBefore = job.rows().reads.size();
            job.publish(List.of("w0", "w1"));
            Trainer.Summary s0 = fs.get("w0").get(5, TimeUnit.MINUTES);
            Trainer.Summary s1 = fs.get("w1").get(5, TimeUnit.MINUTES);
            assertEquals(s0.losses(), s1.losses());
            assertEquals(50, s0.losses().size(), "every step of 2 epochs ran once (the crashed step is redone)");
            // generation 2's reads: rank 0 and 1 of 2 over 30 classes; the dead worker's classes among them
            ClassLayout two = ClassLayout.of(ClassLayout.Kind.BALANCED, 30, 2);
            List<ScriptedJob.MemoryRows.Read> reads = job.rows().reads.subList(readsBefore, readsBefore + 2);
            int checked = 0;
            for (ScriptedJob.MemoryRows.Read r : reads) {
                assertTrue(r.start() == two.start(0) || r.start() == two.start(1), "read range " + r.start());
                for (int c = Math.max(lo, r.start()); c < Math.min(hi, r.end()); c++) {
                    float[] got = java.util.Arrays.copyOfRange(r.weights(), (c - r.start()) * 16, (c - r.start() + 1) * 16);
                    assertArrayEquals(lastFlushed.get(c - lo), got, "class " + c + " restored as last flushed");
                    checked++;
                }
            }
            assertEquals(hi - lo, checked, "all of the dead worker's classes were restored");
            // the loss goes on from where it was (re-initialised columns of a third of the classes would jump)
            double before = mean(s0.losses().subList(7, 10));
            double after = mean(s0.losses().subList(10, 13));
            assertTrue(after < before * 1.25, "loss after recovery " + after + " within noise of before " + before);
            assertFalse(Double.isNaN(after));
        } finally {
            pool.shutdownNow();
        }
    }

    private static double mean(List<Double> xs) {
        double s = 0;
        for (double x : xs) {
            s += x;
        }
        return s / xs.size();
    }
}
