package org.plsc4j.core;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.IntFunction;
import org.plsc4j.core.collective.Collective;

/** Runs one task per rank concurrently (each rank a thread) and collects the results in rank order. */
public final class Ranks {

    private Ranks() {
    }

    /** A per-rank task. */
    public interface Task<T> {
        /** The work of one rank. */
        T run(Collective c) throws Exception;
    }

    /** Runs {@code task} on every member of {@code group} at once; rethrows the first failure. */
    public static <T> List<T> run(List<Collective> group, Task<T> task) {
        return runIndexed(group.size(), r -> () -> task.run(group.get(r)));
    }

    /** Runs {@code n} callables at once, bounded by a generous timeout so a bug cannot hang the build. */
    public static <T> List<T> runIndexed(int n, IntFunction<java.util.concurrent.Callable<T>> tasks) {
        ExecutorService pool = Executors.newFixedThreadPool(n, r -> {
            Thread t = new Thread(r, "test-rank");
            t.setDaemon(true);
            return t;
        });
        try {
            List<Future<T>> futures = new ArrayList<>();
            for (int r = 0; r < n; r++) {
                futures.add(pool.submit(tasks.apply(r)));
            }
            List<T> out = new ArrayList<>();
            for (Future<T> f : futures) {
                out.add(f.get(120, TimeUnit.SECONDS));
            }
            return out;
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException(cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (TimeoutException e) {
            throw new IllegalStateException("a rank did not finish within 120 s", e);
        } finally {
            pool.shutdownNow();
        }
    }
}
