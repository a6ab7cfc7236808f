package org.plsc4j.elastic;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
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
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.plsc4j.core.ClassLayout;
import org.plsc4j.core.TrainConfig;
import org.plsc4j.core.TrainConfigs;
import org.plsc4j.data.DatasetGenerator;
import org.plsc4j.data.GeneratorOptions;
import org.plsc4j.worker.MissingRowsException;
import org.plsc4j.worker.Trainer;

/**
 * How an elastic job's FC rows travel through the shard store: in bounded blocks (a shard larger
 * than one transfer comes back exactly), in half precision, and never silently reset when trained
 * rows are lost ({@code allow_missing_rows}).
 */
class ElasticRowsTest {

    @TempDir
    static Path dir;
    static Path data;

    private static final LongFunction<IntPredicate> NEVER = g -> n -> false;
    private static final int TRANSFER = 4;

    @BeforeAll
    static void generate() throws Exception {
        data = dir.resolve("data");
        DatasetGenerator.generate(GeneratorOptions.of(data, 30, 10).withImageSize(16).withPairs(20).withSeed(7));
    }

    static TrainConfig config(Path save, int syncSteps, String... extra) {
        Map<String, Object> m = TrainerInvarianceTest.tinyMlp(data, save, 2);
        m.put("shard_sync_steps", syncSteps);
        m.put("loss_type", "dist_arcface");
        for (String kv : extra) {
            String[] p = kv.split("=", 2);
            m.put(p[0], p[1]);
        }
        return TrainConfigs.bind(TrainConfigs.merged(m), "test");
    }

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
     * A worker leaves and another joins while the store moves at most 4 of a rank's 10-15 classes
     * per call: the curve is the single-worker one (float32, and float16 / bfloat16 storage against
     * the single-worker run of the same storage), and no call moved a whole shard.
     */
    @ParameterizedTest
    @CsvSource({"float32", "float16", "bfloat16"})
    void blockwiseReshardGivesTheSingleWorkerCurve(String dtype) throws Exception {
        Trainer.Summary reference = ThreadRanks.run(config(dir.resolve("ref-" + dtype), 4, "fc_dtype=" + dtype), 1);
        ScriptedJob job = new ScriptedJob("blocks-" + dtype, TRANSFER);
        ExecutorService pool = pool();
        try {
            Map<String, LongFunction<IntPredicate>> hooks = new LinkedHashMap<>();
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
            Map<String, Future<Trainer.Summary>> fs = start(pool, job,
                    config(dir.resolve("blocks-" + dtype), 4, "fc_dtype=" + dtype), hooks);
            job.publish(List.of("w0", "w1", "w2"));
            ExecutionException left = assertThrows(ExecutionException.class, () -> fs.get("w2").get(5, TimeUnit.MINUTES));
            assertInstanceOf(ScriptedJob.Gone.class, left.getCause());
            Trainer.Summary s0 = fs.get("w0").get(5, TimeUnit.MINUTES);
            Trainer.Summary s3 = fs.get("w3").get(5, TimeUnit.MINUTES);
            TrainerInvarianceTest.assertSameCurve(reference.losses(), s0.losses(), dtype + ": w0 over 3 generations");
            TrainerInvarianceTest.assertSameCurve(reference.losses().subList(14, reference.losses().size()),
                    s3.losses(), dtype + ": w3, joined at step 14");
            assertTrue(job.rows().largestCall() <= TRANSFER, "largest store call " + job.rows().largestCall()
                    + " classes (expected: <= " + TRANSFER + ")");
            // every generation start reads all 30 classes, 4 per call at most, aligned to multiples of 4
            assertTrue(job.rows().reads.size() >= 2 * (30 / TRANSFER), "reads " + job.rows().reads.size());
            for (ScriptedJob.MemoryRows.Read r : job.rows().reads) {
                assertEquals(r.start() / TRANSFER, (r.end() - 1) / TRANSFER, "read " + r.start() + ".." + r.end()
                        + " within one aligned transfer");
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /** A crash, then the store loses some of the dead worker's trained rows before the next generation reads them. */
    private Map<String, Future<Trainer.Summary>> crashAndLose(ExecutorService pool, ScriptedJob job, TrainConfig cfg,
                                                              int crashAt, int lostFrom, int lostTo) throws Exception {
        Map<String, LongFunction<IntPredicate>> hooks = new LinkedHashMap<>();
        hooks.put("w0", NEVER);
        hooks.put("w1", NEVER);
        hooks.put("w2", g -> n -> g == 1 && n == crashAt);
        Map<String, Future<Trainer.Summary>> fs = start(pool, job, cfg, hooks);
        job.publish(List.of("w0", "w1", "w2"));
        ExecutionException crashed = assertThrows(ExecutionException.class, () -> fs.get("w2").get(5, TimeUnit.MINUTES));
        assertInstanceOf(ScriptedJob.Gone.class, crashed.getCause());
        for (int c = lostFrom; c < lostTo; c++) {
            assertTrue(job.rows().weights(c) != null, "class " + c + " was stored before it is lost");
        }
        job.rows().lose(lostFrom, lostTo);
        job.publish(List.of("w0", "w1"));
        return fs;
    }

    @Test
    void lostTrainedRowsStopTheJobNamingTheClassesAndTheStore() throws Exception {
        ClassLayout three = ClassLayout.of(ClassLayout.Kind.BALANCED, 30, 3);
        int lo = three.start(2);
        ScriptedJob job = new ScriptedJob("lost", TRANSFER);
        ExecutorService pool = pool();
        try {
            Map<String, Future<Trainer.Summary>> fs = crashAndLose(pool, job, config(dir.resolve("lost"), 3), 11, lo,
                    lo + 3);
            for (String w : List.of("w0", "w1")) {
                ExecutionException e = assertThrows(ExecutionException.class, () -> fs.get(w).get(5, TimeUnit.MINUTES));
                MissingRowsException m = assertInstanceOf(MissingRowsException.class, e.getCause(), w);
                assertEquals(3, m.missingRows(), w);
                assertEquals("[[" + lo + ", " + (lo + 3) + ")]", m.classes().toString(), w);
                assertTrue(m.getMessage().startsWith("allow_missing_rows : false (generation 2 cannot read 3 trained"
                        + " rows from the in-memory test store: classes [" + lo + ", " + (lo + 3) + ");"), m.getMessage());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void allowMissingRowsContinuesAndCountsThemInMetrics() throws Exception {
        ClassLayout three = ClassLayout.of(ClassLayout.Kind.BALANCED, 30, 3);
        int lo = three.start(2);
        ScriptedJob job = new ScriptedJob("allowed", TRANSFER);
        ExecutorService pool = pool();
        Path save = dir.resolve("allowed");
        try {
            Map<String, Future<Trainer.Summary>> fs = crashAndLose(pool, job,
                    config(save, 3, "allow_missing_rows=true"), 11, lo, lo + 3);
            Trainer.Summary s0 = fs.get("w0").get(5, TimeUnit.MINUTES);
            Trainer.Summary s1 = fs.get("w1").get(5, TimeUnit.MINUTES);
            assertEquals(s0.losses(), s1.losses());
            assertEquals(50, s0.losses().size());
            assertEquals(List.of(3), restoreMissingRows(save), "restore events' missing_rows (generation 2)");
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * A survivor of a failure whose own write then fails (the partition that cut it off took its store
     * node along) goes on to the next generation: its classes come back as of its last completed write,
     * as a dead rank's do, and the job finishes.
     */
    @Test
    void aSurvivorWhoseFinalWriteFailsGoesOnFromItsLastFlush() throws Exception {
        ClassLayout three = ClassLayout.of(ClassLayout.Kind.BALANCED, 30, 3);
        int lo = three.start(1);
        int hi = three.end(1);
        ScriptedJob job = new ScriptedJob("refused", TRANSFER);
        ExecutorService pool = pool();
        Path save = dir.resolve("refused");
        try {
            Map<String, LongFunction<IntPredicate>> hooks = new LinkedHashMap<>();
            hooks.put("w0", NEVER);
            hooks.put("w1", NEVER);
            hooks.put("w2", g -> n -> {
                if (g == 1 && n == 11) {
                    job.rows().refuseWritesUntilRead(lo, hi); // w1's rows, from now until generation 2 reads
                    return true;
                }
                return false;
            });
            Map<String, Future<Trainer.Summary>> fs = start(pool, job, config(save, 3), hooks);
            job.publish(List.of("w0", "w1", "w2"));
            ExecutionException crashed = assertThrows(ExecutionException.class, () -> fs.get("w2").get(5, TimeUnit.MINUTES));
            assertInstanceOf(ScriptedJob.Gone.class, crashed.getCause());
            job.publish(List.of("w0", "w1"));
            Trainer.Summary s0 = fs.get("w0").get(5, TimeUnit.MINUTES);
            Trainer.Summary s1 = fs.get("w1").get(5, TimeUnit.MINUTES);
            assertTrue(job.rows().refused >= 1, "w1's final write of generation 1 was refused");
            assertEquals(s0.losses(), s1.losses());
            assertEquals(50, s0.losses().size());
            assertEquals(List.of(0), restoreMissingRows(save), "w1's classes were stored before: none missing");
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * Rows lost before any step trained them hold their initial values: the next generation
     * restores them silently from the seed, and the curve is exactly the single-worker one.
     */
    @Test
    void rowsLostBeforeAnyStepAreRestoredSilently() throws Exception {
        Trainer.Summary reference = ThreadRanks.run(config(dir.resolve("ref-untrained"), 3), 1);
        ClassLayout three = ClassLayout.of(ClassLayout.Kind.BALANCED, 30, 3);
        int lo = three.start(2);
        ScriptedJob job = new ScriptedJob("untrained", TRANSFER);
        ExecutorService pool = pool();
        Path save = dir.resolve("untrained");
        try {
            Map<String, Future<Trainer.Summary>> fs = crashAndLose(pool, job, config(save, 3), 1, lo, lo + 3);
            Trainer.Summary s0 = fs.get("w0").get(5, TimeUnit.MINUTES);
            TrainerInvarianceTest.assertSameCurve(reference.losses(), s0.losses(), "w0 after untrained rows were lost");
            assertEquals(List.of(3), restoreMissingRows(save));
        } finally {
            pool.shutdownNow();
        }
    }

    /** The restored rows of a shard larger than one transfer are exactly the dead worker's last flush. */
    @Test
    void blockwiseRestoreIsExactToTheBit() throws Exception {
        ScriptedJob job = new ScriptedJob("exact", TRANSFER);
        ExecutorService pool = pool();
        try {
            Map<String, LongFunction<IntPredicate>> hooks = new LinkedHashMap<>();
            hooks.put("w0", NEVER);
            hooks.put("w1", NEVER);
            hooks.put("w2", g -> n -> g == 1 && n == 11);
            Map<String, Future<Trainer.Summary>> fs = start(pool, job, config(dir.resolve("exact"), 3), hooks);
            job.publish(List.of("w0", "w1", "w2"));
            assertThrows(ExecutionException.class, () -> fs.get("w2").get(5, TimeUnit.MINUTES));
            ClassLayout three = ClassLayout.of(ClassLayout.Kind.BALANCED, 30, 3);
            List<float[]> lastFlushed = new ArrayList<>();
            for (int c = three.start(2); c < three.end(2); c++) {
                lastFlushed.add(job.rows().weights(c));
            }
            int readsBefore = job.rows().reads.size();
            job.publish(List.of("w0", "w1"));
            fs.get("w0").get(5, TimeUnit.MINUTES);
            fs.get("w1").get(5, TimeUnit.MINUTES);
            // generation 2 read [0, 15) and [15, 30) in aligned transfers of 4: 4 + 5 calls
            List<ScriptedJob.MemoryRows.Read> reads = job.rows().reads.subList(readsBefore, readsBefore + 9);
            int checked = 0;
            for (ScriptedJob.MemoryRows.Read r : reads) {
                assertTrue(r.end() - r.start() <= TRANSFER, "read " + r.start() + ".." + r.end());
                for (int c = Math.max(three.start(2), r.start()); c < Math.min(three.end(2), r.end()); c++) {
                    float[] got = java.util.Arrays.copyOfRange(r.weights(), (c - r.start()) * 16,
                            (c - r.start() + 1) * 16);
                    float[] want = lastFlushed.get(c - three.start(2));
                    int[] gotBits = new int[16];
                    int[] wantBits = new int[16];
                    for (int d = 0; d < 16; d++) {
                        gotBits[d] = Float.floatToRawIntBits(got[d]);
                        wantBits[d] = Float.floatToRawIntBits(want[d]);
                    }
                    assertArrayEquals(wantBits, gotBits, "class " + c);
                    checked++;
                }
            }
            assertEquals(three.end(2) - three.start(2), checked);
        } finally {
            pool.shutdownNow();
        }
    }

    /** The missing_rows of every restore event in model_save_dir/metrics.jsonl, in order. */
    static List<Integer> restoreMissingRows(Path save) throws Exception {
        ObjectMapper json = new ObjectMapper();
        List<Integer> out = new ArrayList<>();
        for (String line : Files.readAllLines(save.resolve("metrics.jsonl"))) {
            JsonNode n = json.readTree(line);
            if ("restore".equals(n.path("event").asText())) {
                out.add(n.get("missing_rows").asInt());
            }
        }
        return out;
    }
}
