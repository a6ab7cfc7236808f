package org.plsc4j.coordinator;

import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.cache.ChildData;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.plsc4j.coordinator.internal.Json;

/** Test waits driven by Curator events (no sleeps): a node's data reaching a predicate. */
final class Await {

    static final Duration TIMEOUT = Duration.ofSeconds(15);

    private Await() {
    }

    /** Waits until the node's data (empty when absent) satisfies {@code p}; returns it. */
    static Optional<byte[]> node(CuratorFramework client, String path, Predicate<Optional<byte[]>> p, String what) {
        CompletableFuture<Optional<byte[]>> done = new CompletableFuture<>();
        try (CuratorCache cache = CuratorCache.build(client, path, CuratorCache.Options.SINGLE_NODE_CACHE)) {
            Runnable check = () -> {
                Optional<byte[]> data = cache.get(path).map(ChildData::getData);
                if (p.test(data)) {
                    done.complete(data);
                }
            };
            cache.listenable().addListener(CuratorCacheListener.builder()
                    .forAll((type, oldData, data) -> check.run())
                    .forInitialized(check)
                    .build());
            cache.start();
            return done.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            return fail("timed out after " + TIMEOUT + " waiting for " + what + " at " + path);
        } catch (InterruptedException | ExecutionException e) {
            return fail(e);
        }
    }

    /** Waits until the job's generation pointer is at least {@code g}; returns that generation. */
    static Generation generation(CuratorFramework client, String jobId, long g) {
        JobPaths paths = JobPaths.of(jobId);
        node(client, paths.generation(), d -> d.isPresent()
                && Long.parseLong(new String(d.get(), StandardCharsets.US_ASCII)) >= g, "generation " + g);
        return new JobStore(client, jobId).readGeneration(g);
    }

    /** Waits until the status node satisfies {@code p}. */
    static JobStatus status(CuratorFramework client, String jobId, Predicate<JobStatus> p, String what) {
        String path = JobPaths.of(jobId).status();
        return Json.status(node(client, path, d -> d.isPresent() && p.test(Json.status(d.get(), path)), what).get(), path);
    }

    /** Waits until {@code path} is gone. */
    static void gone(CuratorFramework client, String path) {
        node(client, path, Optional::isEmpty, "deletion");
    }
}
