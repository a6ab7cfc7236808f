package org.plsc4j.coordinator;

import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The ZooKeeper paths of one job: a public contract (tools, other languages and later plsc4j
 * versions read them), documented in the README's "Coordinator (library)" section.
 *
 * <pre>
 * /plsc4j/jobs/&lt;job&gt;                  JobSpec JSON (with max_restarts)
 *     /token                          job token (UTF-8)
 *     /config                         job configuration bytes (the merged TrainConfig JSON)
 *     /generation                     current generation number, decimal text ("0": none yet)
 *     /generations/&lt;g, 10 digits&gt;      Generation JSON (ranks, workers, class ranges, restarts so far)
 *     /workers/w-&lt;sequence&gt;            EPHEMERAL_SEQUENTIAL, WorkerInfo JSON
 *     /status                         JobStatus JSON (written by the leading coordinator; "failed" and
 *                                     "finished" are terminal)
 *     /leader                         Curator LeaderLatch of the coordinators
 *     /rendezvous/&lt;g&gt;/rank-&lt;r&gt;        "host:port" of rank r for generation g
 *     /reports/w-&lt;sequence&gt;            EPHEMERAL, WorkerReport JSON: the worker's live progress (step,
 *                                     steps/s, flush version, /metrics address), rewritten at most once a second
 * </pre>
 *
 * <p>Why one subtree per job: ACLs, cleanup and inspection ({@code zkCli ls -R}) work per job.
 */
public final class JobPaths {

    /** The parent of every job. */
    public static final String JOBS = "/plsc4j/jobs";
    /** Prefix of the sequential worker node names ("w-0000000007"). */
    public static final String WORKER_PREFIX = "w-";

    private static final Pattern JOB_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

    private final String jobId;
    private final String root;

    private JobPaths(String jobId) {
        this.jobId = checkJobId(jobId);
        this.root = JOBS + "/" + jobId;
    }

    /** The paths of job {@code jobId} (letters, digits, '.', '_', '-'; at most 128 characters). */
    public static JobPaths of(String jobId) {
        return new JobPaths(jobId);
    }

    /** Validates a job id; the message names the value and the expectation. */
    public static String checkJobId(String jobId) {
        if (jobId == null || !JOB_ID.matcher(jobId).matches() || jobId.equals(".") || jobId.equals("..")) {
            throw new IllegalArgumentException("job : " + jobId
                    + " (expected: 1-128 characters of [A-Za-z0-9._-], starting with a letter or digit)");
        }
        return jobId;
    }

    /** The job id. */
    public String jobId() {
        return jobId;
    }

    /** {@code /plsc4j/jobs/<job>}: holds the JobSpec JSON. */
    public String root() {
        return root;
    }

    /** The job token node. */
    public String token() {
        return root + "/token";
    }

    /** The job configuration node. */
    public String config() {
        return root + "/config";
    }

    /** The current-generation pointer. */
    public String generation() {
        return root + "/generation";
    }

    /** The parent of the generation nodes. */
    public String generations() {
        return root + "/generations";
    }

    /** The node of generation {@code g}. */
    public String generation(long g) {
        return generations() + "/" + String.format(Locale.ROOT, "%010d", g);
    }

    /** The parent of the worker registrations. */
    public String workers() {
        return root + "/workers";
    }

    /** The coordinators' leader latch. */
    public String leader() {
        return root + "/leader";
    }

    /** The status node. */
    public String status() {
        return root + "/status";
    }

    /** The parent of the per-generation rendezvous nodes. */
    public String rendezvous() {
        return root + "/rendezvous";
    }

    /** The parent of the workers' live progress reports ({@link WorkerReport}). */
    public String reports() {
        return root + "/reports";
    }

    /** The live report node of worker {@code workerId}. */
    public String report(String workerId) {
        return reports() + "/" + workerId;
    }

    /** The rendezvous node of generation {@code g}. */
    public String rendezvous(long g) {
        return rendezvous() + "/" + g;
    }

    /** The address node of {@code rank} in generation {@code g}. */
    public String rendezvous(long g, int rank) {
        return rendezvous(g) + "/rank-" + rank;
    }
}
