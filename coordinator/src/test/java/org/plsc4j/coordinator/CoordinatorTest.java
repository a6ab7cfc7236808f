package org.plsc4j.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.test.KillSession;
import org.junit.jupiter.api.Test;
import org.plsc4j.coordinator.internal.Json;
import org.plsc4j.core.ClassLayout;

class CoordinatorTest extends ZkJobTest {

    private static void assertCoversEveryClassOnce(Generation g) {
        int[] owners = new int[g.numClasses()];
        for (RankAssignment a : g.ranks()) {
            for (int c = a.classStart(); c < a.classEnd(); c++) {
                owners[c]++;
            }
        }
        for (int c = 0; c < owners.length; c++) {
            assertEquals(1, owners[c], "class " + c + " owners in generation " + g.number());
        }
        ClassLayout layout = g.classLayout();
        for (RankAssignment a : g.ranks()) {
            assertEquals(layout.start(a.rank()), a.classStart());
            assertEquals(layout.end(a.rank()), a.classEnd());
        }
    }

    @Test
    void registrationIsEphemeralAndVanishesWithTheSession() throws Exception {
        coordinator(admin, JobSpec.fixed(job, 10, 5), "c1");
        Worker a = worker(7001);
        Worker b = worker(7002, Duration.ofSeconds(1)); // its expiry is detected by the server after ~1 s
        assertTrue(a.registration().sequence() < b.registration().sequence());
        JobStore store = new JobStore(admin, job);
        List<RegisteredWorker> reg = store.registeredWorkers();
        assertEquals(List.of(a.id(), b.id()), reg.stream().map(RegisteredWorker::workerId).toList());
        assertEquals(new WorkerInfo("127.0.0.1", 7001, 7101, "cpu"), reg.get(0).info());
        String json = new String(admin.getData().forPath(a.registration().path()), StandardCharsets.UTF_8);
        assertTrue(json.contains("\"host\":\"127.0.0.1\"") && json.contains("\"device\":\"cpu\""), json);

        a.client().close(); // clean close ends the session at once
        Await.gone(admin, a.registration().path());
        // session expiry: the client is told its session expired (curator-test's KillSession), the server
        // drops the session, and with it the node, once the session timeout passes without the client
        KillSession.kill(b.client().getZookeeperClient().getZooKeeper());
        Await.gone(admin, b.registration().path());
        assertFalse(b.registration().isRegistered());
        assertEquals(List.of(), store.registeredWorkers());
        CoordinatorException e = assertThrows(CoordinatorException.class,
                () -> WorkerRegistration.register(admin, "no-such-job", new WorkerInfo("h", 1, 1, "cpu")));
        assertTrue(e.getMessage().contains("job no-such-job does not exist"), e.getMessage());
    }

    @Test
    void publishesAfterTheSettleWindowAtOnceAtMaxAndKeepsStandbys() {
        Duration settle = Duration.ofMillis(400);
        coordinator(admin, new JobSpec(job, 1000, ClassLayout.Kind.BALANCED, 2, 3, settle), "c1");
        long t0 = System.nanoTime();
        Worker a = worker(1);
        Worker b = worker(2);
        try (GenerationWatcher wa = new GenerationWatcher(a.client(), job, a.id())) {
            wa.start();
            Generation g1 = wa.awaitMembership(Await.TIMEOUT);
            assertTrue(System.nanoTime() - t0 >= settle.toNanos(), "published before the settle window");
            assertEquals(1, g1.number());
            assertEquals(List.of(a.id(), b.id()), g1.workerIds());
            assertEquals(0, g1.assignmentOf(a.id()).orElseThrow().rank());
            assertCoversEveryClassOnce(g1);

            long t1 = System.nanoTime();
            Worker c = worker(3);
            Generation g2 = Await.generation(admin, job, 2);
            // max present: no settle window (generous bound for a loaded machine, still below 3 windows)
            assertTrue(System.nanoTime() - t1 < 3 * settle.toNanos() + 1_000_000_000L);
            assertEquals(List.of(a.id(), b.id(), c.id()), g2.workerIds());
            assertEquals(new RankAssignment(2, c.id(), "127.0.0.1", 3, 667, 1000), g2.ranks().get(2));
            assertCoversEveryClassOnce(g2);
            assertEquals(2, wa.awaitMembershipAfter(1, Await.TIMEOUT).number());

            Worker d = worker(4);
            JobStatus st = Await.status(admin, job, s -> s.standbys() == 1, "a standby");
            assertEquals(new JobStatus("running", 2, 4, 1, "generation 2 with 3 workers, 1 standby"), st);
            assertEquals(2, new JobStore(admin, job).currentGenerationNumber());
            try (GenerationWatcher wd = new GenerationWatcher(d.client(), job, d.id())) {
                wd.start();
                CoordinatorException e = assertThrows(CoordinatorException.class,
                        () -> wd.awaitMembership(Duration.ofMillis(200)));
                assertTrue(e.getMessage().startsWith("worker " + d.id() + " of job " + job
                        + ": no generation includes it after PT0.2S (newest generation 2 has workers ["), e.getMessage());
                assertTrue(e.getMessage().endsWith("coordinator: generation 2 with 3 workers, 1 standby)"), e.getMessage());

                // a member dies: the standby takes its place at once (max still present)
                b.client().close();
                Generation g3 = wd.awaitMembership(Await.TIMEOUT);
                assertEquals(3, g3.number());
                assertEquals(List.of(a.id(), c.id(), d.id()), g3.workerIds());
                assertCoversEveryClassOnce(g3);
            }
        }
    }

    /**
     * Device kinds are not mixed: with a CUDA worker registered first, the CPU worker between the CUDA
     * ones is a standby; when the CUDA generation loses a member it waits for another CUDA worker
     * rather than taking the CPU one, and the registration in ZooKeeper carries the device.
     */
    @Test
    void generationsHoldWorkersOfOneDeviceKindOnly() throws Exception {
        coordinator(admin, new JobSpec(job, 100, ClassLayout.Kind.BALANCED, 2, 2, Duration.ofMillis(100)), "c1");
        Duration session = Duration.ofSeconds(10);
        Worker g0 = worker(1, session, "cuda:0");
        Worker cpu = worker(2, session, "cpu");
        Worker g1 = worker(3, session, "cuda:1");
        Generation first = Await.generation(admin, job, 1);
        assertEquals(List.of(g0.id(), g1.id()), first.workerIds());
        String json = new String(admin.getData().forPath(g1.registration().path()), StandardCharsets.UTF_8);
        assertTrue(json.contains("\"device\":\"cuda:1\""), json);
        assertEquals("cuda", new JobStore(admin, job).registeredWorkers().get(0).info().deviceKind());

        g1.client().close(); // a CUDA member dies: the CPU worker must not replace it
        JobStatus st = Await.status(admin, job, s -> s.message().startsWith("waiting"), "waiting for a CUDA worker");
        assertEquals("waiting for 1 more workers (have 1, min 2) of device kind cuda; 1 registered workers of another"
                + " kind are not mixed in", st.message());
        Worker g2 = worker(4, session, "cuda:0");
        Generation second = Await.generation(admin, job, 2);
        assertEquals(List.of(g0.id(), g2.id()), second.workerIds());
        assertFalse(second.workerIds().contains(cpu.id()));
    }

    @Test
    void lostWorkerGivesTheNextGenerationWithSurvivorsAndReassignedRanges() {
        coordinator(admin, new JobSpec(job, 1001, ClassLayout.Kind.CEIL, 2, 4, Duration.ofMillis(100)), "c1");
        List<Worker> ws = List.of(worker(1), worker(2), worker(3), worker(4));
        Generation g1 = Await.generation(admin, job, 1);
        assertEquals(4, g1.worldSize());
        assertEquals(List.of(251, 251, 251, 248), g1.ranks().stream().map(RankAssignment::classCount).toList());
        ws.get(1).client().close();
        Generation g2 = Await.generation(admin, job, 2);
        assertEquals(List.of(ws.get(0).id(), ws.get(2).id(), ws.get(3).id()), g2.workerIds());
        assertEquals(List.of(334, 334, 333), g2.ranks().stream().map(RankAssignment::classCount).toList());
        assertCoversEveryClassOnce(g2);
        ws.get(3).client().close();
        Generation g3 = Await.generation(admin, job, 3);
        assertEquals(List.of(ws.get(0).id(), ws.get(2).id()), g3.workerIds());
        assertCoversEveryClassOnce(g3);
    }

    @Test
    void belowMinTheJobWaitsAndSaysForWhat() {
        coordinator(admin, new JobSpec(job, 100, ClassLayout.Kind.BALANCED, 2, 2, Duration.ZERO), "c1");
        Worker a = worker(1);
        JobStatus st = Await.status(admin, job, s -> s.registered() == 1, "one registered");
        assertEquals(new JobStatus("waiting", 0, 1, 0, "waiting for 1 more workers (have 1, min 2)"), st);
        try (GenerationWatcher wa = new GenerationWatcher(a.client(), job, a.id())) {
            wa.start();
            CoordinatorException e = assertThrows(CoordinatorException.class,
                    () -> wa.awaitMembership(Duration.ofMillis(200)));
            assertEquals("worker " + a.id() + " of job " + job + ": no generation includes it after PT0.2S (no generation"
                    + " published yet; coordinator: waiting for 1 more workers (have 1, min 2))", e.getMessage());
            Worker b = worker(2);
            assertEquals(List.of(a.id(), b.id()), wa.awaitMembership(Await.TIMEOUT).workerIds());
            // losing one drops below min: no generation 2, the status says why
            b.client().close();
            st = Await.status(admin, job, s -> s.state().equals("waiting"), "waiting again");
            assertEquals(new JobStatus("waiting", 1, 1, 0, "waiting for 1 more workers (have 1, min 2)"), st);
            assertEquals(1, new JobStore(admin, job).currentGenerationNumber());
            Worker c = worker(3);
            assertEquals(List.of(a.id(), c.id()), wa.awaitMembershipAfter(1, Await.TIMEOUT).workerIds());
        }
    }

    @Test
    void aJobIsCreatedOnceAndAnotherSpecIsRefused() {
        JobSpec spec = new JobSpec(job, 100, ClassLayout.Kind.BALANCED, 1, 4, Duration.ofMillis(100));
        JobStore store = new JobStore(admin, job);
        assertTrue(store.createJob(spec, new byte[] {7}, "t1"));
        assertFalse(store.createJob(spec, new byte[] {8}, "t2"));
        assertEquals("t1", store.readToken());
        assertEquals(7, store.readConfig()[0]);
        assertEquals(0, store.currentGenerationNumber());
        CoordinatorException e = assertThrows(CoordinatorException.class,
                () -> store.createJob(JobSpec.fixed(job, 100, 2), new byte[0], "t"));
        assertTrue(e.getMessage().startsWith("job " + job + " exists with spec JobSpec[jobId=" + job
                + ", numClasses=100, layout=BALANCED, minWorkers=1, maxWorkers=4, settle=PT0.1S, maxRestarts=3] (expected: "),
                e.getMessage());
        // the restart budget is part of the spec: another one is another spec
        assertThrows(CoordinatorException.class, () -> store.createJob(spec.withMaxRestarts(0), new byte[0], "t"));
        assertEquals(spec, store.readSpec());
        Coordinator c = new Coordinator(admin, JobSpec.fixed(job, 100, 2), new byte[0], "t", "c");
        closeables.add(c);
        assertThrows(CoordinatorException.class, c::start);
        assertEquals(Coordinator.State.CLOSED, c.state());
    }

    @Test
    void workersFormTheirGroupThroughTheGenerationAndItsRendezvous() throws Exception {
        coordinator(admin, new JobSpec(job, 100, ClassLayout.Kind.BALANCED, 2, 2, Duration.ZERO), "c1");
        List<Worker> ws = List.of(worker(5001), worker(5002));
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
        try {
            List<java.util.concurrent.Future<List<String>>> results = new ArrayList<>();
            for (Worker w : ws) {
                results.add(pool.submit(() -> {
                    try (GenerationWatcher gw = new GenerationWatcher(w.client(), job, w.id())) {
                        gw.start();
                        Generation g = gw.awaitMembership(Await.TIMEOUT);
                        RankAssignment me = g.assignmentOf(w.id()).orElseThrow();
                        return new ZooKeeperRendezvous(w.client(), job, g.number())
                                .exchange(me.rank(), g.worldSize(), "127.0.0.1:" + (6000 + me.rank()), Await.TIMEOUT);
                    }
                }));
            }
            for (var f : results) {
                assertEquals(List.of("127.0.0.1:6000", "127.0.0.1:6001"),
                        f.get(Await.TIMEOUT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS));
            }
        } finally {
            pool.shutdownNow();
        }
        JobPaths paths = JobPaths.of(job);
        assertNotNull(admin.checkExists().forPath(paths.rendezvous(1)));
        Worker standby = worker(5003); // max is 2: a standby
        ws.get(0).client().close();
        assertEquals(List.of(ws.get(1).id(), standby.id()), Await.generation(admin, job, 2).workerIds());
        Await.gone(admin, paths.rendezvous(1)); // the publisher cleans the previous generation's rendezvous
    }

    @Test
    void aWorkerJoiningBelowMaxGivesTheNextGeneration() {
        coordinator(admin, new JobSpec(job, 100, ClassLayout.Kind.BALANCED, 1, 4, Duration.ofMillis(100)), "c1");
        Worker a = worker(1);
        assertEquals(List.of(a.id()), Await.generation(admin, job, 1).workerIds());
        Worker b = worker(2);
        Generation g2 = Await.generation(admin, job, 2);
        assertEquals(List.of(a.id(), b.id()), g2.workerIds());
        assertCoversEveryClassOnce(g2);
    }

    @Test
    void aStandbyCoordinatorTakesOverWhenTheLeaderDies() {
        JobSpec spec = new JobSpec(job, 100, ClassLayout.Kind.BALANCED, 1, 2, Duration.ZERO);
        CuratorFramework leaderClient = client();
        Coordinator leader = coordinator(leaderClient, spec, "leader");
        assertTrue(leader.awaitLeadership(Await.TIMEOUT));
        Coordinator standby = coordinator(client(), spec, "standby");
        assertFalse(standby.isLeader());
        Worker a = worker(1);
        assertEquals(List.of(a.id()), Await.generation(admin, job, 1).workerIds());
        Worker b = worker(2);
        assertEquals(List.of(a.id(), b.id()), Await.generation(admin, job, 2).workerIds());
        assertFalse(standby.isLeader());

        leaderClient.close(); // the leader's session ends; its latch node goes with it
        assertTrue(standby.awaitLeadership(Await.TIMEOUT));
        b.client().close();
        Generation g3 = Await.generation(admin, job, 3);
        assertEquals(List.of(a.id()), g3.workerIds());
        assertTrue(standby.isLeader());
        assertEquals(Coordinator.State.STARTED, standby.state());
        leader.close();
        leader.close(); // idempotent, even with its client gone
        assertEquals(Coordinator.State.CLOSED, leader.state());
        assertThrows(IllegalStateException.class, leader::start);
    }

    @Test
    void readersNeverSeeAHalfWrittenGeneration() throws Exception {
        // 4 losses below: a budget of 4 restarts (the default, 3, would fail the job at the 4th)
        coordinator(admin, new JobSpec(job, 997, ClassLayout.Kind.BALANCED, 1, 6, Duration.ZERO, 4), "c1");
        JobPaths paths = JobPaths.of(job);
        CuratorFramework reader = client();
        List<String> problems = new CopyOnWriteArrayList<>();
        Map<Long, Generation> seen = new ConcurrentHashMap<>();
        AtomicInteger reads = new AtomicInteger();
        // and the worker-side API: its listener sees complete generations in increasing order
        List<Long> notified = new CopyOnWriteArrayList<>();
        java.util.concurrent.CompletableFuture<Generation> ninth = new java.util.concurrent.CompletableFuture<>();
        GenerationWatcher watcher = new GenerationWatcher(reader, job, "w-0000000000");
        closeables.add(watcher);
        watcher.addListener(g -> {
            if (!notified.isEmpty() && notified.get(notified.size() - 1) >= g.number()) {
                problems.add("listener: generation " + g.number() + " after " + notified);
            }
            notified.add(g.number());
            if (g.number() == 9) {
                ninth.complete(g);
            }
        });
        watcher.start();
        // a raw reader: follows the pointer and reads the node it names, in the watch callback itself
        try (CuratorCache cache = CuratorCache.build(reader, paths.generation(), CuratorCache.Options.SINGLE_NODE_CACHE)) {
            cache.listenable().addListener(CuratorCacheListener.builder().forCreatesAndChanges((o, n) -> {
                long g = Long.parseLong(new String(n.getData(), StandardCharsets.US_ASCII));
                if (g == 0) {
                    return;
                }
                try {
                    Generation gen = Json.generation(reader.getData().forPath(paths.generation(g)), paths.generation(g));
                    seen.put(g, gen);
                    reads.incrementAndGet();
                } catch (Exception e) {
                    problems.add("generation " + g + ": " + e);
                }
            }).build());
            cache.start();
            // churn: joins and losses, each one a new generation
            List<Worker> ws = new ArrayList<>();
            long expected = 0;
            for (int i = 0; i < 5; i++) {
                ws.add(worker(i + 1));
                Await.generation(admin, job, ++expected);
            }
            for (int i = 0; i < 4; i++) {
                ws.get(i).client().close();
                Await.generation(admin, job, ++expected);
            }
            long last = expected;
            Await.node(reader, paths.generation(), d -> d.isPresent() && seen.containsKey(last), "the reader");
            assertEquals(9, last);
            assertEquals(1, ninth.get(Await.TIMEOUT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS).worldSize());
            // w-0 left in generation 6: it is in no newer generation, and waiting for one says so
            CoordinatorException e = assertThrows(CoordinatorException.class,
                    () -> watcher.awaitMembership(Duration.ofMillis(100)));
            assertTrue(e.getMessage().contains("newest generation 9 has workers [w-0000000004]"), e.getMessage());
        }
        assertEquals(List.of(), problems);
        assertTrue(reads.get() >= 1);
        for (Generation g : seen.values()) {
            assertNotNull(g);
            assertCoversEveryClassOnce(g); // construction validated completeness; this checks the layout too
        }
        assertEquals(1, seen.get(9L).worldSize());
    }
}
