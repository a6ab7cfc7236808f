package org.plsc4j.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One daemon thread per rank, for benchmarks whose ranks are threads of one JVM: runs a task on
 * every rank at once and reports the wall time from the common start to the last rank's return.
 */
final class RankThreads implements AutoCloseable {

    /** A rank's part of one round. */
    interface RankTask {
        void run(int rank) throws Exception;
    }

    private final ExecutorService pool;
    private final int ranks;

    RankThreads(String namePrefix, int ranks) {
        this.ranks = ranks;
        AtomicInteger ids = new AtomicInteger();
        this.pool = Executors.newFixedThreadPool(ranks, r -> {
            Thread t = new Thread(r, namePrefix + ids.getAndIncrement());
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Runs {@code task} on every rank; returns the milliseconds from the moment they were all released
     * to the moment the last finished. The first failure is rethrown (with its rank) once all returned.
     */
    double runAll(RankTask task) throws Exception {
        CountDownLatch ready = new CountDownLatch(ranks);
        CountDownLatch go = new CountDownLatch(1);
        long[] end = new long[ranks];
        List<Future<?>> futures = new ArrayList<>();
        for (int r = 0; r < ranks; r++) {
            int rank = r;
            futures.add(pool.submit(() -> {
                ready.countDown();
                go.await();
                try {
                    task.run(rank);
                } finally {
                    end[rank] = System.nanoTime();
                }
                return null;
            }));
        }
        ready.await();
        long start = System.nanoTime();
        go.countDown();
        Exception first = null;
        for (int r = 0; r < ranks; r++) {
            try {
                futures.get(r).get();
            } catch (ExecutionException e) {
                if (first == null) {
                    first = new IllegalStateException("rank " + r + ": " + FcBench.describe(e.getCause()), e.getCause());
                }
            }
        }
        if (first != null) {
            throw first;
        }
        long last = start;
        for (long t : end) {
            last = Math.max(last, t);
        }
        return Stats.ms(start, last);
    }

    @Override
    public void close() {
        pool.shutdownNow();
        try {
            pool.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
