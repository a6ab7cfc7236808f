package org.plsc4j.shardstore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.plsc4j.shardstore.internal.LocalFileShardStore;

/** The contract suite on the "local" store, plus its file-level guarantees. */
class LocalFileShardStoreTest extends ShardStoreContractTest {

    @TempDir
    static Path dir;

    private static ShardStore store;

    @BeforeAll
    static void open() {
        store = ShardStores.open("local", ShardStoreConfig.builder().blockRows(BLOCK_ROWS).directory(dir).build());
    }

    @AfterAll
    static void close() {
        store.close();
        store.close(); // idempotent
    }

    @Override
    protected ShardStore store() {
        return store;
    }

    @Test
    void corruptFileIsNamed() throws IOException {
        String job = newJob();
        store.writeRange(job, 0, BLOCK_ROWS, 2, new float[2 * BLOCK_ROWS], new float[2 * BLOCK_ROWS], 1);
        Path f = ((LocalFileShardStore) store).file(job, 0);
        byte[] bytes = Files.readAllBytes(f);
        bytes[40] ^= 1;
        Files.write(f, bytes);
        ShardStoreException e = assertThrows(ShardStoreException.class, () -> store.get(job, 0));
        assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("checksum"), e.getMessage());
        Files.write(f, java.util.Arrays.copyOf(bytes, bytes.length / 2)); // a torn write
        e = assertThrows(ShardStoreException.class, () -> store.get(job, 0));
        assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
    }

    @Test
    void noTempFilesAreLeftAndTheyAreNeverRead() throws IOException {
        String job = newJob();
        store.writeRange(job, 0, 3 * BLOCK_ROWS, 1, new float[3 * BLOCK_ROWS], new float[3 * BLOCK_ROWS], 1);
        Path jobDir = dir.resolve(job);
        try (Stream<Path> s = Files.list(jobDir)) {
            List<String> names = s.map(p -> p.getFileName().toString()).sorted().toList();
            assertEquals(List.of("block-00000000.fcb", "block-00000001.fcb", "block-00000002.fcb"), names);
        }
        // a crash between write and rename leaves a temp file: it is not a block
        Files.write(jobDir.resolve("block-00000005.fcb.tmp-crashed"), new byte[] {1, 2, 3});
        assertTrue(store.get(job, 5).isEmpty());
        assertEquals(3, store.remove(job));
    }

    /**
     * Two store instances on one directory, as two worker processes on one machine would have:
     * their merges of a shared boundary block exclude each other through the lock file (and, in
     * this one JVM, through the shared in-JVM lock instead of an OverlappingFileLockException).
     */
    @Test
    void twoInstancesOnOneDirectoryLoseNoRows() throws Exception {
        try (ShardStore other = ShardStores.open("local", store.config())) {
            concurrentAdjacentWriters(SEED + 7, store, other);
        }
    }

    @Test
    void unknownStoreAndMissingDirectoryAreNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ShardStores.open("nope", ShardStoreConfig.builder().build()));
        assertTrue(e.getMessage().contains("local") && e.getMessage().contains("ignite"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ShardStores.open("local", ShardStoreConfig.builder().build()));
        assertTrue(e.getMessage().startsWith("directory"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ShardStoreConfig.builder().backups(0).build());
        assertTrue(e.getMessage().startsWith("backups : 0 (expected: >= 1"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ShardStoreConfig.builder().blockRows(0).build());
        assertTrue(e.getMessage().startsWith("blockRows"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> ShardStoreConfig.builder().lossPolicy("IGNORE").build());
        assertTrue(e.getMessage().startsWith("lossPolicy"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> ShardStoreConfig.builder().discoveryPort(47100).communicationPort(47105).build());
        assertTrue(e.getMessage().startsWith("communicationPort"), e.getMessage());
    }
}
