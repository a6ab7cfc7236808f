package org.plsc4j.hdfs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.plsc4j.checkpoint.Checkpoint;
import org.plsc4j.checkpoint.Checkpoints;
import org.plsc4j.core.ClassLayout;
import org.plsc4j.core.TestSeed;

/**
 * Against a real MiniDFSCluster: byte-identical round trips, no visible partial checkpoint when a
 * datanode dies mid-upload, corrupted remote files named on download, keep-last pruning, per-rank
 * partial downloads (also concurrent into one directory), a good local checkpoint never overwritten.
 */
@ExtendWith(TestSeed.class)
class HdfsSyncTest {

    @TempDir
    static Path dir;
    static MiniHdfs hdfs;

    @BeforeAll
    static void startCluster() throws Exception {
        hdfs = new MiniHdfs(dir.resolve("dfs"), 1);
    }

    @AfterAll
    static void stopCluster() {
        if (hdfs != null) {
            hdfs.close();
        }
    }

    private static HdfsSync connect() throws Exception {
        // a tiny cluster acknowledges a closed file within milliseconds: do not wait Hadoop's default 400 ms first
        return HdfsSync.connect(HdfsConfig.simple(hdfs.uri(), "tester").withRetries(2, Duration.ofMillis(50))
                .with("dfs.client.block.write.locateFollowingBlock.initial.delay.ms", "10"));
    }

    @Test
    void uploadThenDownloadIsByteIdentical() throws Exception {
        Path local = TestCheckpoints.write(dir.resolve("rt-save"), 3, 101, 16, 3, TestSeed.of("roundtrip"));
        try (HdfsSync s = connect()) {
            HdfsSync.Transfer up = s.upload(local, "/rt");
            assertTrue(up.remote().endsWith("/rt/3"), up.remote());
            assertEquals(TestCheckpoints.files(local).values().stream().mapToLong(b -> b.length).sum(), up.bytes());
            assertEquals(List.of(up.remote()), s.list("/rt"));
            assertEquals(Set.of("3"), names(s.fileSystem(), "/rt"), "no staging directory left");
            HdfsSync.Transfer down = s.download("/rt", dir.resolve("rt-load"));
            assertEquals(dir.resolve("rt-load").resolve("3"), down.local());
            Map<String, byte[]> a = TestCheckpoints.files(local);
            Map<String, byte[]> b = TestCheckpoints.files(down.local());
            assertEquals(a.keySet(), b.keySet());
            a.forEach((k, v) -> assertArrayEquals(v, b.get(k), k));
            Checkpoint.open(down.local()).verifyAll();
            // again: everything already there and verified, nothing copied but the manifest
            HdfsSync.Transfer again = s.download("/rt/3", dir.resolve("rt-load"));
            assertEquals(a.size() - 1, again.skipped());
            assertEquals(0, s.upload(local, "/rt").bytes(), "the same checkpoint is not uploaded twice");
        }
    }

    @Test
    void aDatanodeStoppedMidUploadLeavesNoVisibleCheckpointAndTheRetrySucceeds() throws Exception {
        Path local = TestCheckpoints.write(dir.resolve("dn-save"), 0, 64, 8, 2, TestSeed.of("datanode"));
        AtomicBoolean stopped = new AtomicBoolean();
        MiniDFSCluster.DataNodeProperties[] props = new MiniDFSCluster.DataNodeProperties[1];
        try (HdfsSync s = connect()) {
            s.progress((path, bytes) -> {
                if (stopped.compareAndSet(false, true)) {
                    props[0] = hdfs.cluster.stopDataNode(0);
                }
            });
            HdfsException e = assertThrows(HdfsException.class, () -> s.upload(local, "/dn"));
            assertTrue(stopped.get());
            assertTrue(e.getMessage().contains("/dn/.0.tmp-"), "names the remote path: " + e.getMessage());
            assertEquals(List.of(), s.list("/dn"), "no checkpoint visible");
            assertTrue(s.resolve("/dn").isEmpty());
            assertFalse(names(s.fileSystem(), "/dn").contains("0"));
        }
        assertTrue(hdfs.cluster.restartDataNode(props[0], true));
        hdfs.cluster.waitActive();
        try (HdfsSync s = connect()) {
            HdfsSync.Transfer up = s.upload(local, "/dn");
            assertEquals(List.of(up.remote()), s.list("/dn"));
            Checkpoint.open(s.download("/dn", dir.resolve("dn-load")).local()).verifyAll();
        }
    }

    @Test
    void aCorruptedRemoteFileIsNamedAndNeverBecomesALocalCheckpoint() throws Exception {
        Path local = TestCheckpoints.write(dir.resolve("bad-save"), 1, 50, 8, 2, TestSeed.of("corrupt"));
        try (HdfsSync s = connect()) {
            s.upload(local, "/bad");
            FileSystem fs = s.fileSystem();
            org.apache.hadoop.fs.Path victim = new org.apache.hadoop.fs.Path("/bad/1/fc/rank-00001-weights.npy");
            byte[] bytes = Files.readAllBytes(local.resolve("fc/rank-00001-weights.npy"));
            bytes[bytes.length - 3] ^= 0x10;
            try (FSDataOutputStream out = fs.create(victim, true)) {
                out.write(bytes);
            }
            Path into = dir.resolve("bad-load");
            HdfsException e = assertThrows(HdfsException.class, () -> s.download("/bad", into));
            assertTrue(e.verification(), e.getMessage());
            assertTrue(e.getMessage().contains("rank-00001-weights.npy") && e.getMessage().contains("sha256"),
                    e.getMessage());
            assertFalse(Files.exists(into.resolve("1").resolve("manifest.json")), "no manifest: not a checkpoint");
            assertTrue(Checkpoints.latest(into).isEmpty());
            assertFalse(Files.exists(into.resolve("1/fc/rank-00001-weights.npy")), "the corrupt bytes were not kept");
            // rank 0's range does not read the corrupted shard: that download works
            HdfsSync.Transfer r0 = s.download("/bad", dir.resolve("bad-load-r0"), 0, 25);
            assertFalse(Files.exists(r0.local().resolve("fc/rank-00001-weights.npy")));
        }
    }

    @Test
    void aGoodLocalCheckpointIsNeverOverwritten() throws Exception {
        Path remoteSource = TestCheckpoints.write(dir.resolve("keep-remote"), 2, 30, 4, 1, TestSeed.of("keep-a"));
        Path localGood = TestCheckpoints.write(dir.resolve("keep-local"), 2, 30, 4, 1, TestSeed.of("keep-a") + 1);
        Map<String, byte[]> before = TestCheckpoints.files(localGood);
        try (HdfsSync s = connect()) {
            s.upload(remoteSource, "/keep");
            HdfsException e = assertThrows(HdfsException.class, () -> s.download("/keep", dir.resolve("keep-local")));
            assertTrue(e.getMessage().contains("holds a different checkpoint"), e.getMessage());
        }
        Map<String, byte[]> after = TestCheckpoints.files(localGood);
        assertEquals(before.keySet(), after.keySet());
        before.forEach((k, v) -> assertArrayEquals(v, after.get(k), k));
    }

    @Test
    void keepLastPrunesOldRemoteCheckpointsAfterBackgroundUploads() throws Exception {
        Path save = dir.resolve("prune-save");
        List<CheckpointUploader.Result> results = new CopyOnWriteArrayList<>();
        try (HdfsSync s = connect(); CheckpointUploader up = new CheckpointUploader(s, "/prune", 2, results::add)) {
            up.start();
            for (int epoch = 0; epoch < 4; epoch++) {
                up.submit(TestCheckpoints.write(save, epoch, 20, 4, 2, TestSeed.of("prune") + epoch), epoch);
            }
            CheckpointUploader.Result last = up.drain();
            assertEquals(3, last.epoch());
            assertNull(last.error());
            assertEquals(List.of(0, 1, 2, 3), results.stream().map(CheckpointUploader.Result::epoch).toList(),
                    "in order, every epoch");
            List<String> left = s.list("/prune");
            assertEquals(2, left.size(), left.toString());
            assertTrue(left.get(0).endsWith("/prune/2") && left.get(1).endsWith("/prune/3"), left.toString());
            assertTrue(up.drain() == null, "nothing pending");
        }
    }

    @Test
    void eachRankDownloadsOnlyItsShardsConcurrentlyIntoOneDirectory() throws Exception {
        int classes = 90;
        Path local = TestCheckpoints.write(dir.resolve("range-save"), 5, classes, 8, 3, TestSeed.of("range"));
        Checkpoint original = Checkpoint.open(local);
        Path into = dir.resolve("range-load");
        ClassLayout two = ClassLayout.of(ClassLayout.Kind.BALANCED, classes, 2);
        try (HdfsSync s = connect()) {
            s.upload(local, "/range");
            // rank 0 of a 2-worker job: classes [0, 45) overlap saved shards 0 and 1, not 2
            HdfsSync.Transfer r0 = s.download("/range", into, two.start(0), two.end(0));
            Set<String> got = new TreeSet<>(TestCheckpoints.files(r0.local()).keySet());
            assertFalse(got.contains("fc/rank-00002-weights.npy"), got.toString());
            assertTrue(got.contains("fc/rank-00001-momentum.npy") && got.contains("manifest.json"), got.toString());
            Checkpoint partial = Checkpoint.open(r0.local());
            assertEquals(original.readFcWeights(0, 45), partial.readFcWeights(0, 45));
            assertEquals(original.readBackbone(), partial.readBackbone());
            // three more "processes" at once into the same directory, each its own range
            ExecutorService pool = Executors.newFixedThreadPool(3);
            try {
                List<Future<HdfsSync.Transfer>> fs = new ArrayList<>();
                for (int[] range : new int[][] {{45, 90}, {0, 30}, {60, 90}}) {
                    fs.add(pool.submit(() -> {
                        try (HdfsSync own = connect()) {
                            return own.download("/range", into, range[0], range[1]);
                        }
                    }));
                }
                for (Future<HdfsSync.Transfer> f : fs) {
                    f.get(60, TimeUnit.SECONDS);
                }
            } finally {
                pool.shutdownNow();
            }
            Checkpoint full = Checkpoint.open(into.resolve("5"));
            assertEquals(original.readFcMomentum(0, classes), full.readFcMomentum(0, classes));
            assertEquals(TestCheckpoints.files(local).keySet(), TestCheckpoints.files(into.resolve("5")).keySet(),
                    "no temporary file left");
        }
    }

    private static Set<String> names(FileSystem fs, String dir) throws Exception {
        Set<String> out = new TreeSet<>();
        for (FileStatus st : fs.listStatus(new org.apache.hadoop.fs.Path(dir))) {
            out.add(st.getPath().getName());
        }
        return out;
    }

    @SuppressWarnings("unused")
    private static String str(byte[] b) {
        return Arrays.toString(b);
    }
}
