package org.plsc4j.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.plsc4j.checkpoint.TestCheckpoints.Fc;
import org.plsc4j.core.ClassLayout;
import org.plsc4j.core.TestSeed;

/** Damaged checkpoints fail loudly, naming the file and field; crashes never leave a visible checkpoint. */
@ExtendWith(TestSeed.class)
class CorruptionTest {

    @TempDir
    Path dir;

    private Fc fc;
    private Path cp;
    private final ClassLayout layout = ClassLayout.balanced(12, 3);

    @BeforeEach
    void write() throws IOException {
        fc = Fc.random(12, 4, TestSeed.of("corruption"));
        TestCheckpoints.write(dir, "5", layout, fc, TestCheckpoints.backbone(5), 50, true);
        cp = dir.resolve("5");
    }

    @Test
    void aFlippedByteInAShardFailsNamingTheFileAndOnlyThatShardsReaders() throws IOException {
        SplittableRandom rnd = new SplittableRandom(TestSeed.of("flip"));
        Path shard = cp.resolve("fc/rank-00002-weights.npy");
        long size = Files.size(shard);
        long pos = rnd.nextLong(size);
        flip(shard, pos);
        Checkpoint c = Checkpoint.open(cp);
        // ranks whose range does not touch shard 2 read without hashing it
        assertEquals(fc.weightRows(0, 8), c.readFcWeights(0, 8));
        assertEquals(fc.momentumRows(4, 12), c.readFcMomentum(4, 12));
        CheckpointException e = assertThrows(CheckpointException.class, () -> c.readFcWeights(7, 9));
        String msg = e.getMessage();
        assertTrue(msg.startsWith(shard + ": sha256 : "), "flipped byte " + pos + ": " + msg);
        String expected = c.manifest().file("fc/rank-00002-weights.npy").sha256();
        assertTrue(msg.contains("(expected: " + expected + " as in manifest.json; the file is corrupt)"), msg);
        assertThrows(CheckpointException.class, c::verifyAll);
    }

    @Test
    void aTruncatedShardFailsWithItsSize() throws IOException {
        Path shard = cp.resolve("fc/rank-00001-momentum.npy");
        long size = Files.size(shard);
        try (FileChannel ch = FileChannel.open(shard, StandardOpenOption.WRITE)) {
            ch.truncate(size - 3);
        }
        CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoint.open(cp).readFcRows(0, 12));
        assertEquals(shard + ": size : " + (size - 3) + " bytes (expected: " + size
                + " as in manifest.json; truncated or replaced?)", e.getMessage());
        Files.delete(shard);
        e = assertThrows(CheckpointException.class, () -> Checkpoint.open(cp).readFcMomentum(4, 5));
        assertTrue(e.getMessage().startsWith(shard + " : missing (expected: " + size + " bytes"), e.getMessage());
    }

    @Test
    void aDamagedBackboneFileFailsNamingIt() throws IOException {
        Path file = cp.resolve("backbone/bn1.running_var.npy");
        flip(file, Files.size(file) - 1);
        CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoint.open(cp).readBackbone());
        assertTrue(e.getMessage().startsWith(file + ": sha256 : "), e.getMessage());
    }

    @Test
    void manifestErrorsNameTheField() throws IOException {
        assertManifestError(m -> m.remove("num_classes"), "field num_classes : missing (expected: a value)");
        assertManifestError(m -> m.put("emb_size", "four"), "field emb_size : \"four\" (expected: an integer)");
        assertManifestError(m -> m.put("emb_size", 4.5), "field emb_size : 4.5 (expected: an integer)");
        assertManifestError(m -> m.putNull("step"), "field step : null (expected: a value)");
        assertManifestError(m -> m.putNull("config"), "config : null (expected: a value)");
        assertManifestError(m -> m.remove("provenance"), "field provenance : missing (expected: a value)");
        assertManifestError(m -> ((ObjectNode) m.get("provenance")).putNull("created_at"),
                "provenance.created_at : null (expected: a value)");
        assertManifestError(m -> ((ObjectNode) m.get("files").get(2)).putNull("sha256"), "files[2].sha256 : null (expected: a value)");
        assertManifestError(m -> ((ObjectNode) m.get("shards").get(1)).remove("class_end"),
                "field shards[1].class_end : missing (expected: a value)");
        assertManifestError(m -> ((ObjectNode) m.get("files").get(0)).put("bytes", "many"),
                "field files[0].bytes : \"many\" (expected: an integer)");
        assertManifestError(m -> m.put("config", "lr=0.1"), "field config : \"lr=0.1\" (expected: a JSON object)");
        assertManifestError(m -> m.put("layout", 3), "field layout : 3 (expected: a string)");
        assertManifestError(m -> m.put("layout", "round_robin"),
                "layout : \"round_robin\" (expected: \"balanced\" or \"ceil\")");
        assertManifestError(m -> m.put("format_version", 2), "format_version : 2 (expected: 1; written by a newer plsc4j?)");
        assertManifestError(m -> ((ObjectNode) m.get("shards").get(1)).put("class_start", 3),
                "shards[1].class_start : 3 (expected: 4 for balanced(12 classes over 3 ranks))");
        assertManifestError(m -> ((ArrayNode) m.get("shards")).remove(2), "shards : 2 entries (expected: world_size = 3)");
        assertManifestError(m -> ((ObjectNode) m.get("files").get(0)).put("path", "../../etc/passwd"),
                "files[0].path : \"../../etc/passwd\" (expected: a relative path");
        assertManifestError(m -> ((ObjectNode) m.get("files").get(0)).put("sha256", "abc"),
                "files[0].sha256 : \"abc\" (expected: 64 lowercase hex digits)");
        assertManifestError(m -> ((ObjectNode) m.get("backbone")).put("extra.param", "backbone/nope.npy"),
                "backbone[\"extra.param\"] : \"backbone/nope.npy\" (expected: a path listed in files)");

        // the optional fields may be absent
        Path file = cp.resolve("manifest.json");
        byte[] original = Files.readAllBytes(file);
        ObjectNode tree = (ObjectNode) new ObjectMapper().readTree(original);
        tree.remove("extra");
        tree.remove("arrays");
        Files.write(file, new ObjectMapper().writeValueAsBytes(tree));
        Checkpoint lean = Checkpoint.open(cp);
        assertEquals(null, lean.extra());
        assertEquals(Map.of(), lean.manifest().arrays());
        assertEquals(fc.weights(), lean.readFcWeights(0, 12));
        Files.write(file, original);

        Files.writeString(cp.resolve("manifest.json"), "{\"format_version\": 1,");
        CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoint.open(cp));
        assertTrue(e.getMessage().startsWith(cp.resolve("manifest.json") + ": not valid JSON: "), e.getMessage());
        Files.delete(cp.resolve("manifest.json"));
        e = assertThrows(CheckpointException.class, () -> Checkpoint.open(cp));
        assertTrue(e.getMessage().startsWith(cp.resolve("manifest.json") + " : missing"), e.getMessage());
    }

    @Test
    void aStagingDirectoryLeftByACrashIsNotTheLatest() throws IOException {
        // epoch 6: every rank wrote its shard, rank 0 died before commit
        CheckpointWriter crashed = TestCheckpoints.write(dir, "6", layout, fc, Map.of(), 60, false);
        // a numeric directory without a manifest (copied by hand, say) is not a checkpoint either
        Files.createDirectories(dir.resolve("7/fc"));
        assertEquals(Optional.of(cp), Checkpoints.latest(dir));
        assertEquals(List.of(crashed.stagingDir()), Checkpoints.listStaging(dir));
        assertEquals(List.of(crashed.stagingDir()), Checkpoints.cleanStaging(dir));
        assertFalse(Files.exists(crashed.stagingDir()));
        assertEquals(List.of(), Checkpoints.listStaging(dir));
        assertEquals(Optional.of(cp), Checkpoints.latest(dir));
        assertEquals(Optional.empty(), Checkpoints.latest(dir.resolve("nothing-here")));
    }

    @Test
    void anInterruptedReplaceIsRestoredByCleanStaging() throws IOException {
        // crash between "move old aside" and "rename staging": only the aside copy exists
        Path aside = dir.resolve(".5.old-job-51");
        Files.move(cp, aside);
        assertEquals(Optional.empty(), Checkpoints.latest(dir));
        assertEquals(List.of(), Checkpoints.cleanStaging(dir));
        assertEquals(Optional.of(cp), Checkpoints.latest(dir));
        assertEquals(fc.weights(), Checkpoint.open(cp).readFcWeights(0, 12));
    }

    @Test
    void aCommitWithAMissingRankFailsNamingItAndLeavesNothingVisible() throws IOException {
        ClassLayout four = ClassLayout.balanced(12, 4);
        CheckpointWriter rank0 = CheckpointWriter.open(dir, "8", "job-80");
        for (int r : new int[] {0, 1, 3}) { // rank 2 never wrote
            CheckpointWriter w = r == 0 ? rank0 : CheckpointWriter.open(dir, "8", "job-80");
            w.writeFcShard(r, four.start(r), four.end(r), fc.weightRows(four.start(r), four.end(r)),
                    fc.momentumRows(four.start(r), four.end(r)));
        }
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> rank0.commit(TestCheckpoints.info(four, 4, 80)));
        assertTrue(e.getMessage().contains(": rank 2 : no FC shard (fc/rank-00002.json missing in "), e.getMessage());
        assertFalse(Files.exists(dir.resolve("8")));
        assertFalse(Files.exists(rank0.stagingDir().resolve("manifest.json")));
        assertEquals(Optional.of(cp), Checkpoints.latest(dir));
    }

    @Test
    void aShardFromARankBeyondTheWorldSizeFailsTheCommit() throws IOException {
        ClassLayout two = ClassLayout.balanced(12, 2);
        CheckpointWriter rank0 = CheckpointWriter.open(dir, "10", "job-100");
        for (int r = 0; r < 3; r++) { // a stale third rank of an older generation
            CheckpointWriter w = r == 0 ? rank0 : CheckpointWriter.open(dir, "10", "job-100");
            int start = r < 2 ? two.start(r) : 0;
            int end = r < 2 ? two.end(r) : 4;
            w.writeFcShard(r, start, end, fc.weightRows(start, end), fc.momentumRows(start, end));
        }
        CheckpointException e = assertThrows(CheckpointException.class, () -> rank0.commit(TestCheckpoints.info(two, 4, 100)));
        assertTrue(e.getMessage().contains(": rank 2 : wrote an FC shard ("), e.getMessage());
        assertTrue(e.getMessage().endsWith("(expected: ranks 0..1 only, world_size = 2)"), e.getMessage());
        assertFalse(Files.exists(dir.resolve("10")));
    }

    @Test
    void aRankThatWroteTheWrongRangeFailsTheCommit() throws IOException {
        ClassLayout two = ClassLayout.balanced(12, 2);
        CheckpointWriter rank0 = CheckpointWriter.open(dir, "9", "job-90");
        rank0.writeFcShard(0, 0, 6, fc.weightRows(0, 6), fc.momentumRows(0, 6));
        CheckpointWriter.open(dir, "9", "job-90").writeFcShard(1, 5, 12, fc.weightRows(5, 12), fc.momentumRows(5, 12));
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> rank0.commit(TestCheckpoints.info(two, 4, 90)));
        assertTrue(e.getMessage().endsWith("rank 1 (fc/rank-00001.json): rank 1 classes [5, 12) (expected: rank 1 classes [6, 12)"
                + " of balanced(12 classes over 2 ranks))"), e.getMessage());
        assertFalse(Files.exists(dir.resolve("9")));
    }

    // ------------------------------------------------------------------ helpers

    private void assertManifestError(Consumer<ObjectNode> damage, String expected) throws IOException {
        Path file = cp.resolve("manifest.json");
        byte[] original = Files.readAllBytes(file);
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode m = (ObjectNode) mapper.readTree(original);
        damage.accept(m);
        Files.write(file, mapper.writeValueAsBytes(m));
        try {
            CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoint.open(cp));
            assertTrue(e.getMessage().startsWith(file + ": "), e.getMessage());
            assertTrue(e.getMessage().contains(expected), "expected \"" + expected + "\" in: " + e.getMessage());
        } finally {
            Files.write(file, original);
        }
    }

    private static void flip(Path file, long pos) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(1);
            ch.read(b, pos);
            b.flip();
            byte v = b.get(0);
            b.put(0, (byte) (v ^ 0x10));
            ch.write(b, pos);
        }
    }
}
