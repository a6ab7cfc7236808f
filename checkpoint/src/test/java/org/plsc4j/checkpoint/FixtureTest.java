package org.plsc4j.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.plsc4j.core.ClassLayout;
import org.plsc4j.core.ClassLayout.Kind;

/** The committed format-1 checkpoint keeps loading: checksums, the formula, the backbone, resharding. */
class FixtureTest {

    @TempDir
    Path tmp;

    private static Path fixtures() throws URISyntaxException {
        return Path.of(FixtureTest.class.getResource("/fixtures/format-1").toURI());
    }

    @Test
    void theCommittedCheckpointLoadsAndHoldsTheFormula() throws Exception {
        Optional<Path> latest = Checkpoints.latest(fixtures());
        assertEquals(Optional.of(fixtures().resolve("3")), latest);
        Checkpoint cp = Checkpoint.open(latest.get());
        long bytes = cp.verifyAll();
        assertEquals(cp.manifest().files().stream().mapToLong(Manifest.FileEntry::bytes).sum(), bytes);
        assertEquals(ClassLayout.balanced(10, 3), cp.layout());
        assertEquals(null, cp.manifest().fcDtype(), "written before fc_dtype existed");
        assertEquals(false, cp.hasFcBias(), "written before the FC bias existed: loads as an FC without one");
        assertEquals(org.plsc4j.core.FcDtype.FLOAT32, cp.fcWeightsDtype());
        assertEquals(org.plsc4j.core.FcDtype.FLOAT32, cp.fcMomentumDtype());
        assertEquals(120, cp.step());
        assertEquals(3, cp.epoch());
        assertEquals(0.5, cp.config().get("margin").get("m2").asDouble());
        assertEquals("optimizer", cp.extra().get("optimizer_state").asText());

        for (Kind kind : Kind.values()) {
            for (int m = 1; m <= 5; m++) {
                ClassLayout l = ClassLayout.of(kind, 10, m);
                for (int r = 0; r < m; r++) {
                    FcRows rows = cp.readFcRows(l.start(r), l.end(r));
                    for (int c = l.start(r); c < l.end(r); c++) {
                        for (int d = 0; d < 4; d++) {
                            double expected = c + d / 8.0; // exact in float32
                            assertEquals(expected, rows.weights().getFloat(c - l.start(r), d), l + " class " + c);
                            assertEquals(-expected, rows.momentum().getFloat(c - l.start(r), d), l + " class " + c);
                        }
                    }
                }
            }
        }

        Map<String, INDArray> b = cp.readBackbone();
        assertArrayEquals(new float[] {-1f, -0.5f, 0f, 0.5f, 1f, 1.5f}, b.get("conv1/weight").reshape(6).toFloatVector());
        assertArrayEquals(new long[] {2, 3}, b.get("conv1/weight").shape());
        assertEquals(DataType.DOUBLE, b.get("bn1.running_mean").dataType());
        assertArrayEquals(new double[] {-1.0, -0.875, -0.75}, b.get("bn1.running_mean").toDoubleVector());
        assertEquals(12_345_678_901L, b.get("bn1.num_batches_tracked").getLong(0));
        assertArrayEquals(new float[] {0.5f, -1.25f}, b.get("head.scale").castTo(DataType.FLOAT).toFloatVector());
        assertArrayEquals(new float[] {1f, 0.5f, -0f, -0.5f, -1f, -1.5f},
                cp.readArrays("optimizer").get("conv1/weight.momentum").reshape(6).toFloatVector());
    }

    @Test
    void theCommittedCheckpointReshardsAndComesBackIdentical() throws Exception {
        Path in = fixtures().resolve("3");
        Reshard.Result two = Reshard.run(in, tmp.resolve("ceil-2"), 2, Kind.CEIL);
        Checkpoint c2 = Checkpoint.open(two.out());
        assertEquals(ClassLayout.ceil(10, 2), c2.layout());
        c2.verifyAll();
        assertEquals(false, c2.hasFcBias(), "a reshard adds no bias");
        for (int c = 0; c < 10; c++) {
            assertEquals((float) (c + 3 / 8.0), c2.readFcWeights(c, c + 1).getFloat(0, 3), "class " + c);
        }
        Reshard.Result three = Reshard.run(two.out(), tmp.resolve("balanced-3"), 3, Kind.BALANCED);
        for (Manifest.FileEntry f : Checkpoint.open(in).manifest().files()) {
            assertArrayEquals(Files.readAllBytes(in.resolve(f.path())), Files.readAllBytes(three.out().resolve(f.path())), f.path());
        }
    }

    /** Today's writer still produces the committed data files (only the manifest's provenance may differ). */
    @Test
    void theGeneratorStillWritesTheCommittedDataFiles() throws Exception {
        Path fresh = FixtureGenerator.generate(tmp);
        Manifest committed = Checkpoint.open(fixtures().resolve("3")).manifest();
        Manifest now = Checkpoint.open(fresh).manifest();
        assertEquals(committed.files(), now.files());
        assertEquals(committed.shards(), now.shards());
        assertEquals(committed.backbone(), now.backbone());
        assertEquals(committed.arrays(), now.arrays());
        assertEquals(committed.config(), now.config());
    }
}
