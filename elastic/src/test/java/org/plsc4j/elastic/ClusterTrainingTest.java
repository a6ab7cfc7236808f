package org.plsc4j.elastic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.plsc4j.checkpoint.Checkpoint;
import org.plsc4j.coordinator.JobStatus;
import org.plsc4j.coordinator.JobStore;
import org.plsc4j.core.TestSeed;
import org.plsc4j.core.TrainConfig;
import org.plsc4j.core.TrainConfigs;
import org.plsc4j.data.DatasetGenerator;
import org.plsc4j.data.GeneratorOptions;
import org.plsc4j.worker.MetricsFollower;

/**
 * The elastic job as it runs on a cluster, on one machine: real worker JVMs started by the
 * {@link LocalLauncher}, a real embedded ZooKeeper on 127.0.0.1, kill -9 of a worker mid-epoch, a
 * worker joining, too few workers, and max_restarts exhausted. Every wait is event driven (a
 * WatchService on model_save_dir re-reading metrics.jsonl, a Curator cache on the job status) and
 * bounded by a timeout.
 */
@ExtendWith(TestSeed.class)
class ClusterTrainingTest {

    private static final int CLASSES = 60;
    private static final int PER_CLASS = 8;
    private static final int SYNC_STEPS = 2;
    private static final int SESSION_TIMEOUT_MS = 4000;
    private static final Duration WAIT = Duration.ofSeconds(90);

    @TempDir
    static Path dir;
    static Path data;

    @BeforeAll
    static void generate() throws Exception {
        data = dir.resolve("data");
        DatasetGenerator.generate(GeneratorOptions.of(data, CLASSES, PER_CLASS).withImageSize(16).withPairs(20)
                .withSeed(TestSeed.of("cluster-data")));
    }

    static TrainConfig config(Path save, int epochs, Map<String, Object> extra) {
        return configFor(data, save, CLASSES, epochs, extra, TestSeed.of("cluster-seed"));
    }

    /** The tiny mlp job of these tests on {@code data} ({@code classes} classes), as the dashboard test runs it too. */
    static TrainConfig configFor(Path data, Path save, int classes, int epochs, Map<String, Object> extra, long seed) {
        Map<String, Object> m = new HashMap<>(Map.ofEntries(
                Map.entry("dataset_dir", data.toString()),
                Map.entry("model_save_dir", save.toString()),
                Map.entry("num_classes", classes),
                Map.entry("emb_size", 16),
                Map.entry("image_shape", List.of(3, 16, 16)),
                Map.entry("model_name", "mlp"),
                Map.entry("train_batch_size", 12),
                Map.entry("train_epochs", epochs),
                Map.entry("lr", 0.05),
                Map.entry("scale_lr_by_batch", false),
                Map.entry("lr_steps", List.of(100000)),
                Map.entry("loss_type", "dist_arcface"),
                Map.entry("scale", 16.0),
                Map.entry("with_test", false),
                Map.entry("log_period", 1),
                Map.entry("shard_sync_steps", SYNC_STEPS),
                Map.entry("zk_session_timeout_ms", SESSION_TIMEOUT_MS),
                Map.entry("rendezvous_timeout", 120),
                Map.entry("seed", (int) (seed & 0x7fff))));
        m.putAll(extra);
        return TrainConfigs.bind(TrainConfigs.merged(m), "test");
    }

    // ---------------------------------------------------------------- tests

    @Test
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void killMinus9MidEpochTheJobFinishesWithTheSurvivors() throws Exception {
        Path save = dir.resolve("kill");
        Files.createDirectories(save);
        TrainConfig cfg = config(save, 3, Map.of("min_workers", 2, "max_workers", 3));
        try (MetricsWatch metrics = new MetricsWatch(save); LocalLauncher.Job job = LocalLauncher.start(cfg, 3, null, null)) {
            JsonNode at = metrics.await("a train event with step >= 6",
                    e -> isEvent(e, "train") && e.get("step").asLong() >= 6, WAIT);
            Process victim = job.workers().get(2);
            Instant killed = Instant.now();
            victim.destroyForcibly();
            assertTrue(victim.waitFor(30, TimeUnit.SECONDS), "the killed worker exits");
            System.err.println("killed worker 2 (exit " + victim.exitValue() + ") after train event " + at);
            assertTrue(victim.exitValue() >= 128, "killed by a signal: " + victim.exitValue());

            job.await();

            List<JsonNode> events = metrics.events();
            int g3 = indexOf(events, e -> isEvent(e, "generation") && e.get("world_size").asInt() == 3, 0);
            assertTrue(g3 >= 0, "a generation with world size 3: " + events);
            int g2 = indexOf(events, e -> isEvent(e, "generation") && e.get("world_size").asInt() == 2, g3);
            assertTrue(g2 > g3, "a generation with world size 2 after the one with 3");
            long gen3 = events.get(g3).get("generation").asLong();
            long gen2 = events.get(g2).get("generation").asLong();
            assertTrue(gen2 > gen3, "generation numbers " + gen3 + " then " + gen2);
            int stepsPerEpoch = CLASSES * PER_CLASS / 12;
            assertEquals(0, events.get(g2).get("epoch").asInt(), "the kill was mid epoch 0: " + events.get(g2));
            assertTrue(events.get(g2).get("step").asLong() < stepsPerEpoch, events.get(g2).toString());

            JsonNode restore = events.stream().filter(e -> isEvent(e, "restore")
                    && e.get("generation").asLong() == gen2).findFirst().orElse(null);
            assertNotNull(restore, "a restore event of generation " + gen2);
            System.err.println("restore of generation " + gen2 + ": " + restore);
            assertEquals(0, restore.get("missing_rows").asInt(), restore.toString());
            assertTrue(restore.get("min_version").asLong() >= SYNC_STEPS,
                    "the dead worker's rows come from its flushes, not re-initialised (version 0): " + restore);

            // loss: the 3 train events before the generation change against the 3 right after it
            List<JsonNode> before = new ArrayList<>();
            for (int i = g2 - 1; i >= 0 && before.size() < 3; i--) {
                if (isEvent(events.get(i), "train") && events.get(i).get("world_size").asInt() == 3) {
                    before.add(events.get(i));
                }
            }
            List<JsonNode> after = new ArrayList<>();
            for (int i = g2 + 1; i < events.size() && after.size() < 3; i++) {
                if (isEvent(events.get(i), "train")) {
                    after.add(events.get(i));
                }
            }
            assertEquals(3, before.size(), "3 train events before the kill");
            assertEquals(3, after.size(), "3 train events after the new generation");
            after.forEach(e -> assertEquals(2, e.get("world_size").asInt(), e.toString()));
            double lossBefore = before.stream().mapToDouble(e -> e.get("loss").asDouble()).average().orElseThrow();
            double lossAfter = after.stream().mapToDouble(e -> e.get("loss").asDouble()).average().orElseThrow();
            System.err.printf("loss: mean of 3 before the kill %.4f, mean of 3 after generation %d: %.4f (ratio %.3f)%n",
                    lossBefore, gen2, lossAfter, lossAfter / lossBefore);
            assertTrue(lossAfter < 1.5 * lossBefore, "loss " + lossBefore + " -> " + lossAfter
                    + " (the survivors resumed from the flushed rows and the broadcast state)");

            Instant resumed = Instant.parse(after.get(0).get("time").asText());
            double failover = Duration.between(killed, resumed).toMillis() / 1000.0;
            System.err.printf("FAILOVER: kill -9 -> first train event of generation %d: %.2f s"
                    + " (zk_session_timeout_ms %d, settle %s)%n", gen2, failover, SESSION_TIMEOUT_MS,
                    JobCoordinator.DEFAULT_SETTLE);
            assertTrue(failover > 0, "resumed after the kill: " + failover);

            Checkpoint last = lastCheckpoint(save, 3);
            assertEquals(2, last.layout().worldSize());
            assertEquals(CLASSES, last.numClasses());
            last.verifyAll();
        }
    }

    @Test
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void aThirdWorkerJoinsAndTrainingContinuesOnThree() throws Exception {
        Path save = dir.resolve("join");
        Files.createDirectories(save);
        int epochs = 4;
        TrainConfig cfg = config(save, epochs, Map.of("min_workers", 2, "max_workers", 3));
        try (MetricsWatch metrics = new MetricsWatch(save); LocalLauncher.Job job = LocalLauncher.start(cfg, 2, null, null)) {
            JsonNode at = metrics.await("a train event with step >= 4",
                    e -> isEvent(e, "train") && e.get("step").asLong() >= 4, WAIT);
            Instant joined = Instant.now();
            job.addWorker();
            System.err.println("started a third worker after train event " + at);
            JsonNode g3 = metrics.await("a generation with world size 3",
                    e -> isEvent(e, "generation") && e.get("world_size").asInt() == 3, WAIT);
            System.err.printf("JOIN: third worker started -> generation of 3: %.2f s%n",
                    Duration.between(joined, Instant.parse(g3.get("time").asText())).toMillis() / 1000.0);

            job.await();

            List<JsonNode> events = metrics.events();
            int i2 = indexOf(events, e -> isEvent(e, "generation") && e.get("world_size").asInt() == 2, 0);
            int i3 = indexOf(events, e -> isEvent(e, "generation") && e.get("world_size").asInt() == 3, Math.max(i2, 0));
            assertTrue(i2 >= 0 && i3 > i2, "a generation of 2, then one of 3: " + events);
            assertTrue(events.get(i3).get("generation").asLong() > events.get(i2).get("generation").asLong());
            assertTrue(events.subList(i3, events.size()).stream()
                    .anyMatch(e -> isEvent(e, "train") && e.get("world_size").asInt() == 3), "trained on three");
            Checkpoint last = lastCheckpoint(save, epochs);
            assertEquals(3, last.layout().worldSize());
            assertEquals(CLASSES, last.numClasses());
            last.verifyAll();
        }
    }

    @Test
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void belowMinWorkersTheJobWaitsAndSaysWhy() throws Exception {
        Path save = dir.resolve("below-min");
        Files.createDirectories(save);
        TrainConfig cfg = config(save, 2, Map.of("min_workers", 3, "max_workers", 3, "rendezvous_timeout", 6));
        try (LocalLauncher.Job job = LocalLauncher.start(cfg, 2, null, null)) {
            JobStore store = job.coordinator().store();
            JobStatus waiting = awaitStatus(store, s -> s.state().equals(JobStatus.WAITING) && s.registered() == 2,
                    Duration.ofSeconds(60));
            System.err.println("status while below min_workers: " + waiting);
            assertTrue(waiting.message().contains("waiting for 1 more workers"), waiting.message());
            assertTrue(waiting.message().contains("min 3"), waiting.message());

            IllegalStateException e = assertThrows(IllegalStateException.class, job::await);
            System.err.println("job.await(): " + e.getMessage());
            assertTrue(e.getMessage().contains("min 3"), e.getMessage());
            assertTrue(e.getMessage().contains("waiting for 1 more workers"), e.getMessage());
            assertTrue(Files.notExists(save.resolve("0")), "no checkpoint: nothing trained");
        }
    }

    @Test
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void maxRestartsExhaustedStopsWithAValidLastCheckpoint() throws Exception {
        Path save = dir.resolve("max-restarts");
        Files.createDirectories(save);
        TrainConfig cfg = config(save, 4, Map.of("min_workers", 1, "max_workers", 3, "max_restarts", 0));
        try (MetricsWatch metrics = new MetricsWatch(save); LocalLauncher.Job job = LocalLauncher.start(cfg, 3, null, null)) {
            JsonNode ck = metrics.await("a checkpoint event", e -> isEvent(e, "checkpoint"), WAIT);
            Process victim = job.workers().get(2);
            victim.destroyForcibly();
            assertTrue(victim.waitFor(30, TimeUnit.SECONDS), "the killed worker exits");
            System.err.println("killed worker 2 after " + ck);

            IllegalStateException e = assertThrows(IllegalStateException.class, job::await);
            System.err.println("job.await(): " + e.getMessage());
            assertTrue(e.getMessage().contains("max_restarts"), e.getMessage());
            Optional<JobStatus> end = job.coordinator().awaitEnd(Duration.ofSeconds(10));
            assertTrue(end.isPresent() && end.get().isFailed(), "coordinator status: " + end);
            assertTrue(end.get().message().contains("max_restarts : 0 exhausted"), end.get().message());

            assertEquals(0, ck.get("epoch").asInt(), ck.toString());
            Checkpoint epoch0 = Checkpoint.open(save.resolve("0"));
            assertEquals(3, epoch0.layout().worldSize());
            assertEquals(CLASSES, epoch0.numClasses());
            assertEquals(ck.get("step").asLong(), epoch0.step());
            epoch0.verifyAll();
        }
    }

    // ---------------------------------------------------------------- helpers

    static boolean isEvent(JsonNode e, String name) {
        return e.path("event").asText().equals(name);
    }

    static int indexOf(List<JsonNode> events, Predicate<JsonNode> p, int from) {
        for (int i = Math.max(0, from); i < events.size(); i++) {
            if (p.test(events.get(i))) {
                return i;
            }
        }
        return -1;
    }

    /** The checkpoint of the last epoch, which must exist. */
    static Checkpoint lastCheckpoint(Path save, int epochs) throws IOException {
        Path last = save.resolve(Integer.toString(epochs - 1));
        assertTrue(Files.isDirectory(last), "the last epoch's checkpoint " + last);
        return Checkpoint.open(last);
    }

    /**
     * Waits for a job status matching {@code p}: a Curator cache on the status node wakes the waiter
     * on every change.
     */
    static JobStatus awaitStatus(JobStore store, Predicate<JobStatus> p, Duration timeout) throws InterruptedException {
        Object lock = new Object();
        JobStatus[] seen = new JobStatus[1];
        try (CuratorCache cache = CuratorCache.build(store.client(), store.paths().status(),
                CuratorCache.Options.SINGLE_NODE_CACHE)) {
            Runnable wake = () -> {
                synchronized (lock) {
                    lock.notifyAll();
                }
            };
            cache.listenable().addListener(CuratorCacheListener.builder()
                    .forCreatesAndChanges((before, after) -> wake.run()).forInitialized(wake).build());
            cache.start();
            long deadline = System.nanoTime() + timeout.toNanos();
            synchronized (lock) {
                while (true) {
                    Optional<JobStatus> s = store.readStatus();
                    if (s.isPresent()) {
                        seen[0] = s.get();
                        if (p.test(s.get())) {
                            return s.get();
                        }
                    }
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        fail("no matching job status within " + timeout + "; last: " + seen[0]);
                    }
                    TimeUnit.NANOSECONDS.timedWait(lock, left);
                }
            }
        }
    }

    /** metrics.jsonl as it grows ({@link MetricsFollower}); a wait that times out fails the test. */
    static final class MetricsWatch implements AutoCloseable {
        private final MetricsFollower follower;

        MetricsWatch(Path saveDir) throws IOException {
            this.follower = new MetricsFollower(saveDir);
        }

        List<JsonNode> events() throws IOException {
            return follower.events();
        }

        /** The first event matching {@code p}; fails after {@code timeout}. */
        JsonNode await(String what, Predicate<JsonNode> p, Duration timeout) throws IOException, InterruptedException {
            return follower.await(p, timeout).orElseGet(() -> fail("no " + what + " in " + follower.files()
                    + " within " + timeout));
        }

        @Override
        public void close() throws IOException {
            follower.close();
        }
    }
}
