package org.plsc4j.coordinator;

import java.util.Objects;

/**
 * What a worker says about itself while it trains, in its node {@code reports/<worker id>}
 * ({@link JobPaths#report}): where it is in the job and how fast it goes. The dashboard reads these;
 * operators can {@code zkCli get} them.
 *
 * <p>Why in ZooKeeper: every worker already holds a session there and the dashboard already reads
 * the job's generations there, so the report costs one small write a second and no new port or
 * discovery; the node is ephemeral, so a lost worker's report goes with its registration.
 *
 * @param workerId the worker's registration id ("w-0000000003")
 * @param host the worker's host
 * @param pid its process id
 * @param device its device ("cpu", "cuda:0")
 * @param generation the generation it trains in (0: waiting for one)
 * @param rank its rank in that generation (-1: none)
 * @param classStart the first class it owns (inclusive; 0 without a rank)
 * @param classEnd one past the last class it owns (0 without a rank)
 * @param epoch the epoch of its last step
 * @param step the global step counter after its last step
 * @param totalSteps the global step at which the job ends (epochs × steps per epoch)
 * @param stepsPerSec its recent steps per second
 * @param samplesPerSec the job's recent samples per second as this worker sees them (global batch × steps/s)
 * @param loss the loss of its last step (NaN before the first)
 * @param lr the learning rate of its last step
 * @param flushVersion the version (global step) of its last completed shard-store flush (-1: none)
 * @param metricsUrl where its Prometheus {@code /metrics} is served ("" when it serves none)
 * @param timeMillis when this report was made (epoch milliseconds)
 */
public record WorkerReport(String workerId, String host, long pid, String device, long generation, int rank,
        int classStart, int classEnd, int epoch, long step, long totalSteps, double stepsPerSec, double samplesPerSec,
        double loss, double lr, long flushVersion, String metricsUrl, long timeMillis) {

    /** Checks the identifying fields. */
    public WorkerReport {
        RegisteredWorker.sequenceOf(workerId);
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(metricsUrl, "metricsUrl");
    }
}
