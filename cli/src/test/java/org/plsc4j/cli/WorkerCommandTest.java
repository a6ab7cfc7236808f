package org.plsc4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.plsc4j.coordinator.EmbeddedZooKeeper;
import org.plsc4j.coordinator.Generation;
import org.plsc4j.coordinator.JobStore;
import org.plsc4j.coordinator.RankAssignment;
import org.plsc4j.coordinator.ZkClients;
import org.plsc4j.core.TrainConfig;
import org.plsc4j.core.TrainConfigs;
import org.plsc4j.data.DatasetGenerator;
import org.plsc4j.data.GeneratorOptions;
import org.plsc4j.elastic.JobCoordinator;

/**
 * {@code plsc4j worker}'s contract: its options, its errors, and a real job of two workers run
 * through the command, each listening on the wildcard address ({@code --bind 0.0.0.0}) and telling
 * its peers {@code --host}: the registry, the generation and the collective's rendezvous hold
 * {@code --host}, never the bound wildcard.
 */
class WorkerCommandTest {

    @Test
    void helpListsTheAddressOptions() {
        CliRun r = CliRun.of("worker", "--help");
        assertEquals(0, r.code());
        for (String o : List.of("--job", "--zk", "--host", "--bind", "--token-file", "--session-timeout-ms", "--device",
                "--metrics-port")) {
            assertTrue(r.out().contains(o), o + " in\n" + r.out());
        }
    }

    @Test
    void missingTokenAndBlankBindAreErrorsNamingTheField(@TempDir Path dir) throws Exception {
        CliRun noToken = CliRun.of("worker", "--job", "j", "--zk", "127.0.0.1:1");
        assertTrue(noToken.code() != 0);
        assertTrue(noToken.err().contains("job token : missing"), noToken.err());
        Path token = Files.writeString(dir.resolve("token"), "t");
        CliRun blank = CliRun.of("worker", "--job", "j", "--zk", "127.0.0.1:1", "--token-file", token.toString(),
                "--bind", " ");
        assertEquals(Main.EXIT_FAILURE, blank.code(), blank.err());
        assertTrue(blank.err().strip().startsWith("plsc4j worker: bind : \" \" (expected: "), blank.err());
    }

    @Test
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void twoWorkersBoundToTheWildcardAdvertiseTheirHost(@TempDir Path dir) throws Exception {
        Path data = dir.resolve("data");
        DatasetGenerator.generate(GeneratorOptions.of(data, 12, 4).withImageSize(16).withPairs(4).withSeed(3));
        Path save = dir.resolve("out");
        Path yaml = Files.writeString(dir.resolve("job.yaml"), BedCluster.yaml(data, save, 12, 1,
                Map.of("shard_store", "local", "shard_sync_steps", 1)));
        TrainConfig cfg = TrainConfigs.load(yaml, List.of());
        String token = "worker-command-test-token";
        Path tokenFile = Files.writeString(dir.resolve("w.token"), token + "\n", StandardCharsets.UTF_8);
        try (EmbeddedZooKeeper zk = EmbeddedZooKeeper.start(dir.resolve("zk"));
             JobCoordinator coord = JobCoordinator.start(cfg, new JobCoordinator.Options("wc", zk.connectString(),
                     null, 2, 2, 0, Duration.ofMillis(200), null), token)) {
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try {
                List<Future<CliRun>> runs = new ArrayList<>();
                for (int i = 0; i < 2; i++) {
                    runs.add(pool.submit(() -> CliRun.of("worker", "--job", "wc", "--zk", zk.connectString(),
                            "--host", "127.0.0.1", "--bind", "0.0.0.0", "--token-file", tokenFile.toString(),
                            "--metrics-port", "-1", "--session-timeout-ms", "5000")));
                }
                for (Future<CliRun> f : runs) {
                    CliRun r = f.get(3, TimeUnit.MINUTES);
                    assertEquals(0, r.code(), r.err());
                    assertTrue(r.out().startsWith("worker done: 4 steps, last checkpoint "), r.out());
                }
            } finally {
                pool.shutdownNow();
            }
            assertEquals("finished", coord.awaitEnd(Duration.ofSeconds(30)).orElseThrow().state());
            try (CuratorFramework client = ZkClients.connect(zk.connectString(), null, Duration.ofSeconds(10))) {
                JobStore store = new JobStore(client, "wc");
                Generation g = store.readGeneration(1);
                assertEquals(2, g.worldSize());
                for (RankAssignment a : g.ranks()) {
                    assertEquals("127.0.0.1", a.host(), "the registry holds --host: " + a);
                    String published = new String(client.getData().forPath(store.paths().rendezvous(1, a.rank())),
                            StandardCharsets.UTF_8);
                    assertTrue(published.matches("127\\.0\\.0\\.1:\\d+"),
                            "rank " + a.rank() + " published " + published + " (expected --host, not the wildcard)");
                }
            }
        }
    }
}
