package org.plsc4j.elastic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.plsc4j.checkpoint.Checkpoint;
import org.plsc4j.checkpoint.CheckpointWriter;
import org.plsc4j.checkpoint.ManifestInfo;
import org.plsc4j.core.TrainConfig;
import org.plsc4j.core.TrainConfigs;
import org.plsc4j.core.collective.Collective;
import org.plsc4j.core.collective.CollectiveConfig;
import org.plsc4j.core.collective.Collectives;
import org.plsc4j.data.DatasetGenerator;
import org.plsc4j.data.GeneratorOptions;
import org.plsc4j.elastic.internal.HdfsCheckpointSync;
import org.plsc4j.hdfs.HdfsConfig;
import org.plsc4j.hdfs.HdfsSync;
import org.plsc4j.worker.CheckpointIo;
import org.plsc4j.worker.CheckpointSync;
import org.plsc4j.worker.MetricsLog;
import org.plsc4j.worker.Trainer;

/**
 * Checkpoints of ranks that share no disk ({@code shared_save_dir: false}), over a real MiniDFSCluster:
 * each rank has its own model_save_dir, stages its part there and the commit goes through
 * {@code fs_dir_for_save}, all or nothing.
 */
class NoSharedDiskCheckpointTest {

    @TempDir
    static Path dir;
    static Path data;
    static MiniDFSCluster cluster;
    static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void start() throws Exception {
        data = dir.resolve("data");
        DatasetGenerator.generate(GeneratorOptions.of(data, 30, 10).withImageSize(16).withPairs(20).withSeed(7));
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

    private static TrainConfig config(Path save, Map<String, Object> extra) {
        Map<String, Object> m = TrainerInvarianceTest.tinyMlp(data, save, 2);
        // 2 ranks: the whole local batch in one pass, whatever the free memory says
        m.put("micro_batch_size", 6);
        ObjectNode tree = TrainConfigs.toTree(TrainConfigs.bind(TrainConfigs.merged(m), "test"));
        extra.forEach((k, v) -> tree.set(k, JSON.valueToTree(v)));
        return TrainConfigs.bind(tree, "test");
    }

    private static Map<String, Object> remote(String remoteDir) {
        return Map.of("fs_name", cluster.getURI().toString(), "fs_ugi", "trainer,unused", "fs_dir_for_save", remoteDir,
                "shared_save_dir", false);
    }

    private static HdfsConfig fast(TrainConfig c) {
        return HdfsConfig.of(c).withRetries(2, Duration.ofMillis(50))
                .with("dfs.client.block.write.locateFollowingBlock.initial.delay.ms", "10");
    }

    /** Trains {@code n} in-process ranks, rank r with {@code configs.apply(r)} and sync {@code syncs.apply(r)}. */
    private static List<Future<Trainer.Summary>> run(int n, IntFunction<TrainConfig> configs,
                                                     IntFunction<CheckpointSync> syncs, ExecutorService pool) {
        String runId = "nsd-" + System.nanoTime();
        List<Future<Trainer.Summary>> fs = new ArrayList<>();
        for (int r = 0; r < n; r++) {
            int rank = r;
            fs.add(pool.submit(() -> {
                CollectiveConfig cc = CollectiveConfig.builder().jobId(runId).rank(rank).worldSize(n)
                        .timeout(Duration.ofMinutes(2)).build();
                try (Collective c = Collectives.join("inprocess", cc); CheckpointSync sync = syncs.apply(rank)) {
                    return new Trainer(configs.apply(rank), c, null, null, runId).checkpointSync(sync).train();
                }
            }));
        }
        return fs;
    }

    private static ExecutorService pool() {
        return Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "test-rank");
            t.setDaemon(true);
            return t;
        });
    }

    /** Names under remote {@code dir}. */
    private static List<String> remoteNames(String remoteDir) throws IOException {
        List<String> out = new ArrayList<>();
        for (FileStatus s : cluster.getFileSystem().listStatus(new org.apache.hadoop.fs.Path(remoteDir))) {
            out.add(s.getPath().getName());
        }
        out.sort(null);
        return out;
    }

    private static Checkpoint fetch(String remote, Path into) throws IOException {
        try (HdfsSync s = HdfsSync.connect(HdfsConfig.simple(cluster.getURI().toString(), "reader"))) {
            return Checkpoint.open(s.download(remote, into).local());
        }
    }

    @Test
    void ranksWithSeparateSaveDirsCommitThroughHdfsAsOneSharedDirWould() throws Exception {
        // the reference: the same job on one shared model_save_dir
        Path shared = dir.resolve("shared");
        Trainer.Summary ref = ThreadRanks.run(config(shared, Map.of()), 2);
        ExecutorService pool = pool();
        try {
            List<Future<Trainer.Summary>> fs = run(2, r -> config(dir.resolve("host-" + r), remote("/jobs/nsd")),
                    r -> HdfsCheckpointSync.forConfig(config(dir.resolve("host-" + r), remote("/jobs/nsd")),
                            fast(config(dir.resolve("host-" + r), remote("/jobs/nsd")))), pool);
            Trainer.Summary s0 = fs.get(0).get(5, TimeUnit.MINUTES);
            fs.get(1).get(5, TimeUnit.MINUTES);
            assertEquals(ref.losses(), s0.losses());
        } finally {
            pool.shutdownNow();
        }
        assertEquals(List.of("0", "1"), remoteNames("/jobs/nsd"), "both epochs committed, no staging left");
        for (String epoch : List.of("0", "1")) {
            Checkpoint got = fetch("/jobs/nsd/" + epoch, dir.resolve("fetched"));
            Checkpoint want = Checkpoint.open(shared.resolve(epoch));
            assertEquals(want.readFcRows(0, 30).weights(), got.readFcRows(0, 30).weights(), "epoch " + epoch);
            assertEquals(want.readFcRows(0, 30).momentum(), got.readFcRows(0, 30).momentum(), "epoch " + epoch);
            assertEquals(want.manifest().files().size(), got.manifest().files().size());
            assertEquals(want.step(), got.step());
        }
        // locally: no checkpoint and no staging directory on either rank (the remote one is the copy)
        for (int r = 0; r < 2; r++) {
            try (var names = Files.list(dir.resolve("host-" + r))) {
                List<String> left = names.map(p -> p.getFileName().toString())
                        .filter(n -> !n.equals("metrics.jsonl") && !n.equals(Trainer.CURVES_PNG)).toList();
                assertEquals(List.of(), left, "rank " + r + "'s model_save_dir");
            }
        }
    }

    /** Rank 1's upload of epoch 1 fails: no rank commits it, epoch 0 stays as committed, nothing is left staged. */
    @Test
    void oneRanksFailedUploadCommitsNothing() throws Exception {
        String remoteDir = "/jobs/fail";
        ExecutorService pool = pool();
        try {
            List<Future<Trainer.Summary>> fs = run(2, r -> config(dir.resolve("fail-" + r), remote(remoteDir)), r -> {
                CheckpointSync real = HdfsCheckpointSync.forConfig(config(dir.resolve("fail-" + r), remote(remoteDir)),
                        fast(config(dir.resolve("fail-" + r), remote(remoteDir))));
                return r == 1 ? new FailingUpload(real, "1") : real;
            }, pool);
            for (int r = 0; r < 2; r++) {
                int rank = r;
                ExecutionException e = assertThrows(ExecutionException.class, () -> fs.get(rank).get(5, TimeUnit.MINUTES));
                CheckpointIo.CheckpointIoException c = assertInstanceOf(CheckpointIo.CheckpointIoException.class,
                        e.getCause(), "rank " + r);
                assertTrue(c.getMessage().startsWith("checkpoint 1 (step 50): rank(s) [1] could not stage or upload"
                        + " their part to fs_dir_for_save " + remoteDir), c.getMessage());
                assertTrue(c.getMessage().endsWith("; nothing was committed, the previous checkpoints are as they were"),
                        c.getMessage());
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(List.of("0"), remoteNames(remoteDir), "epoch 0 only, no staging directory left");
        // epoch 0 is complete and exactly what the shared-disk job commits at epoch 0
        Path shared = dir.resolve("fail-ref");
        ThreadRanks.run(config(shared, Map.of()), 2);
        Checkpoint got = fetch(remoteDir + "/0", dir.resolve("fail-fetched"));
        Checkpoint want = Checkpoint.open(shared.resolve("0"));
        assertEquals(want.readFcRows(0, 30).weights(), got.readFcRows(0, 30).weights());
        for (int r = 0; r < 2; r++) {
            try (var names = Files.list(dir.resolve("fail-" + r))) {
                assertTrue(names.noneMatch(p -> p.getFileName().toString().startsWith(".")
                        || p.getFileName().toString().equals("1")), "rank " + r + ": no local staging left");
            }
        }
    }

    @Test
    void unsupportedCombinationsAreRejectedAtStartNamingTheKeys() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TrainConfigs.bind(
                TrainConfigs.merged(Map.of("dataset_dir", data.toString(), "shared_save_dir", false)), "test"));
        assertTrue(e.getMessage().contains("shared_save_dir : false (expected: fs_dir_for_save set too"), e.getMessage());
        // two ranks that claim one model_save_dir but see different ones
        ExecutorService pool = pool();
        try {
            List<Future<Trainer.Summary>> fs = run(2, r -> config(dir.resolve("blind-" + r), Map.of()),
                    r -> CheckpointSync.NONE, pool);
            for (Future<Trainer.Summary> f : fs) {
                ExecutionException x = assertThrows(ExecutionException.class, () -> f.get(5, TimeUnit.MINUTES));
                assertInstanceOf(IllegalArgumentException.class, x.getCause());
                assertTrue(x.getCause().getMessage().startsWith("shared_save_dir : true (but 2 of 2 ranks do not see"
                        + " every rank's files in model_save_dir"), x.getCause().getMessage());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /** A sync whose upload of checkpoint {@code failing} throws, as a lost connection would. */
    private static final class FailingUpload implements CheckpointSync {
        private final CheckpointSync real;
        private final String failing;

        FailingUpload(CheckpointSync real, String failing) {
            this.real = real;
            this.failing = failing;
        }

        @Override
        public Path fetch(int rank, int worldSize, int classStart, int classEnd) throws IOException {
            return real.fetch(rank, worldSize, classStart, classEnd);
        }

        @Override
        public void committed(Path checkpoint, int epoch, long step, MetricsLog metrics) {
            real.committed(checkpoint, epoch, step, metrics);
        }

        @Override
        public boolean commitsRemotely() {
            return real.commitsRemotely();
        }

        @Override
        public void uploadPart(Path localStaging, List<String> files, String name, String stagingId) throws IOException {
            if (name.equals(failing)) {
                throw new IOException("connection to the namenode lost (test)");
            }
            real.uploadPart(localStaging, files, name, stagingId);
        }

        @Override
        public String publishRemote(CheckpointWriter writer, ManifestInfo info, String name, String stagingId)
                throws IOException {
            return real.publishRemote(writer, info, name, stagingId);
        }

        @Override
        public void abortRemote(String name, String stagingId) throws IOException {
            real.abortRemote(name, stagingId);
        }

        @Override
        public void drain() throws IOException {
            real.drain();
        }

        @Override
        public void close() throws IOException {
            real.close();
        }
    }
}
