package org.plsc4j.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.plsc4j.core.ClassLayout;

/** max_restarts (torchrun semantics) and the terminal job states. */
class RestartsTest extends ZkJobTest {

    /** What a blocked waiter is given; it must return long before (the failure is pushed, not polled). */
    private static final Duration LONG_WAIT = Duration.ofSeconds(60);

    private GenerationWatcher watcher(Worker w) {
        GenerationWatcher gw = new GenerationWatcher(w.client(), job, w.id());
        closeables.add(gw);
        gw.start();
        return gw;
    }

    private static String exhausted(int maxRestarts, long g, String lost) {
        return "max_restarts : " + maxRestarts + " exhausted (generation " + g + " lost worker(s) [" + lost
                + "]; the job stops)";
    }

    /** Calls awaitMembershipAfter on another thread; completes with what it threw (or returned). */
    private static CompletableFuture<Object> blockedWaiter(GenerationWatcher w, long after) throws InterruptedException {
        CompletableFuture<Object> out = new CompletableFuture<>();
        CountDownLatch calling = new CountDownLatch(1);
        Thread t = new Thread(() -> {
            calling.countDown();
            try {
                out.complete(w.awaitMembershipAfter(after, LONG_WAIT));
            } catch (RuntimeException e) {
                out.complete(e);
            }
        }, "blocked-waiter");
        t.setDaemon(true);
        t.start();
        assertTrue(calling.await(Await.TIMEOUT.toMillis(), TimeUnit.MILLISECONDS));
        return out;
    }

    @Test
    void onlyLostMembersCountAndExhaustingMaxRestartsFailsTheJob() throws Exception {
        Coordinator co = coordinator(admin, new JobSpec(job, 100, ClassLayout.Kind.BALANCED, 1, 3, Duration.ZERO, 2),
                "c1");
        JobStore store = new JobStore(admin, job);
        // scale-up 1 -> 2 -> 3: no restarts
        Worker a = worker(1);
        assertEquals(0, Await.generation(admin, job, 1).restarts());
        Worker b = worker(2);
        assertEquals(0, Await.generation(admin, job, 2).restarts());
        Worker c = worker(3);
        Generation g3 = Await.generation(admin, job, 3);
        assertEquals(List.of(a.id(), b.id(), c.id()), g3.workerIds());
        assertEquals(0, g3.restarts());
        // a standby that comes and goes is no member: no generation, no restart
        Worker standby = worker(4);
        Await.status(admin, job, s -> s.standbys() == 1, "a standby");
        standby.client().close();
        Await.status(admin, job, s -> s.registered() == 3 && s.standbys() == 0, "the standby gone");
        co.evaluateNow();
        assertEquals(3, store.currentGenerationNumber());
        // a member lost: restart 1; a join after it: still 1
        c.client().close();
        Generation g4 = Await.generation(admin, job, 4);
        assertEquals(List.of(a.id(), b.id()), g4.workerIds());
        assertEquals(1, g4.restarts());
        Worker e = worker(5);
        Generation g5 = Await.generation(admin, job, 5);
        assertEquals(List.of(a.id(), b.id(), e.id()), g5.workerIds());
        assertEquals(1, g5.restarts());
        e.client().close();
        Generation g6 = Await.generation(admin, job, 6);
        assertEquals(2, g6.restarts());
        assertTrue(new String(admin.getData().forPath(store.paths().generation(6)), StandardCharsets.UTF_8)
                .contains("\"restarts\":2"));
        assertEquals("running", Await.status(admin, job, s -> s.generation() == 6, "generation 6 running").state());

        // the third loss exceeds max_restarts = 2: failed, and a waiting worker learns it at once
        GenerationWatcher wa = watcher(a);
        assertEquals(6, wa.awaitMembership(Await.TIMEOUT).number());
        assertEquals(Optional.empty(), wa.failure());
        long t0 = System.nanoTime();
        CompletableFuture<Object> waiting = blockedWaiter(wa, 6);
        b.client().close();
        JobStatus failed = Await.status(admin, job, s -> s.state().equals("failed"), "failed");
        assertEquals(new JobStatus("failed", 6, 1, 0, exhausted(2, 6, b.id())), failed);
        CoordinatorException thrown = assertInstanceOf(CoordinatorException.class,
                waiting.get(LONG_WAIT.toMillis(), TimeUnit.MILLISECONDS));
        long elapsed = System.nanoTime() - t0;
        assertTrue(elapsed < LONG_WAIT.toNanos() / 2, "the waiter returned after " + elapsed / 1_000_000 + " ms");
        assertEquals("worker " + a.id() + " of job " + job + ": the job failed: " + exhausted(2, 6, b.id()),
                thrown.getMessage());
        assertEquals(Optional.of(failed), wa.failure());
        assertEquals(Optional.of(failed), wa.terminalStatus());

        // terminal: a new worker (enough for a generation) gets none, the status stays, waiting fails at once
        Worker f = worker(6);
        co.evaluateNow(); // reads the registry after f registered
        assertEquals(6, store.currentGenerationNumber());
        assertEquals(Optional.of(failed), store.readStatus());
        assertEquals(failed, co.status());
        GenerationWatcher wf = watcher(f);
        long t1 = System.nanoTime();
        CoordinatorException late = assertThrows(CoordinatorException.class, () -> wf.awaitMembership(LONG_WAIT));
        assertTrue(System.nanoTime() - t1 < LONG_WAIT.toNanos() / 2);
        assertTrue(late.getMessage().contains(exhausted(2, 6, b.id())), late.getMessage());
    }

    @Test
    void aCoordinatorTakingOverContinuesTheRestartCount() {
        JobSpec spec = new JobSpec(job, 100, ClassLayout.Kind.BALANCED, 1, 2, Duration.ZERO, 1);
        Coordinator c1 = coordinator(client(), spec, "c1");
        assertTrue(c1.awaitLeadership(Await.TIMEOUT));
        Coordinator c2 = coordinator(client(), spec, "c2");
        JobStore store = new JobStore(admin, job);
        Worker a = worker(1);
        Await.generation(admin, job, 1);
        Worker b = worker(2);
        assertEquals(0, Await.generation(admin, job, 2).restarts());
        b.client().close();
        assertEquals(1, Await.generation(admin, job, 3).restarts()); // the whole budget, spent under c1
        Worker c = worker(3);
        Generation g4 = Await.generation(admin, job, 4);
        assertEquals(List.of(a.id(), c.id()), g4.workerIds());
        assertEquals(1, g4.restarts());

        c1.close();
        assertTrue(c2.awaitLeadership(Await.TIMEOUT));
        c2.evaluateNow(); // after its take-over: nothing changed, nothing published
        assertEquals(4, store.currentGenerationNumber());
        assertEquals("running", c2.status().state());
        c.client().close();
        JobStatus failed = Await.status(admin, job, s -> s.state().equals("failed"), "failed");
        assertEquals(new JobStatus("failed", 4, 1, 0, exhausted(1, 4, c.id())), failed);
        c2.evaluateNow();
        assertEquals(4, store.currentGenerationNumber());

        // a third coordinator taking over a failed job stays failed, whatever the registry
        Coordinator c3 = coordinator(client(), spec, "c3");
        c2.close();
        assertTrue(c3.awaitLeadership(Await.TIMEOUT));
        worker(4);
        c3.evaluateNow();
        assertEquals(failed, c3.status());
        assertEquals(4, store.currentGenerationNumber());
        assertEquals(Optional.of(failed), store.readStatus());
    }

    @Test
    void aFinishedJobIsNeitherRepublishedNorOverwritten() {
        Coordinator co = coordinator(admin, new JobSpec(job, 100, ClassLayout.Kind.BALANCED, 1, 2, Duration.ZERO, 3),
                "c1");
        JobStore store = new JobStore(admin, job);
        Worker a = worker(1);
        Await.generation(admin, job, 1);
        GenerationWatcher wa = watcher(a);
        assertEquals(1, wa.awaitMembership(Await.TIMEOUT).number());
        JobStatus finished = new JobStatus("finished", 1, 1, 0, "all epochs done");
        store.writeStatus(finished);
        CoordinatorException e = assertThrows(CoordinatorException.class, () -> wa.awaitMembershipAfter(1, LONG_WAIT));
        assertEquals("worker " + a.id() + " of job " + job + ": the job finished: all epochs done", e.getMessage());
        assertEquals(Optional.empty(), wa.failure()); // finished is not a failure
        assertEquals(Optional.of(finished), wa.terminalStatus());
        worker(2); // would be a scale-up to 2
        co.evaluateNow();
        assertEquals(1, store.currentGenerationNumber());
        assertEquals(Optional.of(finished), store.readStatus());
        assertEquals(finished, co.status());
        a.client().close(); // and a loss is no restart to count or fail on any more
        co.evaluateNow();
        assertEquals(Optional.of(finished), store.readStatus());
    }
}
