package org.plsc4j.hdfs.internal;

import java.io.ByteArrayOutputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.plsc4j.checkpoint.Checkpoint;
import org.plsc4j.checkpoint.Manifest;
import org.plsc4j.core.ClassLayout;
import org.plsc4j.hdfs.HdfsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The verified copies behind {@code HdfsSync}. Remote paths are Hadoop {@link Path}s, local ones
 * {@link java.nio.file.Path}s.
 *
 * <p>Upload: every manifest file, then {@code manifest.json}, goes to {@code <parent>/.<name>.tmp-<uuid>}
 * while the bytes sent are hashed and compared with the manifest; the remote sizes (and, with
 * read-back, the remote sha256) are checked; then one rename publishes {@code <parent>/<name>}.
 * Download: only the files asked for, each into a hidden temporary sibling, hashed while read,
 * renamed into place when it matches the manifest; the manifest is written last.
 */
public final class Transfers {

    private static final Logger LOG = LoggerFactory.getLogger(Transfers.class);
    private static final Pattern EPOCH = Pattern.compile("[0-9]{1,18}");
    private static final int BUFFER = 1 << 20;

    /** Called after each file is copied (tests stop a datanode here; the CLI prints progress). */
    @FunctionalInterface
    public interface Listener {
        /** {@code path} (relative to the checkpoint) was copied: {@code bytes} bytes. */
        void copied(String path, long bytes) throws IOException;
    }

    /**
     * What a copy did.
     *
     * @param remote the remote checkpoint directory
     * @param local the local checkpoint directory
     * @param files files copied (not counting those already present)
     * @param bytes bytes copied
     * @param skipped files already present and verified
     */
    public record Result(Path remote, java.nio.file.Path local, int files, long bytes, int skipped) {
    }

    private final FileSystem fs;
    private final Retry retry;
    private final boolean verifyReadBack;
    private volatile Listener listener = (p, b) -> { };

    /** Copies over {@code fs}. */
    public Transfers(FileSystem fs, Retry retry, boolean verifyReadBack) {
        this.fs = fs;
        this.retry = retry;
        this.verifyReadBack = verifyReadBack;
    }

    /** Replaces the per-file listener. */
    public void listener(Listener l) {
        this.listener = l == null ? (p, b) -> { } : l;
    }

    /** {@code path} made absolute in the file system (relative paths resolve against its working directory). */
    public Path qualify(String path) {
        return fs.makeQualified(new Path(path));
    }

    // ------------------------------------------------------------------ upload

    /** Uploads the committed checkpoint {@code local} as {@code remoteParent/<local's name>}. */
    public Result upload(java.nio.file.Path local, Path remoteParent) throws IOException {
        Checkpoint ck = Checkpoint.open(local);
        Manifest m = ck.manifest();
        byte[] manifestBytes = Files.readAllBytes(local.resolve(Manifest.FILE_NAME));
        String name = local.getFileName().toString();
        Path target = new Path(remoteParent, name);
        retry.call("mkdirs", remoteParent.toString(), () -> fs.mkdirs(remoteParent));
        byte[] existing = readIfExists(new Path(target, Manifest.FILE_NAME));
        if (existing != null && Arrays.equals(existing, manifestBytes)) {
            LOG.info("{} already holds this checkpoint; nothing uploaded", target);
            return new Result(target, local, 0, 0, m.files().size() + 1);
        }
        String id = UUID.randomUUID().toString();
        Path staging = new Path(remoteParent, "." + name + ".tmp-" + id);
        boolean published = false;
        try {
            int files = 0;
            long bytes = 0;
            for (Manifest.FileEntry f : m.files()) {
                Path dst = new Path(staging, f.path());
                java.nio.file.Path src = local.resolve(f.path());
                retry.call("upload of " + src + " to", dst.toString(), () -> put(src, dst, f.bytes(), f.sha256()));
                files++;
                bytes += f.bytes();
                listener.copied(f.path(), f.bytes());
            }
            Path manifestDst = new Path(staging, Manifest.FILE_NAME);
            String manifestSha = sha256(manifestBytes);
            retry.call("upload of manifest to", manifestDst.toString(), () -> {
                try (FSDataOutputStream out = fs.create(manifestDst, true)) {
                    out.write(manifestBytes);
                }
                return null;
            });
            files++;
            bytes += manifestBytes.length;
            for (Manifest.FileEntry f : m.files()) {
                verifyRemote(new Path(staging, f.path()), f.bytes(), f.sha256());
            }
            verifyRemote(manifestDst, manifestBytes.length, manifestSha);
            publish(staging, target, remoteParent, name, id);
            published = true;
            return new Result(target, local, files, bytes, 0);
        } finally {
            if (!published) {
                deleteQuietly(staging);
            }
        }
    }

    private Void put(java.nio.file.Path src, Path dst, long expectedBytes, String expectedSha) throws IOException {
        MessageDigest md = Sha.digest();
        long n = 0;
        byte[] buf = new byte[BUFFER];
        try (InputStream in = Files.newInputStream(src); FSDataOutputStream out = fs.create(dst, true)) {
            int r;
            while ((r = in.read(buf)) > 0) {
                out.write(buf, 0, r);
                md.update(buf, 0, r);
                n += r;
            }
        }
        String sha = Sha.hex(md.digest());
        if (n != expectedBytes || !sha.equals(expectedSha)) {
            throw new HdfsException(src + ": " + n + " bytes, sha256 " + sha + " (expected: " + expectedBytes
                    + " bytes, sha256 " + expectedSha + " as in " + Manifest.FILE_NAME
                    + "; the local checkpoint changed or is corrupt, nothing was published)", true);
        }
        return null;
    }

    private void verifyRemote(Path file, long expectedBytes, String expectedSha) throws IOException {
        FileStatus st = retry.call("stat of", file.toString(), () -> fs.getFileStatus(file));
        if (st.getLen() != expectedBytes) {
            throw new HdfsException(file + ": size : " + st.getLen() + " bytes (expected: " + expectedBytes
                    + " as in " + Manifest.FILE_NAME + "; nothing was published)", true);
        }
        if (verifyReadBack) {
            String sha = retry.call("read-back of", file.toString(), () -> remoteSha(file));
            if (!sha.equals(expectedSha)) {
                throw new HdfsException(file + ": sha256 : " + sha + " (expected: " + expectedSha + " as in "
                        + Manifest.FILE_NAME + "; nothing was published)", true);
            }
        }
    }

    private void publish(Path staging, Path target, Path parent, String name, String id) throws IOException {
        retry.call("publish of", target.toString(), () -> {
            if (fs.exists(target)) {
                // an older upload of the same epoch (another run): swap it out, then delete it
                Path aside = new Path(parent, "." + name + ".old-" + id);
                if (!fs.rename(target, aside)) {
                    throw new HdfsException("rename of " + target + " to " + aside + " refused", false);
                }
                if (!fs.rename(staging, target)) {
                    fs.rename(aside, target);
                    throw new HdfsException("rename of " + staging + " to " + target + " refused", false);
                }
                fs.delete(aside, true);
            } else if (!fs.rename(staging, target)) {
                throw new java.io.IOException("rename of " + staging + " to " + target + " refused");
            }
            return null;
        });
    }

    // ------------------------------------------------------------------ finding and pruning

    /**
     * {@code remote} itself when it holds a manifest, else the complete checkpoint with the highest
     * numeric name under it (hidden staging directories and directories without a manifest ignored).
     */
    public Optional<Path> resolve(Path remote) throws IOException {
        if (retry.call("stat of", remote.toString(), () -> fs.exists(new Path(remote, Manifest.FILE_NAME)))) {
            return Optional.of(remote);
        }
        List<Path> all = complete(remote);
        return all.isEmpty() ? Optional.empty() : Optional.of(all.get(all.size() - 1));
    }

    /** The complete numbered checkpoints under {@code parent}, oldest first. */
    public List<Path> complete(Path parent) throws IOException {
        FileStatus[] sts;
        try {
            sts = retry.call("listing of", parent.toString(), () -> fs.listStatus(parent));
        } catch (HdfsException e) {
            if (e.getCause() instanceof FileNotFoundException) {
                return List.of();
            }
            throw e;
        }
        List<Path> out = new ArrayList<>();
        for (FileStatus s : sts) {
            String n = s.getPath().getName();
            if (s.isDirectory() && EPOCH.matcher(n).matches()
                    && retry.call("stat of", s.getPath().toString(), () -> fs.exists(new Path(s.getPath(), Manifest.FILE_NAME)))) {
                out.add(s.getPath());
            }
        }
        out.sort(Comparator.comparingLong(p -> Long.parseLong(p.getName())));
        return out;
    }

    /** Deletes all but the newest {@code keep} complete checkpoints under {@code parent}; returns the deleted ones. */
    public List<Path> prune(Path parent, int keep) throws IOException {
        List<Path> all = complete(parent);
        List<Path> gone = new ArrayList<>();
        for (int i = 0; i < all.size() - keep; i++) {
            Path p = all.get(i);
            retry.call("delete of", p.toString(), () -> fs.delete(p, true));
            gone.add(p);
        }
        if (!gone.isEmpty()) {
            LOG.info("pruned {} old checkpoint(s) under {} (hdfs_keep_last {})", gone.size(), parent, keep);
        }
        return gone;
    }

    // ------------------------------------------------------------------ download

    /**
     * Downloads remote checkpoint {@code remote} into {@code localParent/<remote's name>}: the files
     * a rank owning classes {@code [classStart, classEnd)} reads (all files when {@code classStart < 0}),
     * then the manifest. Files already present with the manifest's sha256 are kept.
     *
     * @throws HdfsException naming the local directory when it holds a different checkpoint (it is
     *     not touched), or naming a remote file whose size or sha256 does not match the manifest
     */
    public Result download(Path remote, java.nio.file.Path localParent, int classStart, int classEnd)
            throws IOException {
        Path remoteManifest = new Path(remote, Manifest.FILE_NAME);
        byte[] manifestBytes = retry.call("read of", remoteManifest.toString(), () -> readAll(remoteManifest));
        java.nio.file.Path target = localParent.resolve(remote.getName());
        Files.createDirectories(target);
        java.nio.file.Path localManifest = target.resolve(Manifest.FILE_NAME);
        if (Files.isRegularFile(localManifest) && !Arrays.equals(Files.readAllBytes(localManifest), manifestBytes)) {
            throw new HdfsException(target + " : holds a different checkpoint than " + remote
                    + " (expected: an empty or matching directory; the local checkpoint was not overwritten)", false);
        }
        Manifest m = parse(manifestBytes, target, remoteManifest);
        int files = 0;
        int skipped = 0;
        long bytes = 0;
        for (String path : needed(m, classStart, classEnd)) {
            Manifest.FileEntry f = m.file(path);
            java.nio.file.Path dst = target.resolve(path);
            if (Files.isRegularFile(dst) && Files.size(dst) == f.bytes() && Sha.ofFile(dst).equals(f.sha256())) {
                skipped++;
                continue;
            }
            Path src = new Path(remote, path);
            retry.call("download of", src.toString(), () -> get(src, dst, f));
            files++;
            bytes += f.bytes();
            listener.copied(path, f.bytes());
        }
        java.nio.file.Path tmp = target.resolve("." + Manifest.FILE_NAME + ".tmp-" + UUID.randomUUID());
        Files.write(tmp, manifestBytes);
        Files.move(tmp, localManifest, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        return new Result(remote, target, files + 1, bytes + manifestBytes.length, skipped);
    }

    /** The manifest files a reader of classes {@code [classStart, classEnd)} opens: backbone, arrays, overlapping FC shards. */
    public static Set<String> needed(Manifest m, int classStart, int classEnd) {
        Set<String> out = new LinkedHashSet<>();
        if (classStart < 0) {
            m.files().forEach(f -> out.add(f.path()));
            return out;
        }
        out.addAll(m.backbone().values());
        m.arrays().values().forEach(g -> out.addAll(g.values()));
        ClassLayout layout = m.classLayout();
        for (int r = layout.ownerOf(classStart); r < layout.worldSize() && layout.start(r) < classEnd; r++) {
            Manifest.Shard s = m.shards().get(r);
            out.add(s.weights());
            out.add(s.momentum());
        }
        return out;
    }

    private Void get(Path src, java.nio.file.Path dst, Manifest.FileEntry f) throws IOException {
        Files.createDirectories(dst.getParent());
        java.nio.file.Path tmp = dst.resolveSibling("." + dst.getFileName() + ".tmp-" + UUID.randomUUID());
        try {
            MessageDigest md = Sha.digest();
            long n = 0;
            byte[] buf = new byte[BUFFER];
            try (FSDataInputStream in = fs.open(src); OutputStream out = Files.newOutputStream(tmp)) {
                int r;
                while ((r = in.read(buf)) > 0) {
                    out.write(buf, 0, r);
                    md.update(buf, 0, r);
                    n += r;
                }
            }
            String sha = Sha.hex(md.digest());
            if (n != f.bytes() || !sha.equals(f.sha256())) {
                throw new HdfsException(src + ": " + n + " bytes, sha256 " + sha + " (expected: " + f.bytes()
                        + " bytes, sha256 " + f.sha256() + " as in " + Manifest.FILE_NAME
                        + "; the remote file is corrupt, nothing was written to " + dst + ")", true);
            }
            Files.move(tmp, dst, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return null;
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static Manifest parse(byte[] bytes, java.nio.file.Path target, Path remoteManifest) throws IOException {
        // validate with the checkpoint module's own reader: a hidden scratch copy, never the target's manifest
        java.nio.file.Path scratch = target.resolveSibling("." + target.getFileName() + ".manifest-" + UUID.randomUUID());
        try {
            Files.createDirectories(scratch);
            Files.write(scratch.resolve(Manifest.FILE_NAME), bytes);
            return Checkpoint.open(scratch).manifest();
        } catch (IOException e) {
            throw new HdfsException(remoteManifest + ": " + e.getMessage(), e);
        } finally {
            Files.deleteIfExists(scratch.resolve(Manifest.FILE_NAME));
            Files.deleteIfExists(scratch);
        }
    }

    // ------------------------------------------------------------------ helpers

    private byte[] readIfExists(Path p) throws IOException {
        return retry.call("read of", p.toString(), () -> {
            try {
                return readAll(p);
            } catch (FileNotFoundException e) {
                return null;
            }
        });
    }

    private byte[] readAll(Path p) throws IOException {
        try (FSDataInputStream in = fs.open(p)) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            in.transferTo(out);
            return out.toByteArray();
        }
    }

    private String remoteSha(Path p) throws IOException {
        MessageDigest md = Sha.digest();
        byte[] buf = new byte[BUFFER];
        try (FSDataInputStream in = fs.open(p)) {
            int r;
            while ((r = in.read(buf)) > 0) {
                md.update(buf, 0, r);
            }
        }
        return Sha.hex(md.digest());
    }

    private static String sha256(byte[] b) {
        return Sha.hex(Sha.digest().digest(b));
    }

    private void deleteQuietly(Path p) {
        try {
            fs.delete(p, true);
        } catch (IOException | RuntimeException e) {
            LOG.warn("could not remove the staging directory {} ({}); it is hidden and ignored by readers", p,
                    e.toString());
        }
    }
}
