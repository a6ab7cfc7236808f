package org.plsc4j.shardstore.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;
import org.plsc4j.shardstore.FcBlock;
import org.plsc4j.shardstore.ShardStore;
import org.plsc4j.shardstore.ShardStoreConfig;
import org.plsc4j.shardstore.ShardStoreException;

/**
 * The "local" store: one file per block, {@code <directory>/<job>/block-<index>.fcb}, for a
 * single machine (all workers on one host, or tests).
 *
 * <p>A block is written to a temp file in the same directory, optionally forced to disk, then
 * renamed over the old file atomically: a crash leaves the old block or the new one, never half a
 * block that reads as whole. Each file ends with a CRC32C checked on read (a mismatch throws a
 * {@link ShardStoreException} naming the file). Leftover temp files of a crash are ignored.
 *
 * <p>{@link #merge} reads, merges and publishes a block while holding two locks: an exclusive
 * {@link FileChannel#lock() file lock} on {@code block-<index>.fcb.lock} (against other processes;
 * the lock file stays, it is never read as a block) and, first, an in-JVM lock chosen by that lock
 * file's real path (file locks belong to the whole JVM: two threads, or two store instances on one
 * directory, would otherwise collide with an {@link java.nio.channels.OverlappingFileLockException}).
 * Readers take no lock: the rename publishes a whole block. {@link #put} takes no lock either (it
 * replaces the block whole); {@link #remove} of a job is not meant to run while it is written.
 */
public final class LocalFileShardStore implements ShardStore {

    /** In-JVM merge locks, shared by every instance, striped by lock file path. */
    private static final ReentrantLock[] MERGE_LOCKS = new ReentrantLock[64];

    static {
        for (int i = 0; i < MERGE_LOCKS.length; i++) {
            MERGE_LOCKS[i] = new ReentrantLock();
        }
    }

    private final ShardStoreConfig config;
    private final Path root;
    /** {@link #root} with symbolic links resolved: names the in-JVM merge locks. */
    private final Path realRoot;
    private final AtomicBoolean closed = new AtomicBoolean();

    public LocalFileShardStore(ShardStoreConfig config) {
        this.config = config;
        if (config.directory() == null) {
            throw new IllegalArgumentException("directory : null (expected: a directory for the local store)");
        }
        this.root = config.directory().toAbsolutePath();
        try {
            Files.createDirectories(root);
            this.realRoot = root.toRealPath();
        } catch (IOException e) {
            throw new ShardStoreException("cannot create the store directory " + root + ": " + e, e);
        }
    }

    @Override
    public String name() {
        return "local";
    }

    @Override
    public ShardStoreConfig config() {
        return config;
    }

    /** The file of a block. */
    public Path file(String job, int block) {
        return root.resolve(ShardStore.checkJob(job)).resolve(String.format("block-%08d.fcb", block));
    }

    @Override
    public void put(FcBlock b) {
        checkOpen();
        ShardStore.checkInBlock(b, config.blockRows());
        Path f = file(b.job(), b.block());
        byte[] bytes = BlockCodec.encode(b);
        Path tmp = f.resolveSibling(f.getFileName() + ".tmp-" + UUID.randomUUID());
        try {
            Files.createDirectories(f.getParent());
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                ByteBuffer buf = ByteBuffer.wrap(bytes);
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
                if (config.fsync()) {
                    ch.force(true);
                }
            }
            try {
                Files.move(tmp, f, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                throw new ShardStoreException("cannot publish " + f + ": the file system has no atomic rename", e);
            }
        } catch (IOException e) {
            throw new ShardStoreException("cannot write block " + f + ": " + e, e);
        } finally {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // best effort: a leftover temp file is never read as a block
            }
        }
    }

    @Override
    public void merge(FcBlock piece) {
        checkOpen();
        ShardStore.checkInBlock(piece, config.blockRows());
        Path f = file(piece.job(), piece.block());
        Path lockFile = f.resolveSibling(f.getFileName() + ".lock");
        String lockName = realRoot.resolve(piece.job()).resolve(lockFile.getFileName()).toString();
        ReentrantLock inJvm = MERGE_LOCKS[Math.floorMod(lockName.hashCode(), MERGE_LOCKS.length)];
        inJvm.lock();
        try {
            Files.createDirectories(f.getParent());
            try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                FileLock lock = ch.lock();
                try {
                    put(BlockMerge.merge(get(piece.job(), piece.block()).orElse(null), piece));
                } finally {
                    lock.release();
                }
            }
        } catch (IOException e) {
            throw new ShardStoreException("cannot merge into block " + f + " (lock " + lockFile + "): " + e, e);
        } finally {
            inJvm.unlock();
        }
    }

    @Override
    public Optional<FcBlock> get(String job, int block) {
        checkOpen();
        if (block < 0) {
            throw new IllegalArgumentException("block : " + block + " (expected: >= 0)");
        }
        Path f = file(job, block);
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(f);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new ShardStoreException("cannot read block " + f + ": " + e, e);
        }
        FcBlock b = BlockCodec.decode(job, bytes, f.toString());
        if (b.block() != block) {
            throw new ShardStoreException("corrupt block " + f + ": holds block " + b.block());
        }
        return Optional.of(b);
    }

    @Override
    public int remove(String job) {
        checkOpen();
        Path dir = root.resolve(ShardStore.checkJob(job));
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        int n = 0;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                if (p.getFileName().toString().endsWith(".fcb")) {
                    n++;
                }
                Files.deleteIfExists(p);
            }
            Files.deleteIfExists(dir);
        } catch (IOException e) {
            throw new ShardStoreException("cannot remove job directory " + dir + ": " + e, e);
        }
        return n;
    }

    @Override
    public void close() {
        closed.set(true);
    }

    private void checkOpen() {
        if (closed.get()) {
            throw new IllegalStateException("the local shard store at " + root + " is closed");
        }
    }

    @Override
    public String toString() {
        return "LocalFileShardStore[" + root + ", blockRows " + config.blockRows() + "]";
    }
}
