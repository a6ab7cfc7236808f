package org.plsc4j.elastic;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.plsc4j.checkpoint.Checkpoint;
import org.plsc4j.core.TrainConfig;
import org.plsc4j.core.TrainConfigs;
import org.plsc4j.data.DatasetGenerator;
import org.plsc4j.data.GeneratorOptions;
import org.plsc4j.elastic.internal.HdfsCheckpointSync;
import org.plsc4j.hdfs.HdfsConfig;
import org.plsc4j.hdfs.HdfsSync;
import org.plsc4j.worker.Trainer;

/**
 * End to end over a real MiniDFSCluster: a 2-worker job uploads its epoch checkpoint in the
 * background (metrics.jsonl says so), then a 3-worker job warm-starts from HDFS
 * ({@code fs_checkpoint_dir} + {@code checkpoint_dir}) and continues exactly like a warm start from the
 * local checkpoint: the same FC rows, backbone and optimizer state were loaded.
 */
class HdfsWarmStartTest {

    @TempDir
    static Path dir;
    static Path data;
    static MiniDFSCluster cluster;
    static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void start() throws Exception {
        data = dir.resolve("data");
        DatasetGenerator.generate(GeneratorOptions.of(data, 30, 10).withImageSize(16).withPairs(20).withSeed(7));
        TrainerInvarianceTest.data = data; // its config(): 30 classes x 10 images, 25 steps per epoch
        Configuration conf = new Configuration();
        conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, dir.resolve("dfs").toString());
        cluster = new MiniDFSCluster.Builder(conf, dir.resolve("dfs").toFile()).numDataNodes(1).build();
        cluster.waitActive();
        cluster.getFileSystem().setPermission(new org.apache.hadoop.fs.Path("/"),
                new org.apache.hadoop.fs.permission.FsPermission((short) 0777));
    }

    @AfterAll
    static void stop() {
        if (cluster != null) {
            cluster.shutdown(true);
        }
    }

    /** TrainerInvarianceTest's tiny job plus the given fs/hdfs keys. */
    private static TrainConfig config(Path save, String checkpoint, int epochs, Map<String, Object> hdfs) {
        ObjectNode tree = TrainConfigs.toTree(TrainerInvarianceTest.config(save, checkpoint, epochs));
        hdfs.forEach((k, v) -> tree.set(k, JSON.valueToTree(v)));
        return TrainConfigs.bind(tree, "test");
    }

    private static HdfsConfig fast(TrainConfig c) {
        return HdfsConfig.of(c).withRetries(2, Duration.ofMillis(50))
                .with("dfs.client.block.write.locateFollowingBlock.initial.delay.ms", "10");
    }

    @Test
    void aJobUploadsEachEpochAndAnotherWorkerCountWarmStartsFromHdfs() throws Exception {
        String fs = cluster.getURI().toString();
        Path save = dir.resolve("save");
        TrainConfig first = config(save, "", 1, Map.of("fs_name", fs, "fs_ugi", "trainer,unused",
                "fs_dir_for_save", "/jobs/a", "hdfs_keep_last", 1));
        ThreadRanks.run(first, 2, c -> HdfsCheckpointSync.forConfig(c, fast(c)));
        // uploaded, verified, and logged by rank 0
        try (HdfsSync s = HdfsSync.connect(HdfsConfig.simple(fs, "reader"))) {
            List<String> remote = s.list("/jobs/a");
            assertEquals(1, remote.size(), remote.toString());
            assertTrue(remote.get(0).endsWith("/jobs/a/0"), remote.toString());
        }
        List<JsonNode> uploads = new ArrayList<>();
        for (String line : Files.readAllLines(save.resolve("metrics.jsonl"))) {
            JsonNode n = JSON.readTree(line);
            if (n.get("event").asText().equals("hdfs_upload")) {
                uploads.add(n);
            }
        }
        assertEquals(1, uploads.size(), uploads.toString());
        assertEquals(0, uploads.get(0).get("epoch").asInt());
        assertFalse(uploads.get(0).has("error"), uploads.toString());
        assertTrue(uploads.get(0).get("bytes").asLong() > 0);

        // 3 workers resume from HDFS into a fresh checkpoint_dir ...
        Path warm = dir.resolve("warm");
        TrainConfig resumeRemote = config(dir.resolve("resume-hdfs"), warm.toString(), 2,
                Map.of("fs_name", fs, "fs_ugi", "trainer,unused", "fs_checkpoint_dir", "/jobs/a"));
        Trainer.Summary fromHdfs = ThreadRanks.run(resumeRemote, 3, c -> HdfsCheckpointSync.forConfig(c, fast(c)));
        // ... exactly as 3 workers resuming from the local checkpoint
        Trainer.Summary fromLocal = ThreadRanks.run(config(dir.resolve("resume-local"), save.resolve("0").toString(), 2,
                Map.of()), 3);
        assertEquals(TrainerInvarianceTest.EPOCH, fromHdfs.firstStep());
        TrainerInvarianceTest.assertSameCurve(fromLocal.losses(), fromHdfs.losses(), "resumed from HDFS vs local");
        // the fetched files are the uploaded ones, byte for byte
        Checkpoint fetched = Checkpoint.open(warm.resolve("0"));
        Checkpoint original = Checkpoint.open(save.resolve("0"));
        assertEquals(original.readFcRows(0, 30).weights(), fetched.readFcRows(0, 30).weights());
        assertEquals(original.readFcRows(0, 30).momentum(), fetched.readFcRows(0, 30).momentum());
        assertArrayEquals(Files.readAllBytes(save.resolve("0/manifest.json")),
                Files.readAllBytes(warm.resolve("0/manifest.json")));
    }
}
