package org.plsc4j.coordinator;

/**
 * One rank of a generation: which worker holds it, where it is, and which classes it owns.
 *
 * <p>Why the class range is stored rather than recomputed: it is the contract between the
 * coordinator and the shard store; readers must not depend on the layout code of the writer's
 * version.
 *
 * @param rank the rank, 0-based
 * @param workerId the worker's registration node name
 * @param host the worker's registered host
 * @param port the worker's registered port
 * @param classStart the first class id owned (inclusive)
 * @param classEnd one past the last class id owned (exclusive)
 */
public record RankAssignment(int rank, String workerId, String host, int port, int classStart, int classEnd) {

    /** Number of classes owned. */
    public int classCount() {
        return classEnd - classStart;
    }
}
