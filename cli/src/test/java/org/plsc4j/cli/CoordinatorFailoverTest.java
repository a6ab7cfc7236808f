package org.plsc4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.apache.curator.framework.CuratorFramework;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.plsc4j.coordinator.EmbeddedZooKeeper;
import org.plsc4j.coordinator.Generation;
import org.plsc4j.coordinator.GenerationWatcher;
import org.plsc4j.coordinator.WorkerInfo;
import org.plsc4j.coordinator.WorkerRegistration;
import org.plsc4j.coordinator.ZkClients;
import org.plsc4j.core.TrainConfig;
import org.plsc4j.core.TrainConfigs;
import org.plsc4j.elastic.JobCoordinator;

/**
 * Coordinator high availability with real processes: a {@code plsc4j coordinator} process leads,
 * a standby waits; kill -9 the leader's process and the standby publishes the next generation.
 */
class CoordinatorFailoverTest {

    @Test
    void killingTheLeaderProcessLetsTheStandbyPublish(@TempDir Path dir) throws Exception {
        try (EmbeddedZooKeeper zk = EmbeddedZooKeeper.start(dir.resolve("zk"))) {
            Path yaml = dir.resolve("job.yaml");
            Files.writeString(yaml, "dataset_dir: " + dir.resolve("data") + "\nmodel_save_dir: " + dir.resolve("out")
                    + "\nnum_classes: 100\ntrain_batch_size: 12\nzk_session_timeout_ms: 2000\n");
            Process leader = new ProcessBuilder(List.of(
                    ProcessHandle.current().info().command().orElseThrow(), "-cp", System.getProperty("java.class.path"),
                    Main.class.getName(), "coordinator", "--job", "ha", "--zk", zk.connectString(), "--config",
                    yaml.toString(), "--min-workers", "1", "--max-workers", "2", "--settle-ms", "300"))
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            try (CuratorFramework client = ZkClients.connect(zk.connectString(), null, Duration.ofSeconds(5))) {
                BufferedReader out = new BufferedReader(new InputStreamReader(leader.getInputStream(),
                        StandardCharsets.UTF_8));
                String first = out.readLine(); // printed once the job exists and the process is in the election
                assertTrue(first != null && first.startsWith("job ha zk "), "coordinator said: " + first);
                TrainConfig cfg = TrainConfigs.load(yaml, List.of());
                try (JobCoordinator standby = JobCoordinator.start(cfg, new JobCoordinator.Options("ha",
                        zk.connectString(), null, 1, 2, cfg.maxRestarts(), Duration.ofMillis(300), null), "unused");
                     WorkerRegistration w1 = WorkerRegistration.register(client, "ha",
                             WorkerInfo.thisProcess("127.0.0.1", 0, "cpu"));
                     GenerationWatcher watch1 = new GenerationWatcher(client, "ha", w1.workerId())) {
                    watch1.start();
                    Generation g1 = watch1.awaitMembership(Duration.ofSeconds(60));
                    assertEquals(1, g1.number(), "the leader process published generation 1");
                    leader.destroyForcibly();
                    leader.waitFor();
                    try (WorkerRegistration w2 = WorkerRegistration.register(client, "ha",
                            WorkerInfo.thisProcess("127.0.0.1", 0, "cpu"));
                         GenerationWatcher watch2 = new GenerationWatcher(client, "ha", w2.workerId())) {
                        watch2.start();
                        Generation g2 = watch2.awaitMembership(Duration.ofSeconds(60));
                        assertEquals(2, g2.number());
                        assertEquals(List.of(w1.workerId(), w2.workerId()), g2.workerIds());
                        assertTrue(standby.ended().isEmpty(), "the job goes on under the standby");
                        // the leader process is gone: only the standby can have published it
                        assertTrue(!leader.isAlive() && leader.exitValue() == 137, "leader exit " + leader.exitValue());
                    }
                }
            } finally {
                leader.destroyForcibly();
            }
        }
    }
}
