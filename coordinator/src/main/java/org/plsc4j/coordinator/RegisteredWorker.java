package org.plsc4j.coordinator;

/**
 * A worker as the registry sees it: the name of its ephemeral node, the sequence number ZooKeeper
 * gave it, and what it registered.
 *
 * <p>Why the sequence: ranks are assigned in registration order, so two coordinators (or one after
 * a restart) derive the same ranks from the same registry.
 *
 * @param workerId the node name under {@code workers/}, e.g. "w-0000000003"
 * @param sequence the sequence number parsed from the name
 * @param info the registered host, port, pid and device
 */
public record RegisteredWorker(String workerId, long sequence, WorkerInfo info) {

    /** The sequence number of a worker node name; the message names the value on failure. */
    public static long sequenceOf(String workerId) {
        if (workerId == null || !workerId.startsWith(JobPaths.WORKER_PREFIX)) {
            throw new IllegalArgumentException("worker_id : " + workerId + " (expected: w-<sequence>)");
        }
        try {
            return Long.parseLong(workerId.substring(JobPaths.WORKER_PREFIX.length()));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("worker_id : " + workerId + " (expected: w-<sequence>)", e);
        }
    }
}
