package org.plsc4j.hdfs;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.hadoop.fs.FileSystem;
import org.plsc4j.hdfs.internal.HadoopFileSystems;
import org.plsc4j.hdfs.internal.Retry;
import org.plsc4j.hdfs.internal.Transfers;

/**
 * Copies checkpoints between a local model directory and a Hadoop file system (HDFS, or {@code file://}
 * with no server), through Hadoop's {@code FileSystem} client.
 *
 * <p>Why not {@code hadoop fs -put} like PLSC: a shell-out copies whatever is there, partial or not,
 * and leaves half-written directories that a reader takes for checkpoints. Here every file is checked
 * against the checkpoint's own manifest (size and sha256), an upload becomes visible by one rename of
 * a hidden staging directory, a download writes each file by rename after checking it and the
 * manifest last, and a rank can fetch only the files for its class range. Transient errors are
 * retried with exponential backoff; the final error names the remote path.
 *
 * <p>Remote layout: {@code <dir>/<epoch>/} exactly as locally (see the checkpoint module); staging
 * directories are {@code <dir>/.<epoch>.tmp-<uuid>} and are never listed as checkpoints.
 * Thread-safe; one instance holds one private {@code FileSystem}, released by {@link #close()}.
 */
public final class HdfsSync implements AutoCloseable {

    /** Called after each file is copied. */
    @FunctionalInterface
    public interface Progress {
        /** {@code path} (relative to the checkpoint directory) was copied: {@code bytes} bytes. */
        void copied(String path, long bytes) throws IOException;
    }

    /**
     * What an upload or download did.
     *
     * @param remote the remote checkpoint directory (qualified URI)
     * @param local the local checkpoint directory
     * @param files files copied (including the manifest)
     * @param bytes bytes copied
     * @param skipped files not copied because the destination already held them, verified
     * @param seconds wall time
     */
    public record Transfer(String remote, Path local, int files, long bytes, int skipped, double seconds) {

        /** MB/s (10^6 bytes) of this transfer. */
        public double mbPerSec() {
            return seconds <= 0 ? 0 : bytes / 1e6 / seconds;
        }
    }

    private final HdfsConfig config;
    private final FileSystem fs;
    private final Transfers transfers;
    private final AtomicBoolean closed = new AtomicBoolean();

    private HdfsSync(HdfsConfig config, FileSystem fs) {
        this.config = config;
        this.fs = fs;
        this.transfers = new Transfers(fs, new Retry(config.attempts(), config.backoff()), config.verifyReadBack());
    }

    /** Connects to {@code config.fsName()} as the configured identity. */
    public static HdfsSync connect(HdfsConfig config) throws IOException {
        return new HdfsSync(config, HadoopFileSystems.open(config));
    }

    /** The configuration connected with. */
    public HdfsConfig config() {
        return config;
    }

    /** The Hadoop file system (for callers that need more than checkpoints, e.g. the benchmark's baseline). */
    public FileSystem fileSystem() {
        return fs;
    }

    /** Replaces the per-file progress callback (null: none). */
    public void progress(Progress p) {
        transfers.listener(p == null ? null : p::copied);
    }

    /**
     * Uploads the committed local checkpoint directory {@code localCheckpoint} (e.g.
     * {@code model_save_dir/3}) to {@code remoteDir/<its name>}. When the remote copy already has the
     * same manifest nothing is copied; a different remote checkpoint of that name is replaced.
     *
     * @throws HdfsException naming the path; the remote directory then shows no new checkpoint
     */
    public Transfer upload(Path localCheckpoint, String remoteDir) throws IOException {
        long t0 = System.nanoTime();
        Transfers.Result r = transfers.upload(localCheckpoint, transfers.qualify(remoteDir));
        return result(r, t0);
    }

    /**
     * The remote checkpoint {@code remote} names: itself when it holds a manifest, else the newest
     * complete numbered checkpoint under it; empty when there is none.
     */
    public Optional<String> resolve(String remote) throws IOException {
        return transfers.resolve(transfers.qualify(remote)).map(Object::toString);
    }

    /** The complete numbered checkpoints under {@code remoteDir}, oldest first. */
    public List<String> list(String remoteDir) throws IOException {
        return transfers.complete(transfers.qualify(remoteDir)).stream().map(Object::toString).toList();
    }

    /**
     * Downloads every file of remote checkpoint {@code remote} (or the newest under it) into
     * {@code localDir/<its name>}.
     */
    public Transfer download(String remote, Path localDir) throws IOException {
        return download(remote, localDir, -1, -1);
    }

    /**
     * Downloads what a rank owning classes {@code [classStart, classEnd)} reads — the manifest, the
     * backbone and optimizer arrays and the FC shard files overlapping the range — of remote
     * checkpoint {@code remote} (or the newest under it) into {@code localDir/<its name>}. Several
     * processes may do this into the same directory at once. {@code classStart < 0}: every file.
     *
     * @throws HdfsException naming the remote path when there is no checkpoint, a file is corrupt, or
     *     the local directory holds a different checkpoint (which is left untouched)
     */
    public Transfer download(String remote, Path localDir, int classStart, int classEnd) throws IOException {
        long t0 = System.nanoTime();
        org.apache.hadoop.fs.Path src = transfers.resolve(transfers.qualify(remote)).orElseThrow(
                () -> new HdfsException("fs_checkpoint_dir : " + transfers.qualify(remote) + " (expected: a checkpoint"
                        + " directory with manifest.json, or a directory holding numbered checkpoints)", false));
        return result(transfers.download(src, localDir, classStart, classEnd), t0);
    }

    /** Deletes all but the newest {@code keepLast} complete checkpoints under {@code remoteDir}; returns them. */
    public List<String> prune(String remoteDir, int keepLast) throws IOException {
        if (keepLast < 1) {
            throw new IllegalArgumentException("hdfs_keep_last : " + keepLast + " (expected: >= 1 to prune)");
        }
        return transfers.prune(transfers.qualify(remoteDir), keepLast).stream().map(Object::toString).toList();
    }

    @Override
    public void close() throws IOException {
        if (closed.compareAndSet(false, true)) {
            fs.close();
        }
    }

    private static Transfer result(Transfers.Result r, long t0) {
        return new Transfer(r.remote().toString(), r.local(), r.files(), r.bytes(), r.skipped(),
                (System.nanoTime() - t0) / 1e9);
    }
}
