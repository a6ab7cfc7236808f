package org.plsc4j.elastic;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.checkpoint.Checkpoint;
import org.plsc4j.worker.Backbones;
import org.plsc4j.worker.InferenceModel;
import org.plsc4j.worker.Trainer;

/**
 * A checkpoint written by the trainer of plsc4j 0.1 (committed under fixtures/trainer-v1, made by
 * {@link TrainerFixture}) still warm starts — on 2 workers, re-partitioned — and still exports.
 */
class TrainerFixtureTest {

    static Path fixture(Path dir) throws Exception {
        Path src = Path.of(TrainerFixtureTest.class.getResource("/fixtures/trainer-v1/0/manifest.json").toURI()).getParent();
        Path dst = dir.resolve("fixture/0");
        try (Stream<Path> s = Files.walk(src)) {
            for (Path p : s.sorted(Comparator.naturalOrder()).toList()) {
                Path q = dst.resolve(src.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(q);
                } else {
                    Files.copy(p, q);
                }
            }
        }
        return dst;
    }

    @Test
    void theCommittedTrainerCheckpointStillWarmStartsOnTwoWorkersAndExports(@TempDir Path dir) throws Exception {
        Path ck = fixture(dir);
        Checkpoint c = Checkpoint.open(ck);
        assertEquals(1, c.layout().worldSize());
        assertEquals(5, c.step());
        c.verifyAll();

        Trainer.Summary s = ThreadRanks.run(TrainerFixture.config(TrainerFixture.data(dir), dir.resolve("resumed"),
                ck.toString(), 2), 2);
        assertEquals(5, s.firstStep());
        assertEquals(5, s.losses().size());
        assertTrue(s.losses().stream().allMatch(Double::isFinite), s.losses().toString());
        assertEquals(2, Checkpoint.open(dir.resolve("resumed/1")).layout().worldSize());

        Path exported = Jobs.export(ck, dir.resolve("inference"), null);
        InferenceModel m = Backbones.loadInference(exported);
        INDArray e = m.embed(Nd4j.zeros(DataType.FLOAT, 2, 3, 8, 8));
        assertArrayEquals(new long[] {2, 8}, e.shape());
        for (double v : e.reshape(-1).toDoubleVector()) {
            assertTrue(Double.isFinite(v), "embedding " + e);
        }
    }
}
