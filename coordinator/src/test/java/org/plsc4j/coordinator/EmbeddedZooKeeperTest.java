package org.plsc4j.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import org.apache.curator.framework.CuratorFramework;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbeddedZooKeeperTest {

    @Test
    void servesOnLoopbackAndKeepsTheJobAcrossARestart(@TempDir Path dir) {
        JobSpec spec = JobSpec.fixed("embedded", 10, 2);
        EmbeddedZooKeeper first = EmbeddedZooKeeper.start(dir);
        try {
            assertTrue(first.connectString().startsWith("127.0.0.1:"));
            assertTrue(first.port() > 0);
            try (CuratorFramework c = ZkClients.connect(first.connectString(), null, Duration.ofSeconds(10))) {
                assertTrue(new JobStore(c, "embedded").createJob(spec, new byte[] {1, 2}, "t"));
            }
        } finally {
            first.close();
            first.close(); // idempotent
        }
        try (EmbeddedZooKeeper zk = EmbeddedZooKeeper.start(dir);
                CuratorFramework c = ZkClients.connect(zk.connectString(), null, Duration.ofSeconds(10))) {
            JobStore store = new JobStore(c, "embedded");
            assertEquals(spec, store.readSpec());
            assertEquals("t", store.readToken());
            assertTrue(!store.createJob(spec, new byte[0], "other"));
        }
    }
}
