package org.plsc4j.nccl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.plsc4j.core.collective.CollectiveConfig;
import org.plsc4j.core.collective.CollectiveException;
import org.plsc4j.core.collective.Rendezvous;
import org.plsc4j.core.internal.InMemoryRendezvous;
import org.plsc4j.nccl.internal.UniqueIdExchange;

/** Rank 0's NCCL unique id reaches every rank through the rendezvous; another token is refused (no GPU needed). */
class UniqueIdExchangeTest {

    /** Runs the exchange on every rank; per rank the id or the error. */
    private static List<Object> exchange(int n, String[] tokens, Rendezvous rv, byte[] id) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Future<Object>> fs = new ArrayList<>();
            for (int r = 0; r < n; r++) {
                CollectiveConfig c = CollectiveConfig.builder().jobId("j").token(tokens[r]).rank(r).worldSize(n)
                        .timeout(Duration.ofSeconds(20)).rendezvous(rv).build();
                fs.add(pool.submit(() -> {
                    try {
                        return UniqueIdExchange.exchange(c, c.rank() == 0 ? id : null);
                    } catch (CollectiveException e) {
                        return e;
                    }
                }));
            }
            List<Object> out = new ArrayList<>();
            for (Future<Object> f : fs) {
                out.add(f.get(30, TimeUnit.SECONDS));
            }
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void everyRankGetsRankZerosIdInTheAddressShapeZooKeeperAccepts() throws Exception {
        byte[] id = new byte[128];
        for (int i = 0; i < id.length; i++) {
            id[i] = (byte) (i * 37 - 5);
        }
        List<String> published = new ArrayList<>();
        Rendezvous inner = new InMemoryRendezvous(3);
        Rendezvous recording = (rank, world, address, timeout) -> {
            synchronized (published) {
                published.add(address);
            }
            return inner.exchange(rank, world, address, timeout);
        };
        List<Object> got = exchange(3, new String[] {"t", "t", "t"}, recording, id);
        for (Object o : got) {
            assertArrayEquals(id, (byte[]) o);
        }
        for (String a : published) {
            assertTrue(a.lastIndexOf(':') > 0, a); // ZooKeeperRendezvous's host:port check
        }
    }

    @Test
    void aRankWithAnotherTokenRefusesToJoin() throws Exception {
        List<Object> got = exchange(3, new String[] {"right", "wrong", "right"}, new InMemoryRendezvous(3), new byte[128]);
        assertInstanceOf(byte[].class, got.get(0));
        CollectiveException e = assertInstanceOf(CollectiveException.class, got.get(1));
        assertEquals("nccl rank 1 : job token refused (rank 0 of job j has another token)", e.getMessage());
        assertInstanceOf(byte[].class, got.get(2));
    }
}
