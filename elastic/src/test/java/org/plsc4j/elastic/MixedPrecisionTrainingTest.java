package org.plsc4j.elastic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.plsc4j.Entry;
import org.plsc4j.checkpoint.Checkpoint;
import org.plsc4j.core.FcDtype;
import org.plsc4j.core.FcStorage;
import org.plsc4j.worker.Trainer;

/**
 * Tiny real runs with half-precision FC storage: float16 (with dynamic loss scaling) and bfloat16
 * reach the verification accuracy of float32 within 0.5 % (absolute); metrics carry the loss scale;
 * a run whose loss turns NaN without loss scaling stops naming the step and leaves no checkpoint from
 * after it (and none holding NaN).
 */
class MixedPrecisionTrainingTest {

    @TempDir
    static Path dir;
    static Path data;

    @BeforeAll
    static void generate() throws Exception {
        data = dir.resolve("data");
        org.plsc4j.data.DatasetGenerator.generate(org.plsc4j.data.GeneratorOptions.of(data, 40, 8).withImageSize(16)
                .withPairs(1000).withSeed(3));
    }

    static Entry tiny(Path save) {
        // a fixed small initial std: this compares storage types, and a half-precision row rounds an
        // update relative to its own norm, so the PLSC default (here 0.17) moves the comparison by itself
        return TrainingEndToEndTest.tiny(data, save).setLossType("dist_arcface").setMargin(0.3).set("fc_init_std", 0.01);
    }

    @Test
    void halfStorageVerifiesAsFloat32Does() throws Exception {
        double f32 = Jobs.trainInProcess(tiny(dir.resolve("f32")).config(), null, null).lastEval().get("synth")
                .accuracy();
        Path f16Dir = dir.resolve("f16");
        Trainer.Summary f16 = Jobs.trainInProcess(tiny(f16Dir).setMixedPrecision(true, 1024, 4, 2, 2.0, 0.5, true, null)
                .config(), null, null);
        Path bf16Dir = dir.resolve("bf16");
        Trainer.Summary bf16 = Jobs.trainInProcess(tiny(bf16Dir).setFcDtype("bfloat16").config(), null, null);
        assertTrue(f32 > 0.7, "float32 verification accuracy " + f32);
        assertEquals(f32, f16.lastEval().get("synth").accuracy(), 0.005, "float16 vs float32");
        assertEquals(f32, bf16.lastEval().get("synth").accuracy(), 0.005, "bfloat16 vs float32");
        // the checkpoints hold the storage type
        assertEquals(FcDtype.FLOAT16, Checkpoint.open(f16Dir.resolve("2")).fcWeightsDtype());
        assertEquals(FcDtype.BFLOAT16, Checkpoint.open(bf16Dir.resolve("2")).fcMomentumDtype());
        // metrics.jsonl: the loss scale grew from 1024 (incr_every_n_steps = 4) and no step was skipped
        ObjectMapper m = new ObjectMapper();
        double lastScale = 0;
        for (String line : Files.readAllLines(f16Dir.resolve("metrics.jsonl"))) {
            JsonNode n = m.readTree(line);
            if (n.get("event").asText().equals("train")) {
                assertTrue(n.has("loss_scale") && n.has("skipped_steps"), n.toString());
                assertEquals(0, n.get("skipped_steps").asLong(), n.toString());
                lastScale = n.get("loss_scale").asDouble();
            }
        }
        assertTrue(lastScale > 1024, "loss_scale " + lastScale);
        // the scaler's state is in the checkpoint and a warm start continues from it (not from 1024)
        Checkpoint ck = Checkpoint.open(f16Dir.resolve("2"));
        assertEquals(lastScale, ck.extra().get("loss_scaling").get("scale").asDouble(), "checkpointed loss scale");
        Path resumed = dir.resolve("f16-resumed");
        Jobs.trainInProcess(tiny(resumed).setMixedPrecision(true, 1024, 4, 2, 2.0, 0.5, true, null).setTrainEpochs(4)
                .setWithTest(false).setCheckpointDir(ck.dir().toString()).config(), null, null);
        JsonNode first = null;
        for (String line : Files.readAllLines(resumed.resolve("metrics.jsonl"))) {
            JsonNode n = m.readTree(line);
            if (first == null && n.get("event").asText().equals("train")) {
                first = n;
            }
        }
        assertTrue(first != null && first.get("loss_scale").asDouble() >= lastScale, String.valueOf(first));
        for (String line : Files.readAllLines(bf16Dir.resolve("metrics.jsonl"))) {
            assertTrue(!line.contains("loss_scale"), "no loss scaling without use_fp16: " + line);
        }
    }

    /** SGD momentum that writes a NaN into the backbone at one step: a diverged update, on cue. */
    private static final class PoisonAt implements org.plsc4j.worker.Optimizer {
        private final org.plsc4j.worker.MomentumSgd sgd = new org.plsc4j.worker.MomentumSgd(0.9, 5e-4);
        private final int poisonStep;
        private int step;

        PoisonAt(int poisonStep) {
            this.poisonStep = poisonStep;
        }

        @Override
        public void step(java.util.Map<String, org.nd4j.linalg.api.ndarray.INDArray> params,
                         java.util.Map<String, org.nd4j.linalg.api.ndarray.INDArray> grads, double lr) {
            sgd.step(params, grads, lr);
            if (step++ == poisonStep) {
                params.values().iterator().next().putScalar(0, Double.NaN);
            }
        }

        @Override
        public java.util.Map<String, org.nd4j.linalg.api.ndarray.INDArray> state() {
            return sgd.state();
        }

        @Override
        public void loadState(java.util.Map<String, org.nd4j.linalg.api.ndarray.INDArray> state) {
            sgd.loadState(state);
        }
    }

    @Test
    void aNanLossStopsNamingTheStepWithTheLastGoodCheckpointKept() throws Exception {
        Path save = dir.resolve("poison");
        // 320 samples, batch 32: 10 steps per epoch; the update of step 14 diverges, step 15's loss is NaN
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Jobs.trainInProcess(
                tiny(save).setTrainEpochs(3).setWithTest(false).config(), null, new PoisonAt(14)));
        assertTrue(e.getMessage().startsWith("loss : NaN at epoch 1 step 15 (expected: finite loss and gradients"),
                e.getMessage());
        Checkpoint ck = Checkpoint.open(save.resolve("0"));
        assertEquals(10, ck.step());
        assertTrue(FcStorage.allFinite(ck.readFcWeights(0, 40), 0, 40));
        assertTrue(!Files.exists(save.resolve("1")), "no checkpoint after the NaN");
        // a divergence in the last step of an epoch: the checkpoint is refused, not written with NaN
        Path last = dir.resolve("poison-last");
        IllegalStateException c = assertThrows(IllegalStateException.class, () -> Jobs.trainInProcess(
                tiny(last).setTrainEpochs(2).setWithTest(false).config(), null, new PoisonAt(9)));
        assertTrue(c.getMessage().startsWith("checkpoint 0 (step 10): rank 0 backbone holds Inf/NaN"), c.getMessage());
        assertTrue(!Files.exists(last.resolve("0")), "no checkpoint holding NaN");
    }

    @Test
    void aNanLossWithoutLossScalingStopsNamingTheStepAndWritesNoCheckpointAfterIt() throws Exception {
        Path save = dir.resolve("nan");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Jobs.trainInProcess(
                tiny(save).setLr(1e25).setTrainEpochs(4).setWithTest(false).config(), null, null));
        Matcher mt = Pattern.compile("loss : \\S+ at epoch (\\d+) step (\\d+) \\(expected: finite loss and gradients")
                .matcher(e.getMessage());
        assertTrue(mt.find(), e.getMessage());
        long failedStep = Long.parseLong(mt.group(2));
        List<Path> checkpoints = new ArrayList<>();
        if (Files.isDirectory(save)) {
            try (Stream<Path> s = Files.list(save)) {
                s.filter(p -> Files.isRegularFile(p.resolve("manifest.json"))).forEach(checkpoints::add);
            }
        }
        for (Path p : checkpoints) {
            Checkpoint ck = Checkpoint.open(p);
            assertTrue(ck.step() <= failedStep, p + " at step " + ck.step() + " after the NaN at step " + failedStep);
            assertTrue(FcStorage.allFinite(ck.readFcWeights(0, 40), 0, 40), p + " holds NaN");
            for (var a : ck.readBackbone().values()) {
                assertTrue(Double.isFinite(a.sumNumber().doubleValue()), p + " backbone holds NaN");
            }
        }
    }
}
