package org.plsc4j.coordinator;

/**
 * What the leading coordinator is doing, as written to the job's {@code status} node.
 *
 * <p>Why a node: workers waiting for a generation and operators ({@code zkCli get}) see why the job
 * does not run, e.g. "waiting for 2 more workers (have 1, min 3)".
 *
 * <p>States: {@value #WAITING} (fewer than min_workers), {@value #SETTLING} (a generation is due
 * after the settle window), {@value #RUNNING} (the current generation matches the registry), and
 * the two terminal ones: {@value #FAILED} (written by the coordinator when a lost member would need
 * more than max_restarts restarts) and {@value #FINISHED} (written by a launcher through
 * {@link JobStore#writeStatus} when the job ends normally). Why terminal states: once one is
 * written, no coordinator (the leader, or a standby taking over later) publishes a generation or
 * overwrites the status, and {@link GenerationWatcher} wakes its waiting callers at once.
 *
 * @param state one of the states above
 * @param generation the current generation number (0: none yet)
 * @param registered the number of registered workers
 * @param standbys the number of registered workers beyond max_workers
 * @param message a human-readable summary
 */
public record JobStatus(String state, long generation, int registered, int standbys, String message) {

    /** Fewer than min_workers are registered. */
    public static final String WAITING = "waiting";
    /** A generation is due once the settle window passes without a registry change. */
    public static final String SETTLING = "settling";
    /** The current generation matches the registry. */
    public static final String RUNNING = "running";
    /** Terminal: the restart budget (max_restarts) is exhausted; nothing more is published. */
    public static final String FAILED = "failed";
    /** Terminal: the job ended normally (written by whoever runs the job). */
    public static final String FINISHED = "finished";

    /** Whether {@link #state} is {@value #FAILED} or {@value #FINISHED}: the job publishes nothing more. */
    public boolean isTerminal() {
        return FAILED.equals(state) || FINISHED.equals(state);
    }

    /** Whether {@link #state} is {@value #FAILED}. */
    public boolean isFailed() {
        return FAILED.equals(state);
    }
}
