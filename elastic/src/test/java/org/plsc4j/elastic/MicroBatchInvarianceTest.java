package org.plsc4j.elastic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.plsc4j.checkpoint.Checkpoint;
import org.plsc4j.core.TrainConfig;
import org.plsc4j.core.TrainConfigs;
import org.plsc4j.data.DatasetGenerator;
import org.plsc4j.data.GeneratorOptions;
import org.plsc4j.worker.Trainer;

/**
 * Gradient accumulation over micro-batches is exact for a model without batch statistics: the same
 * loss curve and the same parameters (backbone and FC) as one pass over the local batch, on one and
 * on two workers.
 */
class MicroBatchInvarianceTest {

    @TempDir
    static Path dir;
    static Path data;

    @BeforeAll
    static void generate() throws Exception {
        data = dir.resolve("data");
        DatasetGenerator.generate(GeneratorOptions.of(data, 30, 10).withImageSize(16).withPairs(20).withSeed(7));
    }

    private static TrainConfig config(String name, Integer micro) {
        Map<String, Object> m = TrainerInvarianceTest.tinyMlp(data, dir.resolve(name), 1);
        m.put("micro_batch_size", micro);
        return TrainConfigs.bind(TrainConfigs.merged(m), "test");
    }

    @Test
    void microBatchesGiveTheSameCurveAndParameters() throws Exception {
        Trainer.Summary whole = ThreadRanks.run(config("whole", 12), 1);
        assertEquals(TrainerInvarianceTest.EPOCH, whole.losses().size());
        // 12 = 5 + 5 + 2 on one worker; 6 = 4 + 2 on each of two
        for (int[] wm : new int[][] {{1, 5}, {2, 4}, {1, 1}}) {
            String what = wm[0] + " worker(s), micro_batch_size " + wm[1];
            Trainer.Summary split = ThreadRanks.run(config("split-" + wm[0] + "-" + wm[1], wm[1]), wm[0]);
            TrainerInvarianceTest.assertSameCurve(whole.losses(), split.losses(), what);
            assertSameArrays(Checkpoint.open(whole.lastCheckpoint()).readBackbone(),
                    Checkpoint.open(split.lastCheckpoint()).readBackbone(), what);
            Checkpoint a = Checkpoint.open(whole.lastCheckpoint());
            Checkpoint b = Checkpoint.open(split.lastCheckpoint());
            assertClose(a.readFcWeights(0, 30), b.readFcWeights(0, 30), what + ": FC weights");
        }
    }

    private static void assertSameArrays(Map<String, INDArray> expected, Map<String, INDArray> actual, String what) {
        assertEquals(expected.keySet(), actual.keySet(), what);
        expected.forEach((name, e) -> assertClose(e, actual.get(name), what + ": " + name));
    }

    private static void assertClose(INDArray e, INDArray a, String what) {
        double scale = Math.max(1e-3, e.amaxNumber().doubleValue());
        double diff = e.sub(a).amaxNumber().doubleValue();
        assertTrue(diff <= 1e-4 * scale, what + ": max |diff| " + diff + " (scale " + scale + ")");
    }
}
