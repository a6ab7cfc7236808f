package org.plsc4j.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.checkpoint.TestCheckpoints.Fc;
import org.plsc4j.core.ClassLayout;
import org.plsc4j.core.TestSeed;

/** The write protocol, the manifest contract and reading by class range with any layout. */
@ExtendWith(TestSeed.class)
class CheckpointTest {

    @TempDir
    Path dir;

    @Test
    void anyLayoutReadsExactlyTheRowsThatWereSaved() throws IOException {
        int c = 23;
        int d = 5;
        Fc fc = Fc.random(c, d, TestSeed.of("any-layout"));
        ClassLayout saved = ClassLayout.balanced(c, 4);
        TestCheckpoints.write(dir, "1", saved, fc, TestCheckpoints.backbone(1), 10, true);
        Checkpoint cp = Checkpoint.open(dir.resolve("1"));
        assertEquals(saved, cp.layout());
        for (ClassLayout.Kind kind : ClassLayout.Kind.values()) {
            for (int m = 1; m <= 7; m++) {
                ClassLayout l;
                try {
                    l = ClassLayout.of(kind, c, m);
                } catch (IllegalArgumentException e) {
                    continue; // ceil leaves a rank empty for this m
                }
                for (int r = 0; r < m; r++) {
                    FcRows rows = cp.readFcRows(l.start(r), l.end(r));
                    assertEquals(fc.weightRows(l.start(r), l.end(r)), rows.weights(), l + " rank " + r);
                    assertEquals(fc.momentumRows(l.start(r), l.end(r)), rows.momentum(), l + " rank " + r);
                    assertEquals(l.start(r), rows.classStart());
                }
            }
        }
        // bit for bit, not just equal within ND4J's tolerance
        assertArrayEquals(fc.weights().data().asInt(), cp.readFcWeights(0, c).data().asInt());
        assertArrayEquals(fc.momentum().data().asInt(), cp.readFcMomentum(0, c).data().asInt());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> cp.readFcRows(20, 24));
        assertEquals("class range : [20, 24) (expected: 0 <= class_start < class_end <= num_classes = 23)", e.getMessage());
    }

    /** Ranks writing at the same time (threads here, processes in a job) into one staging directory. */
    @Test
    void ranksWriteConcurrentlyAndRankZeroCommitsAfterTheBarrier() throws Exception {
        int n = 4;
        ClassLayout layout = ClassLayout.ceil(37, n);
        Fc fc = Fc.random(37, 8, TestSeed.of("concurrent"));
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(n, r -> {
            Thread t = new Thread(r, "test-rank");
            t.setDaemon(true);
            return t;
        });
        try {
            List<java.util.concurrent.Future<CheckpointWriter>> ranks = new java.util.ArrayList<>();
            for (int r = 0; r < n; r++) {
                int rank = r;
                ranks.add(pool.submit(() -> {
                    CheckpointWriter w = CheckpointWriter.open(dir, "12", "job-x-step-120");
                    w.writeFcShard(rank, layout.start(rank), layout.end(rank), fc.weightRows(layout.start(rank), layout.end(rank)),
                            fc.momentumRows(layout.start(rank), layout.end(rank)));
                    if (rank == 0) {
                        w.writeBackbone(TestCheckpoints.backbone(12));
                    }
                    return w;
                }));
            }
            CheckpointWriter rank0 = ranks.get(0).get();
            for (java.util.concurrent.Future<CheckpointWriter> f : ranks) {
                f.get(); // the barrier
            }
            rank0.commit(TestCheckpoints.info(layout, 8, 120));
        } finally {
            pool.shutdownNow();
        }
        Checkpoint cp = Checkpoint.open(dir.resolve("12"));
        assertEquals(layout, cp.layout());
        assertEquals(cp.manifest().files().stream().mapToLong(Manifest.FileEntry::bytes).sum(), cp.verifyAll());
        assertEquals(fc.weights(), cp.readFcWeights(0, 37));
        assertEquals(fc.momentum(), cp.readFcMomentum(0, 37));
    }

    @Test
    void manifestRecordsLayoutFilesAndProvenance() throws Exception {
        Fc fc = Fc.random(10, 3, TestSeed.of("manifest"));
        ClassLayout layout = ClassLayout.ceil(10, 3);
        TestCheckpoints.write(dir, "7", layout, fc, TestCheckpoints.backbone(2), 70, true);
        Checkpoint cp = Checkpoint.open(dir.resolve("7"));
        Manifest m = cp.manifest();
        assertEquals(1, m.formatVersion());
        assertEquals(10, m.numClasses());
        assertEquals(3, m.embSize());
        assertEquals(3, m.worldSize());
        assertEquals("ceil", m.layout());
        assertEquals(70, m.step());
        assertEquals(7, m.epoch());
        int[][] ranges = {{0, 4}, {4, 8}, {8, 10}};
        for (int r = 0; r < 3; r++) {
            Manifest.Shard s = m.shards().get(r);
            assertEquals(r, s.rank());
            assertArrayEquals(ranges[r], new int[] {s.classStart(), s.classEnd()});
            assertEquals(String.format("fc/rank-%05d-weights.npy", r), s.weights());
            assertEquals(String.format("fc/rank-%05d-momentum.npy", r), s.momentum());
        }
        // every data file listed with its real size and sha256; nothing else in the directory but the manifest
        try (var walk = Files.walk(cp.dir())) {
            List<Path> onDisk = walk.filter(Files::isRegularFile).sorted().toList();
            assertEquals(m.files().size() + 1, onDisk.size(), onDisk.toString());
        }
        for (Manifest.FileEntry f : m.files()) {
            byte[] bytes = Files.readAllBytes(cp.dir().resolve(f.path()));
            assertEquals(bytes.length, f.bytes(), f.path());
            assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes)), f.sha256(), f.path());
        }
        assertEquals(Map.of("bn1.num_batches_tracked", "backbone/bn1.num_batches_tracked.npy",
                "bn1.running_var", "backbone/bn1.running_var.npy",
                "half.scale", "backbone/half.scale.npy",
                "layer1/conv:weight", "backbone/layer1_conv_weight.npy"), m.backbone());
        assertEquals(Map.of("optimizer", Map.of("backbone/velocity:layer1", "optimizer/backbone_velocity_layer1.npy")),
                m.arrays());
        assertEquals(0.1, m.config().get("lr").asDouble());
        assertEquals(64, m.config().get("margin").get("s").asInt());
        assertEquals("optimizer", cp.extra().get("optimizer_state").asText());
        Manifest.Provenance p = m.provenance();
        assertFalse(p.plsc4jVersion().contains("$") || p.plsc4jVersion().equals("unknown"), p.plsc4jVersion());
        assertTrue(p.nd4jVersion().startsWith("1.0.0"), p.nd4jVersion());
        assertEquals(System.getProperty("java.version"), p.javaVersion());
        assertTrue(p.createdAt().endsWith("Z"), p.createdAt());
        assertTrue(Math.abs(Instant.parse(p.createdAt()).getEpochSecond() - Instant.now().getEpochSecond()) < 600);
        assertEquals(3, p.worldSize());
        assertFalse(p.hostname().isBlank());
        String json = Files.readString(cp.dir().resolve("manifest.json"));
        for (String field : new String[] {"\"format_version\" : 1", "\"num_classes\" : 10", "\"emb_size\" : 3",
            "\"world_size\" : 3", "\"layout\" : \"ceil\"", "\"class_start\" : 4", "\"class_end\" : 8", "\"sha256\" : ",
            "\"created_at\" : ", "\"plsc4j_version\" : ", "\"extra\" : {"}) {
            assertTrue(json.contains(field), field + " in\n" + json);
        }
    }

    @Test
    void backboneAndArrayGroupsRoundTripWithTheirDtypes() throws IOException {
        Map<String, INDArray> backbone = TestCheckpoints.backbone(TestSeed.of("backbone"));
        TestCheckpoints.write(dir, "2", ClassLayout.balanced(5, 2), Fc.random(5, 2, 3), backbone, 20, true);
        Checkpoint cp = Checkpoint.open(dir.resolve("2"));
        Map<String, INDArray> back = cp.readBackbone();
        assertEquals(backbone.keySet(), back.keySet());
        for (String k : backbone.keySet()) {
            assertArrayEquals(backbone.get(k).shape(), back.get(k).shape(), k);
            assertEquals(backbone.get(k).castTo(org.nd4j.linalg.api.buffer.DataType.DOUBLE),
                    back.get(k).castTo(org.nd4j.linalg.api.buffer.DataType.DOUBLE), k);
        }
        assertEquals(Nd4j.create(new float[] {1, 2, 3}, new long[] {3}, 'c'),
                cp.readArrays("optimizer").get("backbone/velocity:layer1"));
        CheckpointException e = assertThrows(CheckpointException.class, () -> cp.readArrays("ema"));
        assertTrue(e.getMessage().endsWith("manifest.json: arrays[\"ema\"] : missing (expected: one of [optimizer])"), e.getMessage());
    }

    @Test
    void checkpointIsInvisibleUntilCommitted() throws IOException {
        Fc fc = Fc.random(6, 2, 5);
        ClassLayout layout = ClassLayout.balanced(6, 2);
        TestCheckpoints.write(dir, "1", layout, fc, Map.of(), 10, true);
        CheckpointWriter pending = TestCheckpoints.write(dir, "2", layout, fc, Map.of(), 20, false);
        assertFalse(Files.exists(dir.resolve("2")));
        assertTrue(Files.isDirectory(pending.stagingDir()));
        assertEquals(".2.tmp-job-20", pending.stagingDir().getFileName().toString());
        assertEquals(Optional.of(dir.resolve("1")), Checkpoints.latest(dir));
        Path done = pending.commit(TestCheckpoints.info(layout, 2, 20));
        assertEquals(dir.resolve("2"), done);
        assertFalse(Files.exists(pending.stagingDir()));
        assertEquals(Optional.of(dir.resolve("2")), Checkpoints.latest(dir));
        assertEquals(List.of(), Checkpoints.listStaging(dir));
        // sidecars are gone from the committed checkpoint
        try (var files = Files.list(dir.resolve("2/fc"))) {
            assertTrue(files.allMatch(p -> p.getFileName().toString().endsWith(".npy")));
        }
        assertThrows(IllegalStateException.class, () -> pending.commit(TestCheckpoints.info(layout, 2, 20)));
    }

    @Test
    void anExistingCheckpointIsNeverOverwrittenUnlessAskedAndThenReplacedWhole() throws IOException {
        ClassLayout layout = ClassLayout.balanced(6, 2);
        Fc first = Fc.random(6, 2, 1);
        Fc second = Fc.random(6, 2, 2);
        TestCheckpoints.write(dir, "3", layout, first, Map.of(), 30, true);
        FileAlreadyExistsException e = assertThrows(FileAlreadyExistsException.class,
                () -> CheckpointWriter.open(dir, "3", "again"));
        assertTrue(e.getMessage().contains(dir.resolve("3").toString()), e.getMessage());
        assertTrue(e.getMessage().contains("checkpoint exists"), e.getMessage());
        assertEquals(first.weights(), Checkpoint.open(dir.resolve("3")).readFcWeights(0, 6));

        CheckpointWriter r1 = CheckpointWriter.open(dir, "3", "replace", true);
        CheckpointWriter r0 = CheckpointWriter.open(dir, "3", "replace", true);
        r1.writeFcShard(1, 3, 6, second.weightRows(3, 6), second.momentumRows(3, 6));
        r0.writeFcShard(0, 0, 3, second.weightRows(0, 3), second.momentumRows(0, 3));
        assertEquals(first.weights(), Checkpoint.open(dir.resolve("3")).readFcWeights(0, 6), "old one intact until commit");
        r0.commit(TestCheckpoints.info(layout, 2, 31));
        Checkpoint cp = Checkpoint.open(dir.resolve("3"));
        assertEquals(31, cp.step());
        assertEquals(second.weights(), cp.readFcWeights(0, 6));
        assertEquals(second.momentum(), cp.readFcMomentum(0, 6));
        try (var entries = Files.list(dir)) {
            assertEquals(List.of(dir.resolve("3")), entries.toList(), "no staging or aside directory left");
        }
    }

    @Test
    void abortRemovesTheStagingDirectory() throws IOException {
        CheckpointWriter w = TestCheckpoints.write(dir, "4", ClassLayout.balanced(4, 2), Fc.random(4, 2, 9), Map.of(), 40, false);
        assertTrue(Files.exists(w.stagingDir()));
        w.abort();
        assertFalse(Files.exists(w.stagingDir()));
        assertFalse(Files.exists(dir.resolve("4")));
        assertThrows(IllegalStateException.class, () -> w.writeFcShard(0, 0, 2, Nd4j.zeros(2, 2), Nd4j.zeros(2, 2)));
    }

    @Test
    void badArgumentsNameTheField() throws IOException {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CheckpointWriter.open(dir, "../x", "s"));
        assertEquals("name : \"../x\" (expected: [A-Za-z0-9._-] characters, not starting with '.' or '-')", e.getMessage());
        CheckpointWriter w = CheckpointWriter.open(dir, "5", "s");
        e = assertThrows(IllegalArgumentException.class,
                () -> w.writeFcShard(0, 0, 3, Nd4j.zeros(2, 4).castTo(org.nd4j.linalg.api.buffer.DataType.FLOAT), Nd4j.zeros(3, 4)));
        assertEquals("weights : FLOAT [2, 4] (expected: FLOAT, HALF or BFLOAT16 [3, 4], one row per class of the range)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> w.writeArrays("fc", Map.of()));
        assertTrue(e.getMessage().startsWith("subdir : \"fc\""), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new ManifestInfo(10, 4, 3, ClassLayout.Kind.BALANCED, -1, 0, null, null));
        assertEquals("step : -1 (expected: >= 0)", e.getMessage());
        assertNotEquals(null, new ManifestInfo(10, 4, 3, ClassLayout.Kind.BALANCED, 0, 0, null, null).config());
    }
}
