package org.plsc4j.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.test.TestingServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.plsc4j.core.collective.CollectiveException;

class ZooKeeperRendezvousTest {

    private static TestingServer zk;
    private static CuratorFramework client;

    @BeforeAll
    static void start() throws Exception {
        zk = TestZk.start();
        client = ZkClients.connect(zk.getConnectString(), null, Duration.ofSeconds(10));
        new JobStore(client, "rdv").createJob(JobSpec.fixed("rdv", 10, 3), new byte[0], "t");
    }

    @AfterAll
    static void stop() throws Exception {
        client.close();
        zk.close();
    }

    @Test
    void allRanksGetEveryAddressInRankOrder() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try {
            List<Future<List<String>>> results = new ArrayList<>();
            for (int r = 2; r >= 0; r--) {
                int rank = r;
                results.add(pool.submit(() -> new ZooKeeperRendezvous(client, "rdv", 1)
                        .exchange(rank, 3, "127.0.0.1:" + (9000 + rank), Await.TIMEOUT)));
            }
            for (Future<List<String>> f : results) {
                assertEquals(List.of("127.0.0.1:9000", "127.0.0.1:9001", "127.0.0.1:9002"),
                        f.get(Await.TIMEOUT.toMillis(), TimeUnit.MILLISECONDS));
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aTimeoutNamesTheMissingRanks() {
        ZooKeeperRendezvous rdv = new ZooKeeperRendezvous(client, "rdv", 2);
        CollectiveException e = assertThrows(CollectiveException.class,
                () -> rdv.exchange(1, 3, "127.0.0.1:9101", Duration.ofMillis(200)));
        assertEquals("zookeeper rendezvous /plsc4j/jobs/rdv/rendezvous/2: rank 1 timed out after PT0.2S waiting for"
                + " rank(s) [0, 2] of world_size 3", e.getMessage());
        e = assertThrows(CollectiveException.class, () -> rdv.exchange(0, 4, "127.0.0.1:9100", Duration.ofMillis(200)));
        assertEquals("zookeeper rendezvous /plsc4j/jobs/rdv/rendezvous/2: rank 0 asked for world_size 4 but generation 2"
                + " has world_size 3", e.getMessage());
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
                () -> rdv.exchange(3, 3, "127.0.0.1:1", Duration.ofMillis(10)));
        assertEquals("rank : 3 / world_size : 3 (expected: 0 <= rank < world_size)", bad.getMessage());
    }

    @Test
    void theCoordinatorDeletesOlderGenerationsRendezvous() throws Exception {
        JobStore store = new JobStore(client, "rdv");
        new ZooKeeperRendezvous(client, "rdv", 7).exchange(0, 1, "h:1", Await.TIMEOUT);
        store.deleteRendezvousBefore(8);
        assertEquals(null, client.checkExists().forPath(store.paths().rendezvous(7)));
    }
}
