package org.plsc4j.coordinator;

/**
 * What the leading coordinator is doing, as written to the job's {@code status} node.
 *
 * <p>Why a node: workers waiting for a generation and operators ({@code zkCli get}) see why the job
 * does not run, e.g. "waiting for 2 more workers (have 1, min 3)".
 *
 * @param state "waiting" (fewer than min_workers), "settling" (a generation is due after the settle
 *     window) or "running" (the current generation matches the registry)
 * @param generation the current generation number (0: none yet)
 * @param registered the number of registered workers
 * @param standbys the number of registered workers beyond max_workers
 * @param message a human-readable summary
 */
public record JobStatus(String state, long generation, int registered, int standbys, String message) {
}
