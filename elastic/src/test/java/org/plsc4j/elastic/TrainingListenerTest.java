package org.plsc4j.elastic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.plsc4j.core.TrainConfig;
import org.plsc4j.core.collective.Collective;
import org.plsc4j.core.collective.CollectiveConfig;
import org.plsc4j.core.collective.Collectives;
import org.plsc4j.worker.Trainer;
import org.plsc4j.worker.TrainingListener;

/**
 * What the trainer tells its listener on every rank (the dashboard's worker reports and the
 * Prometheus step metrics come from it): one generation start with the rank's class range, then
 * one call per step with the global step counter, the total, and the loss the summary reports.
 */
class TrainingListenerTest {

    @TempDir
    Path dir;

    /** Records the calls of one rank. */
    static final class Recorder implements TrainingListener {
        final List<long[]> generations = new ArrayList<>();
        final List<Step> steps = new ArrayList<>();

        @Override
        public void generationStarted(long generation, int rank, int worldSize, int classStart, int classEnd) {
            generations.add(new long[] {generation, rank, worldSize, classStart, classEnd});
        }

        @Override
        public void stepDone(Step step) {
            steps.add(step);
        }
    }

    @Test
    void everyRankHearsItsRangeAndEveryStep() throws Exception {
        TrainConfig cfg = TrainerFixture.config(TrainerFixture.data(dir), dir.resolve("save"), "", 2);
        int n = 2;
        String runId = "listener-" + System.nanoTime();
        List<Recorder> recorders = List.of(new Recorder(), new Recorder());
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Future<Trainer.Summary>> fs = new ArrayList<>();
            for (int r = 0; r < n; r++) {
                int rank = r;
                fs.add(pool.submit(() -> {
                    CollectiveConfig cc = CollectiveConfig.builder().jobId(runId).rank(rank).worldSize(n)
                            .timeout(Duration.ofMinutes(2)).build();
                    try (Collective c = Collectives.join("inprocess", cc)) {
                        return new Trainer(cfg, c, null, null, runId).listener(recorders.get(rank)).train();
                    }
                }));
            }
            Trainer.Summary s = fs.get(0).get(5, TimeUnit.MINUTES);
            fs.get(1).get(5, TimeUnit.MINUTES);
            int steps = s.losses().size();
            assertEquals(10, steps, "40 samples, global batch 8, 2 epochs");
            int next = 0;
            for (int r = 0; r < n; r++) {
                Recorder rec = recorders.get(r);
                assertEquals(1, rec.generations.size());
                long[] g = rec.generations.get(0);
                assertEquals(List.of(1L, (long) r, 2L), List.of(g[0], g[1], g[2]));
                assertEquals(next, g[3], "ranges tile [0, 10) in rank order");
                next = (int) g[4];
                assertEquals(steps, rec.steps.size());
                for (int k = 0; k < steps; k++) {
                    TrainingListener.Step st = rec.steps.get(k);
                    assertEquals(k + 1, st.globalStep(), "the counter after step " + k);
                    assertEquals(10, st.totalSteps());
                    assertEquals(k / 5, st.epoch());
                    assertEquals(s.losses().get(k), st.loss(), 0.0, "the loss of step " + k);
                    assertEquals(8, st.globalBatch());
                    assertEquals(2, st.worldSize());
                    assertTrue(st.seconds() > 0 && st.lr() > 0, st.toString());
                }
            }
            assertEquals(10, next);
        } finally {
            pool.shutdownNow();
        }
    }
}
