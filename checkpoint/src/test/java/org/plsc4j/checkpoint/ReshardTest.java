package org.plsc4j.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.plsc4j.checkpoint.TestCheckpoints.Fc;
import org.plsc4j.core.ClassLayout;
import org.plsc4j.core.ClassLayout.Kind;
import org.plsc4j.core.TestSeed;

/** Offline re-partitioning moves rows, never changes them: N → M → N is byte-identical. */
@ExtendWith(TestSeed.class)
class ReshardTest {

    @TempDir
    Path dir;

    @Test
    void fourToThreeToFourIsByteIdentical() throws IOException {
        roundTrip(ClassLayout.balanced(29, 4), 3, Kind.BALANCED);
    }

    @Test
    void balancedToCeilAndBackIsByteIdentical() throws IOException {
        roundTrip(ClassLayout.balanced(29, 4), 4, Kind.CEIL);
        roundTrip(ClassLayout.ceil(30, 4), 7, Kind.BALANCED);
    }

    private void roundTrip(ClassLayout original, int midWorld, Kind midKind) throws IOException {
        int c = original.numClasses();
        Fc fc = Fc.random(c, 6, TestSeed.of("reshard-" + original + midWorld));
        Path base = dir.resolve(original.kind() + "-" + original.worldSize() + "-" + midWorld);
        TestCheckpoints.write(base, "1", original, fc, TestCheckpoints.backbone(7), 10, true);
        Path in = base.resolve("1");

        Reshard.Result mid = Reshard.run(in, base.resolve("mid"), midWorld, midKind);
        ClassLayout midLayout = ClassLayout.of(midKind, c, midWorld);
        assertEquals(midLayout, mid.to());
        assertEquals(original, mid.from());
        Checkpoint m = Checkpoint.open(mid.out());
        assertEquals(midLayout, m.layout());
        assertEquals(m.manifest().files().size(), mid.files());
        assertEquals(m.verifyAll(), mid.bytes());
        for (int r = 0; r < midWorld; r++) {
            Manifest.Shard s = m.manifest().shards().get(r);
            assertEquals(midLayout.start(r), s.classStart());
            assertEquals(midLayout.end(r), s.classEnd());
        }
        // every class's row, bit for bit
        assertArrayEquals(fc.weights().data().asInt(), m.readFcWeights(0, c).data().asInt());
        assertArrayEquals(fc.momentum().data().asInt(), m.readFcMomentum(0, c).data().asInt());
        // backbone and optimizer files copied byte for byte, same names; training position and trainer JSON kept
        Checkpoint orig = Checkpoint.open(in);
        assertEquals(orig.manifest().backbone(), m.manifest().backbone());
        assertEquals(orig.manifest().arrays(), m.manifest().arrays());
        for (String f : orig.manifest().backbone().values()) {
            assertArrayEquals(Files.readAllBytes(in.resolve(f)), Files.readAllBytes(mid.out().resolve(f)), f);
        }
        assertEquals(orig.step(), m.step());
        assertEquals(orig.epoch(), m.epoch());
        assertEquals(orig.config(), m.config());
        assertEquals(orig.extra(), m.extra());

        Reshard.Result back = Reshard.run(mid.out(), base.resolve("back"), original.worldSize(), original.kind());
        for (int r = 0; r < original.worldSize(); r++) {
            for (String kind : List.of("weights", "momentum")) {
                String f = String.format("fc/rank-%05d-%s.npy", r, kind);
                assertArrayEquals(Files.readAllBytes(in.resolve(f)), Files.readAllBytes(back.out().resolve(f)), f);
            }
        }
        for (Manifest.FileEntry f : orig.manifest().files()) {
            assertEquals(f, Checkpoint.open(back.out()).manifest().file(f.path()), "same size and sha256: " + f.path());
        }
    }

    @Test
    void refusesAnExistingOutputAndLeavesNothingOnFailure() throws IOException {
        Fc fc = Fc.random(8, 2, 3);
        TestCheckpoints.write(dir, "1", ClassLayout.balanced(8, 2), fc, TestCheckpoints.backbone(3), 10, true);
        TestCheckpoints.write(dir, "2", ClassLayout.balanced(8, 2), fc, TestCheckpoints.backbone(3), 20, true);
        FileAlreadyExistsException e = assertThrows(FileAlreadyExistsException.class,
                () -> Reshard.run(dir.resolve("1"), dir.resolve("2"), 3, Kind.BALANCED));
        assertTrue(e.getMessage().contains(dir.resolve("2").toString()), e.getMessage());

        Path bad = dir.resolve("1/backbone/bn1.running_var.npy");
        byte[] bytes = Files.readAllBytes(bad);
        bytes[bytes.length - 2] ^= 1;
        Files.write(bad, bytes);
        CheckpointException ce = assertThrows(CheckpointException.class,
                () -> Reshard.run(dir.resolve("1"), dir.resolve("3"), 3, Kind.BALANCED));
        assertTrue(ce.getMessage().startsWith(bad + ": sha256 : "), ce.getMessage());
        assertFalse(Files.exists(dir.resolve("3")));
        assertEquals(List.of(), Checkpoints.listStaging(dir));

        IllegalArgumentException ie = assertThrows(IllegalArgumentException.class,
                () -> Reshard.run(dir.resolve("2"), dir.resolve("4"), 9, Kind.BALANCED));
        assertEquals("num_classes : 8 (expected: >= world_size = 9, every rank must own a class)", ie.getMessage());
    }
}
