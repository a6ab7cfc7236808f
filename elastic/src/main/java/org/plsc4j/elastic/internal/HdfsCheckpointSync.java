package org.plsc4j.elastic.internal;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.plsc4j.checkpoint.CheckpointWriter;
import org.plsc4j.checkpoint.ManifestInfo;
import org.plsc4j.core.TrainConfig;
import org.plsc4j.hdfs.CheckpointUploader;
import org.plsc4j.hdfs.HdfsConfig;
import org.plsc4j.hdfs.HdfsSync;
import org.plsc4j.hdfs.RemoteCommit;
import org.plsc4j.worker.CheckpointSync;
import org.plsc4j.worker.MetricsLog;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The trainer's {@link CheckpointSync} for a job with {@code fs_dir_for_save} and/or
 * {@code fs_checkpoint_dir}: PLSC's meaning, plus background uploads of every epoch.
 *
 * <p>Download ({@code fs_checkpoint_dir} and {@code checkpoint_dir} set): every rank fetches the
 * remote checkpoint (or the newest under it) into {@code checkpoint_dir/<epoch>}, only the files its
 * class range reads; ranks on one machine may share the directory. Upload ({@code fs_dir_for_save}):
 * rank 0 queues each committed checkpoint on a {@link CheckpointUploader} and logs every result to
 * metrics.jsonl as {@code hdfs_upload} (epoch, bytes, seconds, remote, pruned; error on failure).
 * The connection is opened on first use, so ranks that never upload or download never connect.
 */
public final class HdfsCheckpointSync implements CheckpointSync {

    private static final Logger LOG = LoggerFactory.getLogger(HdfsCheckpointSync.class);

    private final TrainConfig config;
    private final HdfsConfig hdfs;
    private final AtomicBoolean closed = new AtomicBoolean();
    private HdfsSync sync;
    private CheckpointUploader uploader;
    private RemoteCommit remoteCommit;
    private volatile MetricsLog metrics;
    private IOException failedToConnect;

    HdfsCheckpointSync(TrainConfig config, HdfsConfig hdfs) {
        this.config = config;
        this.hdfs = hdfs;
    }

    /** The sync {@code config} asks for: {@link CheckpointSync#NONE} when no fs_* directory is set. */
    public static CheckpointSync forConfig(TrainConfig config) {
        return forConfig(config, HdfsConfig.of(config));
    }

    /** Likewise with explicit connection settings (tests shorten the retries). */
    public static CheckpointSync forConfig(TrainConfig config, HdfsConfig hdfs) {
        if (!config.hdfsUpload() && !config.hdfsDownload()) {
            return CheckpointSync.NONE;
        }
        return new HdfsCheckpointSync(config, hdfs);
    }

    private synchronized HdfsSync sync() throws IOException {
        if (closed.get()) {
            throw new IllegalStateException("hdfs sync : closed (expected: open until training ends)");
        }
        if (sync == null) {
            sync = HdfsSync.connect(hdfs);
        }
        return sync;
    }

    @Override
    public Path fetch(int rank, int worldSize, int classStart, int classEnd) throws IOException {
        if (!config.hdfsDownload()) {
            return null;
        }
        HdfsSync.Transfer t = sync().download(config.fsCheckpointDir(), Path.of(config.checkpointDir()), classStart,
                classEnd);
        LOG.info("rank {} of {}: fetched {} into {} for classes [{}, {}): {} files, {} bytes ({} already there)"
                + " in {} s", rank, worldSize, t.remote(), t.local(), classStart, classEnd, t.files(), t.bytes(),
                t.skipped(), String.format(Locale.ROOT, "%.2f", t.seconds()));
        return t.local();
    }

    @Override
    public synchronized void committed(Path checkpoint, int epoch, long step, MetricsLog metrics) {
        if (!config.hdfsUpload()) {
            return;
        }
        this.metrics = metrics;
        if (uploader == null) {
            try {
                int keep = config.hdfsKeepLast() == null ? 0 : config.hdfsKeepLast();
                uploader = new CheckpointUploader(sync(), config.fsDirForSave(), keep, this::report);
                uploader.start();
            } catch (IOException e) {
                // the connection itself failed: report like a failed upload; drain() fails the job
                report(new CheckpointUploader.Result(epoch, checkpoint, null, 0, 0, java.util.List.of(), e));
                failedToConnect = e;
                return;
            }
        }
        uploader.submit(checkpoint, epoch);
    }

    @Override
    public boolean commitsRemotely() {
        return !config.sharedSaveDir() && config.hdfsUpload();
    }

    private synchronized RemoteCommit remoteCommit() throws IOException {
        if (remoteCommit == null) {
            remoteCommit = new RemoteCommit(sync(), config.fsDirForSave());
        }
        return remoteCommit;
    }

    @Override
    public void uploadPart(Path localStaging, java.util.List<String> files, String name, String stagingId)
            throws IOException {
        long t0 = System.nanoTime();
        long bytes = remoteCommit().uploadPart(localStaging, files, name, stagingId);
        LOG.info("checkpoint {}: uploaded this rank's part ({} files, {} bytes) to {} in {} s", name, files.size(),
                bytes, remoteCommit().stagingDir(name, stagingId),
                String.format(Locale.ROOT, "%.2f", (System.nanoTime() - t0) / 1e9));
    }

    @Override
    public String publishRemote(CheckpointWriter writer, ManifestInfo info, String name, String stagingId)
            throws IOException {
        int keep = config.hdfsKeepLast() == null ? 0 : config.hdfsKeepLast();
        return remoteCommit().publish(writer, info, name, stagingId, keep);
    }

    @Override
    public void abortRemote(String name, String stagingId) throws IOException {
        remoteCommit().abort(name, stagingId);
    }

    private void report(CheckpointUploader.Result r) {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("epoch", r.epoch());
        f.put("bytes", r.bytes());
        f.put("seconds", r.seconds());
        f.put("local", r.local().toString());
        if (r.error() == null) {
            f.put("remote", r.remote());
            f.put("pruned", r.pruned());
        } else {
            f.put("error", r.error().getMessage());
        }
        MetricsLog m = metrics;
        if (m != null) {
            m.event("hdfs_upload", f);
        }
    }

    @Override
    public void drain() throws IOException {
        CheckpointUploader u;
        synchronized (this) {
            if (failedToConnect != null) {
                throw failedToConnect;
            }
            u = uploader;
        }
        if (u != null) {
            u.drain();
        }
    }

    @Override
    public synchronized void close() throws IOException {
        if (closed.compareAndSet(false, true)) {
            if (uploader != null) {
                uploader.close();
            }
            if (sync != null) {
                sync.close();
            }
        }
    }
}
