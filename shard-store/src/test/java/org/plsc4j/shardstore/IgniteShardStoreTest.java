package org.plsc4j.shardstore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.apache.ignite.Ignite;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.plsc4j.shardstore.internal.IgniteShardStore;

/**
 * The contract suite on the "ignite" store: two server nodes in this JVM (backups = 1), shared by
 * the whole class; the suite talks to one of them, so about half the blocks live on the other.
 * Ports 49300+ (discovery) and 49330+ (communication) are used by no other test class.
 */
class IgniteShardStoreTest extends ShardStoreContractTest {

    static final ShardStoreConfig CONFIG = ShardStoreConfig.builder().blockRows(BLOCK_ROWS).backups(1)
            .discoveryPort(49300).communicationPort(49330).portRange(5).partitions(32).offHeapBytes(64L << 20)
            .joinTimeout(Duration.ofSeconds(20)).build();

    private static ShardStore a;
    private static ShardStore b;

    @BeforeAll
    static void open() {
        a = ShardStores.open("ignite", CONFIG);
        b = ShardStores.open("ignite", CONFIG);
    }

    @AfterAll
    static void close() {
        if (a != null) {
            a.close();
            a.close(); // idempotent
        }
        if (b != null) {
            b.close();
        }
    }

    @Override
    protected ShardStore store() {
        return a;
    }

    @Test
    void bothNodesFormOneClusterAndSeeTheSameBlocks() {
        assertEquals(2, ((IgniteShardStore) a).ignite().cluster().forServers().nodes().size());
        String job = newJob();
        a.writeRange(job, 0, 4 * BLOCK_ROWS, 1, new float[4 * BLOCK_ROWS], new float[4 * BLOCK_ROWS], 5);
        float[] w = new float[4 * BLOCK_ROWS];
        assertTrue(b.readRange(job, 0, 4 * BLOCK_ROWS, 1, w, new float[4 * BLOCK_ROWS]));
        assertEquals(4, b.remove(job));
    }

    /** The writers of adjacent ranges on both nodes, as workers on separate machines would be. */
    @Test
    void writersOnBothNodesLoseNoRows() throws Exception {
        concurrentAdjacentWriters(SEED + 7, a, b);
    }

    /** A refused merge whose primary is the other node comes back as the same exception. */
    @Test
    void mergeRunsOnTheRemotePrimary() {
        String job = newJob();
        Ignite ia = ((IgniteShardStore) a).ignite();
        int block = 0;
        while (ia.affinity(CONFIG.cacheName()).isPrimary(ia.cluster().localNode(), job + "/" + block)) {
            block++;
        }
        int bs = block * BLOCK_ROWS;
        a.merge(new FcBlock(job, block, bs, 2, 1, 4, new float[] {1f, 2f}, new float[] {3f, 4f}));
        a.merge(new FcBlock(job, block, bs + 2, 1, 1, 3, new float[] {5f}, new float[] {6f}));
        FcBlock got = b.get(job, block).orElseThrow();
        assertEquals(bs, got.firstClass());
        assertEquals(3, got.rows());
        assertEquals(4, got.version());
        assertEquals(5f, got.weights()[2]);
        int at = block;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> a.merge(new FcBlock(job, at, bs + 5, 1, 1, 9, new float[1], new float[1])));
        assertTrue(e.getMessage().contains("gap") && e.getMessage().contains("block " + at), e.getMessage());
        assertEquals(3, a.get(job, block).orElseThrow().rows());
        assertEquals(1, a.remove(job));
    }

    @Test
    void closedStoreRefusesCalls() {
        ShardStore c = ShardStores.open("ignite", CONFIG.toBuilder().client(true).build());
        String job = newJob();
        c.writeRange(job, 0, 1, 1, new float[] {1f}, new float[] {2f}, 1);
        assertEquals(1f, a.get(job, 0).orElseThrow().weights()[0]);
        c.close();
        c.close();
        assertThrows(IllegalStateException.class, () -> c.get(job, 0));
        assertEquals(2f, a.get(job, 0).orElseThrow().momentum()[0]);
    }
}
