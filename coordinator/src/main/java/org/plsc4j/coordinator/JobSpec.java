package org.plsc4j.coordinator;

import java.time.Duration;
import java.util.Objects;
import org.plsc4j.core.ClassLayout;

/**
 * What the coordinator needs to know about a job to form generations: how many classes to
 * partition and how, and the torchrun-like membership policy.
 *
 * <p>Why a policy of min/max/settle: workers arrive one by one; publishing a generation for every
 * arrival would re-partition the FC layer N times at start-up. A generation is published once
 * {@code minWorkers} are registered and the membership has not changed for {@code settle}, or at
 * once when {@code maxWorkers} are present. Workers beyond {@code maxWorkers} wait as standbys.
 *
 * @param jobId the job id ({@link JobPaths#checkJobId})
 * @param numClasses C, the number of classes partitioned over the ranks
 * @param layout how class ranges are cut ({@link ClassLayout.Kind})
 * @param minWorkers the smallest world size a generation may have (&gt;= 1)
 * @param maxWorkers the largest world size (&gt;= minWorkers, &lt;= numClasses)
 * <p>Why {@code maxRestarts} (torchrun's {@code --max-restarts}): a job whose workers keep dying
 * (bad node, out of memory at every start) should stop and say so instead of re-forming forever. A
 * <em>restart</em> is a generation published because a member of the current generation is gone;
 * generations caused only by joins (scale-up) are not counted. When a loss would need restart
 * {@code maxRestarts + 1}, the coordinator publishes nothing more and sets the job "failed"
 * ({@link JobStatus#FAILED}).
 *
 * @param settle how long the membership must stay unchanged before a generation below
 *     {@code maxWorkers} is published
 * @param maxRestarts how many restarts (generations caused by lost members) the job may have before
 *     it fails (&gt;= 0; 0: the first loss fails the job)
 */
public record JobSpec(String jobId, int numClasses, ClassLayout.Kind layout, int minWorkers, int maxWorkers,
        Duration settle, int maxRestarts) {

    /**
     * The restart budget of specs built without one, and of stored specs written before the field
     * existed (torchrun's default is also 3).
     */
    public static final int DEFAULT_MAX_RESTARTS = 3;

    /** Validates every field; messages name the field, the value and the expectation. */
    public JobSpec {
        JobPaths.checkJobId(jobId);
        Objects.requireNonNull(layout, "layout");
        Objects.requireNonNull(settle, "settle");
        if (numClasses < 1) {
            throw new IllegalArgumentException("num_classes : " + numClasses + " (expected: >= 1)");
        }
        if (minWorkers < 1) {
            throw new IllegalArgumentException("min_workers : " + minWorkers + " (expected: >= 1)");
        }
        if (maxWorkers < minWorkers) {
            throw new IllegalArgumentException("max_workers : " + maxWorkers + " (expected: >= min_workers = "
                    + minWorkers + ")");
        }
        if (maxWorkers > numClasses) {
            throw new IllegalArgumentException("max_workers : " + maxWorkers + " (expected: <= num_classes = "
                    + numClasses + ", every rank must own a class)");
        }
        if (settle.isNegative()) {
            throw new IllegalArgumentException("settle : " + settle + " (expected: >= 0)");
        }
        if (maxRestarts < 0) {
            throw new IllegalArgumentException("max_restarts : " + maxRestarts + " (expected: >= 0)");
        }
        // every world size the policy may choose must give a valid layout (ceil can leave a rank empty)
        for (int n = minWorkers; n <= maxWorkers; n++) {
            ClassLayout.of(layout, numClasses, n);
        }
    }

    /**
     * A spec with {@link #DEFAULT_MAX_RESTARTS}; kept so that callers written before
     * {@code maxRestarts} existed compile and behave as documented.
     */
    public JobSpec(String jobId, int numClasses, ClassLayout.Kind layout, int minWorkers, int maxWorkers,
            Duration settle) {
        this(jobId, numClasses, layout, minWorkers, maxWorkers, settle, DEFAULT_MAX_RESTARTS);
    }

    /** This spec with another restart budget (validated like the constructor). */
    public JobSpec withMaxRestarts(int maxRestarts) {
        return new JobSpec(jobId, numClasses, layout, minWorkers, maxWorkers, settle, maxRestarts);
    }

    /** A job with the balanced layout, a fixed world size, no settle window and
     * {@link #DEFAULT_MAX_RESTARTS}. */
    public static JobSpec fixed(String jobId, int numClasses, int workers) {
        return new JobSpec(jobId, numClasses, ClassLayout.Kind.BALANCED, workers, workers, Duration.ZERO);
    }

    /** The class layout of a generation with {@code worldSize} ranks. */
    public ClassLayout layoutFor(int worldSize) {
        return ClassLayout.of(layout, numClasses, worldSize);
    }
}
