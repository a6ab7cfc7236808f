package org.plsc4j.coordinator.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.plsc4j.coordinator.Generation;
import org.plsc4j.coordinator.JobSpec;
import org.plsc4j.coordinator.RegisteredWorker;
import org.plsc4j.coordinator.WorkerInfo;
import org.plsc4j.core.ClassLayout;

class GenerationPolicyTest {

    private static final JobSpec SPEC = new JobSpec("j", 1000, ClassLayout.Kind.BALANCED, 2, 3, Duration.ofSeconds(1));

    private static List<RegisteredWorker> workers(long... seqs) {
        List<RegisteredWorker> out = new ArrayList<>();
        for (long s : seqs) {
            out.add(new RegisteredWorker(String.format("w-%010d", s), s, new WorkerInfo("h", 1, 1, "cpu")));
        }
        return out;
    }

    private static RegisteredWorker on(long seq, String device) {
        return new RegisteredWorker(String.format("w-%010d", seq), seq, new WorkerInfo("h", 1, 1, device));
    }

    @Test
    void deviceKindsAreNeverMixedAndTheCurrentGenerationKeepsItsKind() {
        List<RegisteredWorker> reg = List.of(on(0, "cpu"), on(1, "cuda:0"), on(2, "cpu"), on(3, "cuda:1"), on(4, "cpu"));
        // the first registered worker decides the first generation's kind
        var d = GenerationPolicy.decide(SPEC, reg, null, Duration.ZERO);
        assertEquals(List.of(reg.get(0), reg.get(2), reg.get(4)),
                assertInstanceOf(GenerationPolicy.Publish.class, d).members());
        // a generation of cuda workers stays cuda when cpu workers registered before them
        Generation g = Generation.of(1, SPEC, List.of(reg.get(1), reg.get(3)));
        assertEquals(new GenerationPolicy.UpToDate(3), GenerationPolicy.decide(SPEC, reg, g, Duration.ZERO));
        var w = GenerationPolicy.decide(SPEC, List.of(reg.get(0), reg.get(1), reg.get(2)), g, Duration.ZERO);
        assertEquals(new GenerationPolicy.Wait("waiting for 1 more workers (have 1, min 2) of device kind cuda;"
                + " 2 registered workers of another kind are not mixed in"), w);
        assertEquals("cuda", new WorkerInfo("h", 1, 1, "CUDA:3").deviceKind());
        assertEquals("cpu", new WorkerInfo("h", 1, 1, "cpu").deviceKind());
    }

    @Test
    void belowMinWaitsAndSaysHowManyMore() {
        GenerationPolicy.Decision d = GenerationPolicy.decide(SPEC, workers(0), null, Duration.ofHours(1));
        assertEquals(new GenerationPolicy.Wait("waiting for 1 more workers (have 1, min 2)"), d);
    }

    @Test
    void minPresentSettlesThenPublishes() {
        var d = GenerationPolicy.decide(SPEC, workers(0, 1), null, Duration.ofMillis(400));
        assertEquals(Duration.ofMillis(600), assertInstanceOf(GenerationPolicy.Settle.class, d).remaining());
        d = GenerationPolicy.decide(SPEC, workers(0, 1), null, Duration.ofSeconds(1));
        assertEquals(workers(0, 1), assertInstanceOf(GenerationPolicy.Publish.class, d).members());
    }

    @Test
    void maxPresentPublishesAtOnceAndLaterWorkersAreStandbys() {
        var d = GenerationPolicy.decide(SPEC, workers(0, 1, 2, 3), null, Duration.ZERO);
        assertEquals(workers(0, 1, 2), assertInstanceOf(GenerationPolicy.Publish.class, d).members());
        Generation g1 = Generation.of(1, SPEC, workers(0, 1, 2));
        d = GenerationPolicy.decide(SPEC, workers(0, 1, 2, 3), g1, Duration.ZERO);
        assertEquals(new GenerationPolicy.UpToDate(1), d);
    }

    @Test
    void aLostMemberIsReplacedByTheFirstStandbyInRegistrationOrder() {
        Generation g1 = Generation.of(1, SPEC, workers(0, 1, 2));
        var d = GenerationPolicy.decide(SPEC, workers(0, 2, 3, 4), g1, Duration.ZERO);
        assertEquals(workers(0, 2, 3), assertInstanceOf(GenerationPolicy.Publish.class, d).members());
    }

    @Test
    void specValidationNamesFieldValueAndExpectation() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> new JobSpec("j", 10, ClassLayout.Kind.BALANCED, 0, 2, Duration.ZERO));
        assertEquals("min_workers : 0 (expected: >= 1)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new JobSpec("j", 10, ClassLayout.Kind.BALANCED, 3, 2, Duration.ZERO));
        assertEquals("max_workers : 2 (expected: >= min_workers = 3)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new JobSpec("j", 4, ClassLayout.Kind.BALANCED, 1, 5, Duration.ZERO));
        assertEquals("max_workers : 5 (expected: <= num_classes = 4, every rank must own a class)", e.getMessage());
        // ceil over 6 ranks leaves rank 5 of 10 classes empty: rejected up front, not at the 6th worker
        assertThrows(IllegalArgumentException.class, () -> new JobSpec("j", 10, ClassLayout.Kind.CEIL, 1, 6, Duration.ZERO));
        e = assertThrows(IllegalArgumentException.class,
                () -> new JobSpec("a/b", 10, ClassLayout.Kind.BALANCED, 1, 2, Duration.ZERO));
        assertEquals("job : a/b (expected: 1-128 characters of [A-Za-z0-9._-], starting with a letter or digit)",
                e.getMessage());
    }

    @Test
    void maxRestartsIsValidatedAndDefaultsForOldCallers() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> new JobSpec("j", 10, ClassLayout.Kind.BALANCED, 1, 2, Duration.ZERO, -1));
        assertEquals("max_restarts : -1 (expected: >= 0)", e.getMessage());
        assertEquals(JobSpec.DEFAULT_MAX_RESTARTS, SPEC.maxRestarts());
        assertEquals(JobSpec.DEFAULT_MAX_RESTARTS, JobSpec.fixed("j", 10, 2).maxRestarts());
        assertEquals(0, SPEC.withMaxRestarts(0).maxRestarts());
        assertEquals(SPEC.withMaxRestarts(7), Json.spec(Json.spec(SPEC.withMaxRestarts(7)), "test"));
    }

    @Test
    void storedNodesWrittenBeforeRestartsExistedReadWithTheDefaults() {
        // the JSON format 1 as written before max_restarts / restarts were added (additive change)
        String spec = "{\"format\":1,\"job\":\"j\",\"num_classes\":1000,\"layout\":\"balanced\","
                + "\"min_workers\":2,\"max_workers\":3,\"settle_ms\":1000}";
        assertEquals(SPEC, Json.spec(spec.getBytes(StandardCharsets.UTF_8), "test"));
        String gen = "{\"format\":1,\"generation\":1,\"num_classes\":10,\"layout\":\"balanced\",\"world_size\":1,"
                + "\"ranks\":[{\"rank\":0,\"worker_id\":\"w-0000000000\",\"host\":\"h\",\"port\":1,"
                + "\"class_start\":0,\"class_end\":10}]}";
        assertEquals(0, Json.generation(gen.getBytes(StandardCharsets.UTF_8), "test").restarts());
        Generation g = Generation.of(4, SPEC, workers(0, 1), 2);
        assertEquals(2, g.restarts());
        assertTrue(new String(Json.generation(g), StandardCharsets.UTF_8).contains("\"restarts\":2"));
        assertEquals(g, Json.generation(Json.generation(g), "test"));
        var e = assertThrows(IllegalArgumentException.class,
                () -> new Generation(1, 10, ClassLayout.Kind.BALANCED, g.ranks(), -1));
        assertEquals("generation 1: restarts : -1 (expected: >= 0)", e.getMessage());
    }

    @Test
    void lostMembersAreTheCurrentMembersNoLongerRegistered() {
        Generation g1 = Generation.of(1, SPEC, workers(0, 1, 2));
        assertEquals(List.of(), GenerationPolicy.lostMembers(null, workers(0)));
        // joins and a standby leaving lose no member: not a restart
        assertEquals(List.of(), GenerationPolicy.lostMembers(g1, workers(0, 1, 2, 3)));
        assertEquals(List.of(), GenerationPolicy.lostMembers(g1, workers(0, 1, 2)));
        assertEquals(List.of("w-0000000000", "w-0000000002"), GenerationPolicy.lostMembers(g1, workers(1, 3)));
    }

    @Test
    void generationsRejectGapsAndUncoveredClasses() {
        Generation g = Generation.of(1, SPEC, workers(0, 1, 2));
        var ranks = new ArrayList<>(g.ranks());
        ranks.remove(1);
        var e = assertThrows(IllegalArgumentException.class,
                () -> new Generation(1, 1000, ClassLayout.Kind.BALANCED, ranks));
        assertEquals("generation 1: ranks[1].rank : 2 (expected: 1)", e.getMessage());
        assertEquals(g, Json.generation(Json.generation(g), "test"));
    }
}
