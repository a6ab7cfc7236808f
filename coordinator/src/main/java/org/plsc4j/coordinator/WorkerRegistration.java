package org.plsc4j.coordinator;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.curator.framework.CuratorFramework;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.plsc4j.coordinator.internal.Json;

/**
 * A worker's entry in the job registry: an EPHEMERAL_SEQUENTIAL node
 * {@code /plsc4j/jobs/<job>/workers/w-<sequence>} holding its {@link WorkerInfo} as JSON.
 *
 * <p>Why ephemeral: when the worker's ZooKeeper session ends (process killed, machine gone, or
 * {@link #close()}), ZooKeeper removes the node and the coordinator forms the next generation
 * without it; no heartbeat protocol of our own. Why sequential: the sequence fixes the rank order.
 * A registration does not survive a session expiry: the worker must register again and is then a
 * new worker (a new id, ordered after the others), like a restarted torchrun agent.
 */
public final class WorkerRegistration implements AutoCloseable {

    private final CuratorFramework client;
    private final String path;
    private final String workerId;
    private final WorkerInfo info;
    private final AtomicBoolean closed = new AtomicBoolean();

    private WorkerRegistration(CuratorFramework client, String path, WorkerInfo info) {
        this.client = client;
        this.path = path;
        this.workerId = path.substring(path.lastIndexOf('/') + 1);
        this.info = info;
    }

    /**
     * Registers a worker of job {@code jobId} (the job must exist: the coordinator creates it).
     *
     * @throws CoordinatorException if the job does not exist or ZooKeeper refuses (e.g. NoAuth)
     */
    public static WorkerRegistration register(CuratorFramework client, String jobId, WorkerInfo info) {
        Objects.requireNonNull(info, "info");
        JobStore store = new JobStore(client, jobId);
        String prefix = store.paths().workers() + "/" + JobPaths.WORKER_PREFIX;
        try {
            String path = client.create().withMode(CreateMode.EPHEMERAL_SEQUENTIAL).forPath(prefix, Json.worker(info));
            return new WorkerRegistration(client, path, info);
        } catch (KeeperException.NoNodeException e) {
            throw new CoordinatorException("job " + jobId + " does not exist (no " + store.paths().workers()
                    + "): start its coordinator first", e);
        } catch (Exception e) {
            throw JobStore.failure("register a worker of job " + jobId + " at " + prefix, e);
        }
    }

    /** The worker id ("w-0000000003"), as it appears in generations. */
    public String workerId() {
        return workerId;
    }

    /** The registration sequence number. */
    public long sequence() {
        return RegisteredWorker.sequenceOf(workerId);
    }

    /** The node's full path. */
    public String path() {
        return path;
    }

    /** What was registered. */
    public WorkerInfo info() {
        return info;
    }

    /** Whether the node still exists (false after a session expiry or {@link #close()}). */
    public boolean isRegistered() {
        if (closed.get()) {
            return false;
        }
        return JobStore.call("check " + path, () -> client.checkExists().forPath(path) != null);
    }

    /** Deregisters (deletes the node, guaranteed by Curator across connection loss). Idempotent. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            client.delete().guaranteed().forPath(path);
        } catch (KeeperException.NoNodeException gone) {
            // the session already ended
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            // the node is ephemeral: it goes with the session anyway
        }
    }
}
