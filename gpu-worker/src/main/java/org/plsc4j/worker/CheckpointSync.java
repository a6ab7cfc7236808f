package org.plsc4j.worker;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The trainer's two hooks for copying checkpoints elsewhere (HDFS, in {@code plsc4j-hdfs-sync}),
 * defined here so the worker does not depend on Hadoop; {@link #NONE} does nothing.
 *
 * <p>Why hooks at these points: a download must happen on every rank before the warm start and must
 * know the rank's class range (so a rank fetches only the FC shards it reads); an upload must start
 * on the uploading rank right after a checkpoint commits and must not hold up training; and the job
 * must not report success before the last upload finished.
 */
public interface CheckpointSync extends AutoCloseable {

    /** No copying. */
    CheckpointSync NONE = new CheckpointSync() {
    };

    /**
     * Before the warm start, on every rank: makes the checkpoint to start from available locally.
     *
     * @param rank this rank
     * @param worldSize ranks of the generation
     * @param classStart first class of this rank's FC range
     * @param classEnd one past its last class
     * @return the local checkpoint directory to load, or null to load {@code checkpoint_dir} as configured
     */
    default Path fetch(int rank, int worldSize, int classStart, int classEnd) throws IOException {
        return null;
    }

    /**
     * On rank 0 only, right after {@code checkpoint} (epoch {@code epoch}, step {@code step}) committed.
     * Must return quickly (copy in the background); {@code metrics} (may be null) takes events.
     */
    default void committed(Path checkpoint, int epoch, long step, MetricsLog metrics) {
    }

    /** At the end of training, on every rank: waits for copies in flight; throws when the last one failed. */
    default void drain() throws IOException {
    }

    /** Releases threads and connections; idempotent. */
    @Override
    default void close() throws IOException {
    }
}
