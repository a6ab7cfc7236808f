package org.plsc4j.coordinator.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

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
