package org.plsc4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.checkpoint.Checkpoint;
import org.plsc4j.core.TrainConfig;
import org.plsc4j.core.TrainConfigs;
import org.plsc4j.data.DatasetGenerator;
import org.plsc4j.data.GeneratorOptions;

/**
 * Faults of a real multi-host cluster, on the {@link NetnsBed}: every role (3 ZooKeeper servers,
 * coordinators, workers) a separate process in its own network namespace with its own address, the
 * shard store an Ignite cluster across the worker hosts. Each test ends with the job finished and
 * the final checkpoint as the surviving schedule implies: every step of every epoch trained once
 * (a step is logged twice at most: the step in flight at a generation change), the last checkpoint
 * at the last step, covering every class, with the survivors' world size, every file's checksum
 * right; a lost worker's rows restored from the store (none missing, none at version 0). Then
 * exactly: the final checkpoint, read from the commit place, equals a one-rank replay of the
 * schedule the job ran ({@link #assertEqualsReplay}, {@link ScheduleReplay}).
 *
 * <p>No shared disk: each worker host has its own model_save_dir (see {@link BedCluster}); the job
 * runs with {@code shared_save_dir: false} and commits through {@code fs_dir_for_save}.
 *
 * <p>Skipped, naming the reason, where network namespaces cannot be made (not root, no iproute2).
 */
class MultiHostBedTest {

    static final int CLASSES = 48;
    static final int PER_CLASS = 6;
    static final int BATCH = 12;
    static final int EPOCHS = 2;
    static final int STEPS_PER_EPOCH = CLASSES * PER_CLASS / BATCH;
    static final int SYNC_STEPS = 2;
    static final long SESSION_MS = 4000;
    /** Generous: JVM, ND4J and Ignite starts of 8 processes on 2 cores (shared, on a developer machine). */
    static final Duration START = Duration.ofSeconds(300);
    static final Duration END = Duration.ofSeconds(420);

    /** Kept when a test fails: the roles' logs are in {@code <root>/<test>/logs}. */
    @TempDir(cleanup = CleanupMode.ON_SUCCESS)
    static Path root;
    static Path data;

    @BeforeAll
    static void bedAndData() throws Exception {
        Optional<String> why = NetnsBed.unavailableReason();
        Assumptions.assumeTrue(why.isEmpty(), () -> "multi-host bed skipped: " + why.orElseThrow());
        data = root.resolve("data");
        DatasetGenerator.generate(GeneratorOptions.of(data, CLASSES, PER_CLASS).withImageSize(16).withPairs(10)
                .withSeed(11));
    }

    static BedCluster cluster(String name, int maxWorkers, Map<String, Object> extra) throws Exception {
        return cluster(name, maxWorkers, EPOCHS, extra);
    }

    static BedCluster cluster(String name, int maxWorkers, int epochs, Map<String, Object> extra) throws Exception {
        Path dir = Files.createDirectories(root.resolve(name));
        Path save = dir.resolve("out");
        Path commit = dir.resolve("commit");
        Map<String, Object> keys = new TreeMap<>(Map.of("shard_store", "ignite", "shard_sync_steps", SYNC_STEPS,
                "zk_session_timeout_ms", SESSION_MS, "shared_save_dir", false, "fs_dir_for_save", commit));
        keys.putAll(extra);
        return BedCluster.start(dir, maxWorkers, epochs, BedCluster.yaml(data, save, CLASSES, epochs, keys), save,
                commit);
    }

    /** The coordinator on c1 and {@code n} workers on w1..wn; returns once the job exists. */
    static NetnsBed.Role startJob(BedCluster c, int min, int max, int n) throws Exception {
        NetnsBed.Role coord = c.startCoordinator("c1", min, max, 1000);
        c.awaitJobCreated(START);
        for (int i = 1; i <= n; i++) {
            c.startWorker("w" + i, SESSION_MS);
        }
        return coord;
    }

    // ---------------------------------------------------------------- faults

    @Test
    @Timeout(value = 12, unit = TimeUnit.MINUTES)
    void killMinus9OfAWorkerMidStep() throws Exception {
        try (BedCluster c = cluster("kill-worker", 3, Map.of());
             BedCluster.Metrics m = c.metrics()) {
            NetnsBed.Role coord = startJob(c, 2, 3, 3);
            m.await("a train event of world size 3 at step >= 6", e -> train(e) && e.get("world_size").asInt() == 3
                    && e.get("step").asLong() >= 6, START, c.bed);
            NetnsBed.Role victim = c.workers.get(2);
            Instant killed = Instant.now();
            victim.process().destroyForcibly();
            assertTrue(victim.process().waitFor(30, TimeUnit.SECONDS));
            assertEquals(137, victim.process().exitValue(), "killed by SIGKILL");

            finished(c, coord, List.of(c.workers.get(0), c.workers.get(1)));
            List<JsonNode> events = m.events();
            long gen = firstGeneration(events, 2);
            double recovery = recovery(events, gen, killed);
            report("kill -9 of a worker", recovery);
            restoredFromStore(events, gen);
            assertSurvivingSchedule(c, events, 2, victim);
        }
    }

    @Test
    @Timeout(value = 12, unit = TimeUnit.MINUTES)
    void killMinus9OfTheZooKeeperLeader() throws Exception {
        try (BedCluster c = cluster("kill-zk-leader", 3, Map.of());
             BedCluster.Metrics m = c.metrics()) {
            NetnsBed.Role coord = startJob(c, 3, 3, 3);
            JsonNode before = m.await("a train event at step >= 6", e -> train(e) && e.get("step").asLong() >= 6,
                    START, c.bed);
            String leader = null;
            for (String h : BedCluster.ZK_HOSTS) {
                if (c.zkMode(h).equals("leader")) {
                    leader = h;
                }
            }
            assertTrue(leader != null, "one ZooKeeper server leads" + c.bed.tails(10));
            NetnsBed.Role victim = c.zk.get(BedCluster.ZK_HOSTS.indexOf(leader));
            Instant killed = Instant.now();
            victim.process().destroyForcibly();
            assertTrue(victim.process().waitFor(30, TimeUnit.SECONDS));
            long step = before.get("step").asLong();
            JsonNode after = m.await("a train event after the kill", e -> train(e)
                    && Instant.parse(e.get("time").asText()).isAfter(killed), START, c.bed);
            // training may go on before the survivors' election has finished (the workers' sessions outlive
            // it): poll the survivors' mode until one leads, up to a minute (ZooKeeper's initLimit scale)
            String newLeader = null;
            long electionDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (newLeader == null && System.nanoTime() < electionDeadline) {
                for (String h : BedCluster.ZK_HOSTS) {
                    if (!h.equals(leader) && c.zkMode(h).equals("leader")) {
                        newLeader = h;
                    }
                }
                if (newLeader == null) {
                    Thread.sleep(250); // polling an external process's state, not synchronising with our own code
                }
            }
            assertTrue(newLeader != null, "another ZooKeeper server leads after " + leader + " died" + c.bed.tails(10));
            finished(c, coord, c.workers);
            List<JsonNode> events = m.events();
            double recovery = Duration.between(killed, Instant.parse(after.get("time").asText())).toMillis() / 1000.0;
            report("kill -9 of the ZooKeeper leader (" + leader + " -> " + newLeader + "; first step after the kill: "
                    + after.get("step").asLong() + ", step before: " + step + ")", recovery);
            assertEquals(1, generations(events), "losing the ZooKeeper leader changes no generation: " + events);
            assertSurvivingSchedule(c, events, 3, null);
        }
    }

    @Test
    @Timeout(value = 12, unit = TimeUnit.MINUTES)
    void killMinus9OfTheActiveCoordinatorTheStandbyTakesOver() throws Exception {
        try (BedCluster c = cluster("kill-coordinator", 3, Map.of());
             BedCluster.Metrics m = c.metrics()) {
            NetnsBed.Role active = startJob(c, 2, 3, 3);
            NetnsBed.Role standby = c.startCoordinator("c2", 2, 3, 1000); // same command, same token file
            c.awaitLog(standby, "job " + BedCluster.JOB + " zk ", START); // printed once it is in the election
            m.await("a train event of world size 3 at step >= 6", e -> train(e) && e.get("world_size").asInt() == 3
                    && e.get("step").asLong() >= 6, START, c.bed);
            active.process().destroyForcibly();
            assertTrue(active.process().waitFor(30, TimeUnit.SECONDS));
            assertEquals(137, active.process().exitValue(), "the active coordinator was killed");
            // a membership change only a coordinator can turn into a generation: the standby must
            NetnsBed.Role victim = c.workers.get(2);
            Instant killed = Instant.now();
            victim.process().destroyForcibly();
            assertTrue(victim.process().waitFor(30, TimeUnit.SECONDS));
            finished(c, standby, List.of(c.workers.get(0), c.workers.get(1)));
            List<JsonNode> events = m.events();
            long gen = firstGeneration(events, 2);
            report("kill -9 of the active coordinator, then of a worker (the standby publishes)",
                    recovery(events, gen, killed));
            restoredFromStore(events, gen);
            assertSurvivingSchedule(c, events, 2, victim);
        }
    }

    @Test
    @Timeout(value = 12, unit = TimeUnit.MINUTES)
    void aNetworkPartitionIsolatesOneWorkerHostThenHeals() throws Exception {
        try (BedCluster c = cluster("partition", 3, Map.of());
             BedCluster.Metrics m = c.metrics()) {
            NetnsBed.Role coord = startJob(c, 2, 3, 3);
            m.await("a train event of world size 3 at step >= 6", e -> train(e) && e.get("world_size").asInt() == 3
                    && e.get("step").asLong() >= 6, START, c.bed);
            Instant cut = Instant.now();
            c.bed.isolate("w3");
            JsonNode resumed = m.await("a train event of world size 2", e -> train(e)
                    && e.get("world_size").asInt() == 2, START, c.bed);
            c.bed.heal("w3");
            NetnsBed.Role isolated = c.workers.get(2);
            finished(c, coord, List.of(c.workers.get(0), c.workers.get(1)));
            List<JsonNode> events = m.events();
            // the design (WorkerRegistration): a registration does not survive the session's expiry and the
            // worker is not re-registered, so the isolated worker never joins a later generation; after the heal
            // it waits in join() until the job ends (or rendezvous_timeout passes) and exits 1 saying so. Its
            // rows, written to its own cut-off store node, must not reach the job: the exact check below
            assertTrue(isolated.process().waitFor(150, TimeUnit.SECONDS), "the isolated worker ends"
                    + NetnsBed.tail(isolated, 15));
            assertEquals(Main.EXIT_FAILURE, isolated.process().exitValue(), NetnsBed.tail(isolated, 15));
            String isolatedLog = Files.readString(isolated.log());
            assertTrue(isolatedLog.contains("of job " + BedCluster.JOB + ": the job finished")
                    || isolatedLog.contains("no generation includes it"), NetnsBed.tail(isolated, 15));
            long firstGen = events.stream().filter(e -> e.path("event").asText().equals("generation"))
                    .mapToLong(e -> e.get("generation").asLong()).min().orElseThrow();
            java.util.regex.Matcher joined = java.util.regex.Pattern.compile("is rank \\d+ of \\d+ in generation (\\d+)")
                    .matcher(isolatedLog);
            while (joined.find()) {
                assertEquals(firstGen, Long.parseLong(joined.group(1)), "the isolated worker joins no later generation");
            }
            long gen = firstGeneration(events, 2);
            report("network partition of a worker host (healed after the survivors resumed)",
                    Duration.between(cut, Instant.parse(resumed.get("time").asText())).toMillis() / 1000.0);
            restoredFromStore(events, gen);
            assertSurvivingSchedule(c, events, 2, isolated);
        }
    }

    @Test
    @Timeout(value = 12, unit = TimeUnit.MINUTES)
    void aSlowLinkChangesNoGeneration() throws Exception {
        try (BedCluster c = cluster("slow-link", 3, Map.of());
             BedCluster.Metrics m = c.metrics()) {
            NetnsBed.Role coord = startJob(c, 3, 3, 3);
            m.await("a train event at step >= 6", e -> train(e) && e.get("step").asLong() >= 6, START, c.bed);
            Instant slowed = Instant.now();
            String how = c.bed.slow("w2", 200, "512kbit");
            m.await("a train event 6 steps after the slow down", e -> train(e)
                    && Instant.parse(e.get("time").asText()).isAfter(slowed) && e.get("step").asLong() >= 12,
                    START, c.bed);
            c.bed.unslow("w2");
            Instant healed = Instant.now();
            finished(c, coord, c.workers);
            List<JsonNode> events = m.events();
            System.err.printf("BED SLOW LINK: %s on w2; median step %.3f s before, %.3f s while slow, %.3f s after%n",
                    how, medianStep(events, null, slowed), medianStep(events, slowed, healed),
                    medianStep(events, healed, null));
            assertEquals(1, generations(events), "a slow link is no failure: " + events);
            assertSurvivingSchedule(c, events, 3, null);
        }
    }

    @Test
    @Timeout(value = 12, unit = TimeUnit.MINUTES)
    void aWorkerJoinsLateScaleUpFromTwoToThree() throws Exception {
        // more epochs: the job must still run when the late worker's JVM has started
        try (BedCluster c = cluster("late-join", 3, 5, Map.of());
             BedCluster.Metrics m = c.metrics()) {
            NetnsBed.Role coord = startJob(c, 2, 3, 2);
            m.await("a train event of world size 2 at step >= 6", e -> train(e) && e.get("world_size").asInt() == 2
                    && e.get("step").asLong() >= 6, START, c.bed);
            Instant joined = Instant.now();
            c.startWorker("w3", SESSION_MS);
            finished(c, coord, c.workers);
            List<JsonNode> events = m.events();
            long gen = events.stream().filter(e -> e.path("event").asText().equals("generation")
                    && e.get("world_size").asInt() == 3).mapToLong(e -> e.get("generation").asLong()).findFirst()
                    .orElseThrow(() -> new AssertionError("no generation of 3 workers: " + events));
            report("a worker joins late (2 -> 3; includes its JVM start)", recovery(events, gen, joined));
            assertSurvivingSchedule(c, events, 3, null);
        }
    }

    // ---------------------------------------------------------------- checks

    static long generations(List<JsonNode> events) {
        return events.stream().filter(e -> e.path("event").asText().equals("generation")).count();
    }

    /** The median time between consecutive train events, both within [from, to) (null: open). */
    static double medianStep(List<JsonNode> events, Instant from, Instant to) {
        List<Double> gaps = new ArrayList<>();
        Instant prev = null;
        for (JsonNode e : events) {
            if (!train(e)) {
                continue;
            }
            Instant t = Instant.parse(e.get("time").asText());
            boolean in = (from == null || !t.isBefore(from)) && (to == null || t.isBefore(to));
            if (in && prev != null) {
                gaps.add(Duration.between(prev, t).toMillis() / 1000.0);
            }
            prev = in ? t : null;
        }
        gaps.sort(null);
        return gaps.isEmpty() ? Double.NaN : gaps.get(gaps.size() / 2);
    }

    // ---------------------------------------------------------------- checks

    static boolean train(JsonNode e) {
        return e.path("event").asText().equals("train");
    }

    /** The coordinator says finished (exit 0), and every surviving worker exits 0. */
    static void finished(BedCluster c, NetnsBed.Role coord, List<NetnsBed.Role> survivors) throws Exception {
        int code = c.awaitExit(coord, END);
        assertEquals(0, code, "coordinator exit" + c.bed.tails(25));
        String out = Files.readString(coord.log());
        assertTrue(out.contains("job " + BedCluster.JOB + " finished"), NetnsBed.tail(coord, 20));
        for (NetnsBed.Role w : survivors) {
            assertEquals(0, c.awaitExit(w, Duration.ofSeconds(60)), "worker exit" + NetnsBed.tail(w, 30));
        }
    }

    /** The number of the first generation of world size {@code worldSize} after one of a larger size. */
    static long firstGeneration(List<JsonNode> events, int worldSize) {
        boolean larger = false;
        for (JsonNode e : events) {
            if (e.path("event").asText().equals("generation")) {
                int ws = e.get("world_size").asInt();
                if (ws > worldSize) {
                    larger = true;
                } else if (larger && ws == worldSize) {
                    return e.get("generation").asLong();
                }
            }
        }
        throw new AssertionError("no generation of world size " + worldSize + " after a larger one: " + events);
    }

    /** Seconds from {@code fault} to the first train event of generation {@code gen}. */
    static double recovery(List<JsonNode> events, long gen, Instant fault) {
        boolean in = false;
        for (JsonNode e : events) {
            if (e.path("event").asText().equals("generation")) {
                in = e.get("generation").asLong() == gen;
            } else if (in && train(e)) {
                return Duration.between(fault, Instant.parse(e.get("time").asText())).toMillis() / 1000.0;
            }
        }
        throw new AssertionError("no train event in generation " + gen);
    }

    static void report(String fault, double seconds) {
        System.err.printf("BED RECOVERY: %s: %.2f s (zk_session_timeout_ms %d)%n", fault, seconds, SESSION_MS);
    }

    /** The restore of generation {@code gen} found every row, all flushed by training (version > 0). */
    static void restoredFromStore(List<JsonNode> events, long gen) {
        JsonNode restore = events.stream().filter(e -> e.path("event").asText().equals("restore")
                && e.get("generation").asLong() == gen).findFirst()
                .orElseThrow(() -> new AssertionError("no restore event of generation " + gen + ": " + events));
        assertEquals(0, restore.get("missing_rows").asInt(), restore.toString());
        assertTrue(restore.get("min_version").asLong() >= SYNC_STEPS,
                "the lost worker's rows come from its flushes, not re-initialised: " + restore);
    }

    /**
     * Every step 1..EPOCHS*STEPS_PER_EPOCH trained, none skipped, one logged twice at most per
     * generation change (the step in flight), and the last checkpoint at the last step, complete.
     */
    static void assertSurvivingSchedule(BedCluster c, List<JsonNode> events, int finalWorld, NetnsBed.Role lost)
            throws Exception {
        TreeMap<Long, Integer> seen = new TreeMap<>();
        long generations = events.stream().filter(e -> e.path("event").asText().equals("generation")).count();
        for (JsonNode e : events) {
            if (train(e)) {
                seen.merge(e.get("step").asLong(), 1, Integer::sum);
            }
        }
        long total = (long) c.epochs * STEPS_PER_EPOCH;
        List<Long> expected = new ArrayList<>();
        for (long s = seen.firstKey(); s < seen.firstKey() + total; s++) {
            expected.add(s);
        }
        assertEquals(expected, new ArrayList<>(seen.keySet()), "every step once, none skipped");
        long repeats = seen.values().stream().filter(n -> n > 1).count();
        assertTrue(seen.values().stream().allMatch(n -> n <= 2) && repeats <= generations - 1,
                "a step repeats only as the step in flight of a generation change: " + seen);
        Checkpoint last = Checkpoint.open(c.commit.resolve(Integer.toString(c.epochs - 1)));
        assertEquals(c.epochs - 1, last.epoch());
        assertEquals(seen.firstKey() + total, last.step(), "the last checkpoint is after the last step");
        assertEquals(CLASSES, last.numClasses());
        assertEquals(finalWorld, last.layout().worldSize());
        last.verifyAll();
        // no shared disk: every epoch committed at fs_dir_for_save, none left in a host's own model_save_dir
        for (int e = 0; e < c.epochs; e++) {
            assertTrue(Files.exists(c.commit.resolve(e + "/manifest.json")), "epoch " + e + " committed");
            for (Path h : c.workerSaves(c.maxWorkers)) {
                assertTrue(!Files.exists(h.resolve(Integer.toString(e))), "no local checkpoint " + e + " in " + h);
            }
        }
        List<JsonNode> ck = events.stream().filter(e -> e.path("event").asText().equals("checkpoint")).toList();
        assertTrue(!ck.isEmpty() && ck.stream().allMatch(e -> e.path("remote").asBoolean()),
                "checkpoint events name the remote commit: " + ck);
        assertEqualsReplay(c, events, lost);
    }

    // ---------------------------------------------------------------- the exact check

    /** Replays already run, by epochs and schedule (the no-fault-loss tests share theirs). */
    static final Map<String, ScheduleReplay.Result> REPLAYS = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * The schedule the bed ran, from metrics.jsonl: one change per generation after the first, at
     * the step its restore resumed from; the first after {@code lost} died restores the classes
     * {@code lost} owned (from its log: "is rank R of W in generation G (classes [a, b))") as of the
     * restore's min_version, the others as of the resume step ({@link #assertEqualsReplay} varies the
     * lost rank's version and the step in flight from there).
     */
    static List<ScheduleReplay.Change> schedule(List<JsonNode> events, NetnsBed.Role lost) throws Exception {
        List<ScheduleReplay.Change> out = new ArrayList<>();
        long first = -1;
        boolean lossSeen = false;
        for (JsonNode e : events) {
            if (!e.path("event").asText().equals("generation")) {
                continue;
            }
            long g = e.get("generation").asLong();
            if (first < 0) {
                first = g;
                continue;
            }
            JsonNode r = events.stream().filter(x -> x.path("event").asText().equals("restore")
                    && x.get("generation").asLong() == g).findFirst()
                    .orElseThrow(() -> new AssertionError("no restore event of generation " + g));
            long k = r.get("step").asLong();
            if (lost != null && !lossSeen) {
                lossSeen = true;
                int[] range = classesBefore(lost, g);
                out.add(new ScheduleReplay.Change(k, range[0], range[1], r.get("min_version").asLong(), false));
            } else {
                out.add(ScheduleReplay.Change.clean(k));
            }
        }
        return out;
    }

    /** The classes {@code role} owned in its last generation before {@code g}, from its log. */
    static int[] classesBefore(NetnsBed.Role role, long g) throws Exception {
        java.util.regex.Pattern p = java.util.regex.Pattern.compile(
                "is rank \\d+ of \\d+ in generation (\\d+) \\(classes \\[(\\d+), (\\d+)\\)\\)");
        int[] found = null;
        for (String line : Files.readAllLines(role.log())) {
            java.util.regex.Matcher m = p.matcher(line);
            if (m.find() && Long.parseLong(m.group(1)) < g) {
                found = new int[] {Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3))};
            }
        }
        assertTrue(found != null, "no generation before " + g + " in " + NetnsBed.tail(role, 30));
        return found;
    }

    static ScheduleReplay.Result replay(BedCluster c, List<ScheduleReplay.Change> changes) throws Exception {
        String key = c.epochs + " " + changes;
        ScheduleReplay.Result done = REPLAYS.get(key);
        if (done != null) {
            return done;
        }
        List<ScheduleReplay.History> sources = new ArrayList<>();
        for (int i = 0; i < changes.size(); i++) {
            // the run without this change: the same rows up to its step (and the step after, for the step in flight)
            sources.add(replay(c, changes.subList(0, i)).history());
        }
        Path ref = Files.createDirectories(root.resolve("replays").resolve("r" + REPLAYS.size()));
        TrainConfig cfg = TrainConfigs.load(c.yaml, List.of("model_save_dir=" + ref, "shared_save_dir=true",
                "fs_dir_for_save=null", "shard_sync_steps=1", "shard_store=local"));
        long t0 = System.nanoTime();
        ScheduleReplay.Result r = null;
        for (int attempt = 1; r == null; attempt++) {
            try {
                r = ScheduleReplay.run(cfg, changes, sources, "replay-" + REPLAYS.size() + "-" + attempt);
            } catch (RuntimeException e) {
                // a background flush of the replay was skipped (its previous one still ran): that version is
                // not in its history; the skip is a matter of timing, so run it again (twice at most)
                // (the trainer reports the store's failed read as missing rows: the replay's store has every row
                // of every version it was given, so a missing row can only be such a version)
                String why = null;
                for (Throwable t = e; t != null; t = t.getCause()) {
                    if (t instanceof org.plsc4j.worker.MissingRowsException || (t.getMessage() != null
                            && t.getMessage().startsWith("replay: no version"))) {
                        why = t.getMessage();
                    }
                }
                if (attempt == 5 || why == null) {
                    throw e;
                }
                System.err.println("BED REPLAY: again (" + why + ")");
                ref = Files.createDirectories(root.resolve("replays").resolve("r" + REPLAYS.size() + "-" + attempt));
                cfg = TrainConfigs.load(c.yaml, List.of("model_save_dir=" + ref, "shared_save_dir=true",
                        "fs_dir_for_save=null", "shard_sync_steps=1", "shard_store=local"));
            }
        }
        System.err.printf("BED REPLAY: %s in %.1f s%n", changes, (System.nanoTime() - t0) / 1e9);
        REPLAYS.put(key, r);
        return r;
    }

    /**
     * The bed's final checkpoint, read from the commit place ({@code fs_dir_for_save}), equals the
     * one-rank replay of the schedule it ran (backbone and FC weights, within the tolerance of the
     * world-size invariance tests: max |diff| <= 1e-4 max(1e-3, max |x|)), and no class row is at
     * its initial value (every class has samples in every epoch).
     *
     * <p>Why several candidate replays after a lost rank: what the bed's store held for the lost
     * rank's classes is its last flush that landed, and the store's versions are per block (a block
     * spans several ranks' classes here, so the restore's min_version is the block's last writer, a
     * survivor), so the test tries the lost rank's last flush (the largest multiple of
     * {@code shard_sync_steps} at or below the resume step, or the one before, if it died while
     * writing) and the survivors' rows as of the resume step or, the documented step in flight, of
     * the step after (the failed step's FC update had reached them and is applied again when the
     * step is redone). Exactly one kind of schedule is accepted: the design's.
     */
    static void assertEqualsReplay(BedCluster c, List<JsonNode> events, NetnsBed.Role lost) throws Exception {
        List<ScheduleReplay.Change> changes = schedule(events, lost);
        Checkpoint bed = Checkpoint.open(c.commit.resolve(Integer.toString(c.epochs - 1)));
        List<List<ScheduleReplay.Change>> candidates = new ArrayList<>();
        candidates.add(changes);
        for (int i = 0; i < changes.size(); i++) {
            ScheduleReplay.Change ch = changes.get(i);
            if (ch.lostEnd() <= ch.lostStart()) {
                continue;
            }
            List<List<ScheduleReplay.Change>> more = new ArrayList<>();
            long flushed = ch.step() / SYNC_STEPS * SYNC_STEPS;
            for (boolean inFlight : List.of(false, true)) {
                for (long v : new java.util.LinkedHashSet<>(List.of(flushed, Math.max(0, flushed - SYNC_STEPS),
                        ch.lostVersion()))) {
                    for (List<ScheduleReplay.Change> base : candidates) {
                        List<ScheduleReplay.Change> cs = new ArrayList<>(base);
                        cs.set(i, new ScheduleReplay.Change(ch.step(), ch.lostStart(), ch.lostEnd(), v, inFlight));
                        more.add(cs);
                    }
                }
            }
            candidates = more;
        }
        List<String> tried = new ArrayList<>();
        ScheduleReplay.Result matched = null;
        for (List<ScheduleReplay.Change> cs : candidates) {
            ScheduleReplay.Result r = replay(c, cs);
            String diff = difference(Checkpoint.open(r.lastCheckpoint()), bed);
            if (diff == null) {
                matched = r;
                System.err.println("BED EXACT: final checkpoint equals the replay of " + cs);
                break;
            }
            tried.add(cs + ": " + diff);
        }
        assertTrue(matched != null, "the final checkpoint equals no replay of the schedule run: " + tried);
        INDArray w = bed.readFcWeights(0, CLASSES);
        for (int k = 0; k < CLASSES; k++) {
            float[] initial = matched.history().weights(k, 0);
            assertTrue(initial != null, "class " + k + " stored at version 0");
            double moved = Nd4j.createFromArray(initial).reshape(1, initial.length).sub(w.getRow(k, true))
                    .amaxNumber().doubleValue();
            assertTrue(moved > 1e-6, "class " + k + " trained (its row moved " + moved + " from its initial value)");
        }
    }

    /** Null when equal within the tolerance, else what differs. */
    static String difference(Checkpoint expected, Checkpoint actual) throws Exception {
        List<String> out = new ArrayList<>();
        Map<String, INDArray> eb = expected.readBackbone();
        Map<String, INDArray> ab = actual.readBackbone();
        if (!eb.keySet().equals(ab.keySet())) {
            return "backbone arrays " + ab.keySet() + " (expected " + eb.keySet() + ")";
        }
        eb.forEach((name, e) -> close(e, ab.get(name), "backbone " + name, out));
        close(expected.readFcWeights(0, CLASSES), actual.readFcWeights(0, CLASSES), "FC weights", out);
        if (expected.step() != actual.step()) {
            out.add("step " + actual.step() + " (expected " + expected.step() + ")");
        }
        return out.isEmpty() ? null : String.join("; ", out);
    }

    static void close(INDArray e, INDArray a, String what, List<String> out) {
        double scale = Math.max(1e-3, e.amaxNumber().doubleValue());
        double diff = e.castTo(a.dataType()).sub(a).amaxNumber().doubleValue();
        if (!(diff <= 1e-4 * scale)) {
            out.add(what + ": max |diff| " + diff + " (scale " + scale + ")");
        }
    }
}
