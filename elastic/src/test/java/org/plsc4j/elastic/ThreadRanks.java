package org.plsc4j.elastic;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.plsc4j.core.TrainConfig;
import org.plsc4j.core.collective.Collective;
import org.plsc4j.core.collective.CollectiveConfig;
import org.plsc4j.core.collective.Collectives;
import org.plsc4j.worker.CheckpointSync;
import org.plsc4j.worker.Trainer;

/** Runs a job's ranks as threads of the test JVM over the in-process collective. */
final class ThreadRanks {

    private ThreadRanks() {
    }

    /** Trains {@code cfg} on {@code n} ranks; checks every rank reports the same losses; returns rank 0's summary. */
    static Trainer.Summary run(TrainConfig cfg, int n) throws Exception {
        return run(cfg, n, c -> CheckpointSync.NONE);
    }

    /** Likewise, each rank with its own checkpoint sync from {@code syncs} (closed after training). */
    static Trainer.Summary run(TrainConfig cfg, int n, Function<TrainConfig, CheckpointSync> syncs) throws Exception {
        String runId = "test-" + System.nanoTime();
        ExecutorService pool = Executors.newFixedThreadPool(n, r -> {
            Thread t = new Thread(r, "test-rank");
            t.setDaemon(true);
            return t;
        });
        try {
            List<Future<Trainer.Summary>> fs = new ArrayList<>();
            for (int r = 0; r < n; r++) {
                int rank = r;
                fs.add(pool.submit(() -> {
                    CollectiveConfig cc = CollectiveConfig.builder().jobId(runId).rank(rank).worldSize(n)
                            .timeout(Duration.ofMinutes(2)).build();
                    try (Collective c = Collectives.join("inprocess", cc); CheckpointSync sync = syncs.apply(cfg)) {
                        return new Trainer(cfg, c, null, null, runId).checkpointSync(sync).train();
                    }
                }));
            }
            List<Trainer.Summary> out = new ArrayList<>();
            for (Future<Trainer.Summary> f : fs) {
                out.add(f.get(5, TimeUnit.MINUTES));
            }
            for (Trainer.Summary s : out) {
                assertEquals(out.get(0).losses(), s.losses(), "every rank reports the same losses");
            }
            return out.get(0);
        } finally {
            pool.shutdownNow();
        }
    }
}
