package org.plsc4j.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.plsc4j.core.collective.CollectiveException;

class TcpRendezvousTest {

    private final ExecutorService pool = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "rendezvous-test");
        t.setDaemon(true);
        return t;
    });

    @AfterEach
    void tearDown() {
        pool.shutdownNow();
    }

    private List<Future<Object>> exchangeAll(String address, int worldSize, int[] ranks, String token, Duration timeout) {
        List<Future<Object>> out = new ArrayList<>();
        for (int r : ranks) {
            TcpRendezvous client = TcpRendezvous.parse(address, "job", token);
            out.add(pool.submit(() -> {
                try {
                    return client.exchange(r, worldSize, "10.0.0." + r + ":" + (5000 + r), timeout);
                } catch (RuntimeException e) {
                    return e;
                }
            }));
        }
        return out;
    }

    @Test
    void allRanksGetAllAddressesAndTheServerServesSeveralRounds() throws Exception {
        try (TcpRendezvous.Server server = TcpRendezvous.Server.start(null, 0, "job", "tok")) {
            assertTrue(server.port() > 0);
            assertEquals("127.0.0.1:" + server.port(), server.address());
            for (int round = 0; round < 2; round++) {
                List<Future<Object>> results = exchangeAll(server.address(), 3, new int[] {2, 0, 1}, "tok",
                        Duration.ofSeconds(20));
                for (Future<Object> f : results) {
                    assertEquals(List.of("10.0.0.0:5000", "10.0.0.1:5001", "10.0.0.2:5002"), f.get(30, TimeUnit.SECONDS));
                }
            }
        }
    }

    @Test
    void wrongTokenIsRefused() {
        try (TcpRendezvous.Server server = TcpRendezvous.Server.start("127.0.0.1", 0, "job", "tok")) {
            CollectiveException e = assertThrows(CollectiveException.class, () -> TcpRendezvous
                    .parse(server.address(), "job", "guess").exchange(0, 1, "h:1", Duration.ofSeconds(5)));
            assertTrue(e.getMessage().contains("wrong job id or token"), e.getMessage());
            CollectiveException e2 = assertThrows(CollectiveException.class, () -> TcpRendezvous
                    .parse(server.address(), "other", "tok").exchange(0, 1, "h:1", Duration.ofSeconds(5)));
            assertTrue(e2.getMessage().contains("wrong job id or token"), e2.getMessage());
            // a legitimate single-rank exchange still works afterwards
            assertEquals(List.of("h:1"), TcpRendezvous.parse(server.address(), "job", "tok")
                    .exchange(0, 1, "h:1", Duration.ofSeconds(5)));
        }
    }

    @Test
    void missingRanksAreNamedAfterTheTimeout() throws Exception {
        try (TcpRendezvous.Server server = TcpRendezvous.Server.start(null, 0, "job", "tok")) {
            long t0 = System.nanoTime();
            List<Future<Object>> results = exchangeAll(server.address(), 4, new int[] {0, 2}, "tok", Duration.ofSeconds(1));
            for (Future<Object> f : results) {
                Object r = f.get(30, TimeUnit.SECONDS);
                assertInstanceOf(CollectiveException.class, r);
                assertTrue(((Exception) r).getMessage().contains("waiting for rank(s) [1, 3]"), ((Exception) r).getMessage());
            }
            assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(5));
        }
    }

    private Object exchangeOne(String address, int rank, int worldSize, Duration timeout) {
        try {
            return TcpRendezvous.parse(address, "job", "tok").exchange(rank, worldSize, "h:" + rank, timeout);
        } catch (CollectiveException e) {
            return e;
        }
    }

    @Test
    void duplicateRanksAndInconsistentWorldSizesAreReported() throws Exception {
        try (TcpRendezvous.Server server = TcpRendezvous.Server.start(null, 0, "job", "tok")) {
            // whichever of two "rank 0" arrives second is refused; the first times out waiting for rank 1
            Future<Object> a = pool.submit(() -> exchangeOne(server.address(), 0, 2, Duration.ofSeconds(1)));
            Future<Object> b = pool.submit(() -> exchangeOne(server.address(), 0, 2, Duration.ofSeconds(1)));
            String both = a.get(30, TimeUnit.SECONDS) + " | " + b.get(30, TimeUnit.SECONDS);
            assertTrue(both.contains("rank 0 is already registered") && both.contains("waiting for rank(s) [1]"), both);

            Future<Object> c = pool.submit(() -> exchangeOne(server.address(), 0, 2, Duration.ofSeconds(1)));
            Future<Object> d = pool.submit(() -> exchangeOne(server.address(), 1, 3, Duration.ofSeconds(1)));
            String mismatch = c.get(30, TimeUnit.SECONDS) + " | " + d.get(30, TimeUnit.SECONDS);
            assertTrue(mismatch.matches(".*asked for world_size [23] but the ranks already waiting \\(\\[[01]\\]\\) asked for [23].*"),
                    mismatch);
        }
    }

    @Test
    void clientRetriesUntilTheServerIsUpThenGivesUpNamingTheAddress() {
        CollectiveException e = assertThrows(CollectiveException.class,
                () -> new TcpRendezvous("127.0.0.1", 1, "job", "tok").exchange(0, 2, "a:1", Duration.ofMillis(300)));
        assertTrue(e.getMessage().contains("127.0.0.1:1"), e.getMessage());
    }
}
