package org.plsc4j.hdfs;

import java.io.ByteArrayOutputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.plsc4j.checkpoint.CheckpointWriter;
import org.plsc4j.checkpoint.Manifest;
import org.plsc4j.checkpoint.ManifestInfo;
import org.plsc4j.checkpoint.StagedFiles;
import org.plsc4j.core.FcDtype;
import org.plsc4j.hdfs.internal.Retry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The checkpoint commit of ranks that do not share a disk, through a directory every rank reaches
 * ({@code fs_dir_for_save}, any Hadoop file system): each rank copies its part of the checkpoint (its
 * FC shard and sidecar; rank 0 also the backbone and optimizer state) from its local staging directory
 * into one remote staging directory {@code <remoteDir>/.<name>.tmp-<stagingId>}; then rank 0 checks
 * the parts as a local commit would ({@link CheckpointWriter#manifestFor}), writes {@code manifest.json}
 * last and renames the directory to {@code <remoteDir>/<name>} (an older one of that name is moved aside
 * first and deleted after). Until that rename nothing is visible: a rank whose copy failed, or a crash
 * at any point, leaves the previous checkpoints as they were, and {@link #abort} removes the staging
 * directory.
 */
public final class RemoteCommit {

    private static final Logger LOG = LoggerFactory.getLogger(RemoteCommit.class);

    private final HdfsSync sync;
    private final FileSystem fs;
    private final Path remoteDir;
    private final Retry retry;

    /** Commits under {@code remoteDir} over {@code sync}'s file system (not closed by this class). */
    public RemoteCommit(HdfsSync sync, String remoteDir) {
        this.sync = Objects.requireNonNull(sync, "sync");
        this.fs = sync.fileSystem();
        this.remoteDir = fs.makeQualified(new Path(Objects.requireNonNull(remoteDir, "remoteDir")));
        this.retry = new Retry(sync.config().attempts(), sync.config().backoff());
    }

    /** The remote staging directory of checkpoint {@code name}. */
    public String stagingDir(String name, String stagingId) {
        return staging(name, stagingId).toString();
    }

    private Path staging(String name, String stagingId) {
        return new Path(remoteDir, "." + name + ".tmp-" + stagingId);
    }

    /**
     * Every rank: copies {@code files} (paths relative to {@code localStaging}) into the remote staging
     * directory of checkpoint {@code name}, checking each copy's size.
     *
     * @return bytes copied
     * @throws IOException naming the file when a copy fails (after the configured retries)
     */
    public long uploadPart(java.nio.file.Path localStaging, List<String> files, String name, String stagingId)
            throws IOException {
        Path dir = staging(name, stagingId);
        long bytes = 0;
        for (String f : files) {
            java.nio.file.Path src = localStaging.resolve(f);
            Path dst = new Path(dir, f);
            long size = java.nio.file.Files.size(src);
            retry.call("upload of " + src + " to", dst.toString(), () -> {
                fs.copyFromLocalFile(false, true, new Path(src.toUri()), dst);
                long got = fs.getFileStatus(dst).getLen();
                if (got != size) {
                    throw new HdfsException(dst + ": size : " + got + " bytes (expected: " + size
                            + " as staged locally)", true);
                }
                return null;
            });
            bytes += size;
        }
        return bytes;
    }

    /**
     * Rank 0, once every rank's {@link #uploadPart} succeeded: checks the parts, writes the manifest,
     * removes the sidecars and publishes {@code <remoteDir>/<name>}; prunes to the newest
     * {@code keepLast} (0: keeps all).
     *
     * @return the committed remote checkpoint directory
     */
    public String publish(CheckpointWriter writer, ManifestInfo info, String name, String stagingId, int keepLast)
            throws IOException {
        Path dir = staging(name, stagingId);
        byte[] manifest = writer.manifestFor(info, view(dir), dir.toString());
        retry.call("write of", new Path(dir, Manifest.FILE_NAME).toString(), () -> {
            try (FSDataOutputStream out = fs.create(new Path(dir, Manifest.FILE_NAME), true)) {
                out.write(manifest);
            }
            return null;
        });
        for (String s : CheckpointWriter.sidecars(info.worldSize())) {
            fs.delete(new Path(dir, s), false);
        }
        Path target = new Path(remoteDir, name);
        if (fs.exists(target)) {
            Path aside = new Path(remoteDir, "." + name + ".old-" + stagingId);
            if (!fs.rename(target, aside)) {
                throw new HdfsException("rename of " + target + " to " + aside + " refused", false);
            }
            if (!fs.rename(dir, target)) {
                fs.rename(aside, target);
                throw new HdfsException("rename of " + dir + " to " + target + " refused", false);
            }
            fs.delete(aside, true);
        } else if (!fs.rename(dir, target)) {
            throw new HdfsException("rename of " + dir + " to " + target + " refused", false);
        }
        LOG.info("checkpoint {} committed through {}: {} ranks, step {}", target, remoteDir, info.worldSize(),
                info.step());
        if (keepLast > 0) {
            sync.prune(remoteDir.toString(), keepLast);
        }
        return target.toString();
    }

    /** Removes the remote staging directory of checkpoint {@code name} (idempotent; the committed ones stay). */
    public void abort(String name, String stagingId) throws IOException {
        fs.delete(staging(name, stagingId), true);
    }

    private StagedFiles view(Path dir) {
        return new StagedFiles() {
            @Override
            public boolean isFile(String path) throws IOException {
                try {
                    return fs.getFileStatus(new Path(dir, path)).isFile();
                } catch (FileNotFoundException e) {
                    return false;
                }
            }

            @Override
            public long size(String path) throws IOException {
                return fs.getFileStatus(new Path(dir, path)).getLen();
            }

            @Override
            public byte[] read(String path) throws IOException {
                try (InputStream in = fs.open(new Path(dir, path))) {
                    ByteArrayOutputStream out = new ByteArrayOutputStream();
                    in.transferTo(out);
                    return out.toByteArray();
                }
            }

            @Override
            public List<String> list(String sub) throws IOException {
                List<String> out = new ArrayList<>();
                try {
                    for (FileStatus s : fs.listStatus(new Path(dir, sub))) {
                        out.add(s.getPath().getName());
                    }
                } catch (FileNotFoundException e) {
                    return out;
                }
                return out;
            }

            @Override
            public String describe(String path) {
                return path.isEmpty() ? dir.toString() : new Path(dir, path).toString();
            }

            @Override
            public FcDtype fcDtype(String path) throws IOException {
                byte[] head = new byte[StagedFiles.HEADER_BYTES];
                int n = 0;
                try (InputStream in = fs.open(new Path(dir, path))) {
                    int r;
                    while (n < head.length && (r = in.read(head, n, head.length - n)) > 0) {
                        n += r;
                    }
                }
                return StagedFiles.fcDtypeOfHeader(java.util.Arrays.copyOf(head, n), describe(path));
            }
        };
    }
}
