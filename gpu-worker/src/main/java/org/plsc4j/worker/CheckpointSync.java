package org.plsc4j.worker;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.plsc4j.checkpoint.CheckpointWriter;
import org.plsc4j.checkpoint.ManifestInfo;

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

    /**
     * Whether checkpoints commit through this sync's remote directory instead of {@code model_save_dir}
     * ({@code shared_save_dir: false}: ranks that do not share a disk). Then {@link #committed} is not
     * called; every rank calls {@link #uploadPart}, and rank 0 {@link #publishRemote} once all succeeded.
     */
    default boolean commitsRemotely() {
        return false;
    }

    /**
     * Every rank of a remote commit: copies its part of checkpoint {@code name} ({@code files}, relative
     * to {@code localStaging}) into the remote staging directory of that checkpoint.
     */
    default void uploadPart(Path localStaging, List<String> files, String name, String stagingId) throws IOException {
        throw new UnsupportedOperationException("uploadPart : remote commits not supported by " + getClass().getName());
    }

    /**
     * Rank 0 of a remote commit, once every rank's part arrived: checks them, writes the manifest and
     * publishes the checkpoint remotely.
     *
     * @return the committed remote checkpoint directory
     */
    default String publishRemote(CheckpointWriter writer, ManifestInfo info, String name, String stagingId)
            throws IOException {
        throw new UnsupportedOperationException("publishRemote : remote commits not supported by " + getClass().getName());
    }

    /** Rank 0 after a failed remote commit: removes the remote staging directory (the committed ones stay). */
    default void abortRemote(String name, String stagingId) throws IOException {
    }

    /** At the end of training, on every rank: waits for copies in flight; throws when the last one failed. */
    default void drain() throws IOException {
    }

    /** Releases threads and connections; idempotent. */
    @Override
    default void close() throws IOException {
    }
}
