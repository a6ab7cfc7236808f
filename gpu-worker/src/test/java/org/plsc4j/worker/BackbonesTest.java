package org.plsc4j.worker;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.core.TestSeed;

/** The registry, the built-in models' shapes, parameter loading and saving an inference model. */
@ExtendWith(TestSeed.class)
class BackbonesTest {

    @Test
    void unknownModelNamesListTheKnownOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Backbones.create("ResNet18", BackboneConfig.of(8, 3, 16, 16, 1)));
        assertEquals("model_name : ResNet18 (expected one of [ResNet50, ResNet100, ResNet101, ResNet152, small, mlp,"
                + " test-linear], or a custom BaseModel)", e.getMessage());
    }

    @Test
    void modelProvidersOnTheClassPathAreFoundByName() {
        Backbone bb = Backbones.create("test-linear", BackboneConfig.of(3, 1, 2, 2, 1));
        assertEquals(java.util.List.of("fc.w", "fc.b"), java.util.List.copyOf(bb.parameters().keySet()));
        assertArrayEquals(new long[] {2, 3}, bb.forward(Nd4j.ones(DataType.FLOAT, 2, 1, 2, 2), false).shape());
    }

    @Test
    void configIsValidated() {
        assertEquals("emb_size : 0 (expected: >= 1)", assertThrows(IllegalArgumentException.class,
                () -> BackboneConfig.of(0, 3, 112, 112, 1)).getMessage());
        assertEquals("height : -2 (expected: >= 1)", assertThrows(IllegalArgumentException.class,
                () -> BackboneConfig.of(8, 3, -2, 112, 1)).getMessage());
        String m = assertThrows(IllegalArgumentException.class,
                () -> new BackboneConfig(8, 3, 8, 8, 1, DataType.INT32)).getMessage();
        assertTrue(m.startsWith("data_type : INT") && m.endsWith(" (expected: FLOAT or DOUBLE)"), m);
    }

    @Test
    void resNet50BuildsAndEmbedsOneImage() {
        BackboneConfig cfg = BackboneConfig.of(64, 3, 32, 32, TestSeed.of("r50"));
        Backbone bb = Backbones.create("ResNet50", cfg);
        // stem (conv, bn γ/β, α) + 24 IR blocks x (bn1, conv1, bn2, α, conv2, bn3) + 4 shortcuts (conv, bn)
        // + head (bn, fc w/b, bn)
        int blocks = 3 + 4 + 14 + 3;
        assertEquals(4 + blocks * (2 + 1 + 2 + 1 + 1 + 2) + 4 * 3 + 2 + 2 + 2, bb.parameters().size());
        assertArrayEquals(new long[] {512 * 2 * 2, 64}, bb.parameters().get("head.fc.w").shape());
        long count = bb.parameters().values().stream().mapToLong(INDArray::length).sum();
        long expected = 3 * 3 * 3 * 64 + 2 * 64 + 1;
        int[] depth = {3, 4, 14, 3};
        int[] filters = {64, 128, 256, 512};
        int in = 64;
        for (int s = 0; s < 4; s++) {
            for (int i = 0; i < depth[s]; i++) {
                int out = filters[s];
                expected += 2L * in + 9L * in * out + 2L * out + 1 + 9L * out * out + 2L * out;
                if (i == 0) {
                    expected += (long) in * out + 2L * out; // 1x1 stride-2 shortcut + BN
                }
                in = out;
            }
        }
        expected += 2 * 512 + 512 * 2 * 2 * 64 + 64 + 2 * 64;
        assertEquals(expected, count, "IR-50 parameter count (30.7M in the body; the FC grows with the image)");
        INDArray x = Tensors.gaussian(new SplittableRandom(TestSeed.of("r50-x")), DataType.FLOAT, 1.0, 1, 3, 32, 32);
        INDArray emb = bb.forward(x, false);
        assertArrayEquals(new long[] {1, 64}, emb.shape());
        for (double v : Tensors.flat(emb)) {
            assertTrue(Double.isFinite(v), "finite embedding");
        }
        assertTrue(emb.norm2Number().doubleValue() > 0, "non-zero embedding");
    }

    @Test
    void initialisationIsAFunctionOfSeedAndName() {
        BackboneConfig cfg = BackboneConfig.of(8, 3, 16, 16, 5);
        Backbone a = Backbones.create("small", cfg);
        Backbone b = Backbones.create("small", cfg);
        Backbone c = Backbones.create("small", BackboneConfig.of(8, 3, 16, 16, 6));
        for (String name : a.parameters().keySet()) {
            assertEquals(a.parameters().get(name), b.parameters().get(name), name);
        }
        assertNotEquals(a.parameters().get("conv1.w"), c.parameters().get("conv1.w"));
        // PLSC's XavierNormal(fan_in=0): std sqrt(2 / (out·k·k)) = sqrt(2 / 144) for conv1 (16 channels, 3x3)
        double std = a.parameters().get("conv1.w").stdNumber().doubleValue();
        assertEquals(Math.sqrt(2.0 / 144), std, 0.25 * Math.sqrt(2.0 / 144));
        Backbone p = Backbones.create((sd, in, t, ctx) -> ctx.dense("fc", ctx.prelu("p", in).reshape(-1, 12), 12, 4,
                true), BackboneConfig.of(4, 3, 2, 2, 1));
        assertEquals(Nd4j.createFromArray(0.25f), p.parameters().get("p.alpha"));
        assertEquals(Nd4j.zeros(DataType.FLOAT, 4), p.parameters().get("fc.b"));
        assertEquals(1.0, a.state().get("conv1.bn.running_var").minNumber().doubleValue(), 0);
    }

    @Test
    void loadCopiesExactlyAndNamesWhatIsWrong() {
        BackboneConfig cfg = BackboneConfig.of(8, 3, 16, 16, 5);
        Backbone src = Backbones.create("small", BackboneConfig.of(8, 3, 16, 16, 9));
        INDArray x = Tensors.gaussian(new SplittableRandom(TestSeed.of("load")), DataType.FLOAT, 1.0, 4, 3, 16, 16);
        src.forward(x, true); // moves the running stats away from 0/1
        Map<String, INDArray> all = new LinkedHashMap<>(src.parameters());
        all.putAll(src.state());
        Backbone dst = Backbones.create("small", cfg);
        dst.load(all);
        all.forEach((k, v) -> assertEquals(v, k.contains("running") ? dst.state().get(k) : dst.parameters().get(k), k));
        assertEquals(src.forward(x, false), dst.forward(x, false));

        Map<String, INDArray> bad = new LinkedHashMap<>(all);
        bad.remove("fc.b");
        bad.put("fc.bias", Nd4j.zeros(DataType.FLOAT, 8));
        bad.put("conv1.w", Nd4j.zeros(DataType.FLOAT, 3, 3, 3, 15));
        INDArray before = dst.parameters().get("conv2.w").dup();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> dst.load(bad));
        assertTrue(e.getMessage().startsWith("backbone load : missing [fc.b]; unexpected [fc.bias]; shape of conv1.w :"
                + " [3, 3, 3, 15] (expected: [3, 3, 3, 16])"), e.getMessage());
        assertEquals(before, dst.parameters().get("conv2.w"), "nothing copied on error");
    }

    @Test
    void inferenceSharesTheLiveParameters() {
        Backbone bb = Backbones.create("small", BackboneConfig.of(8, 3, 16, 16, 3));
        INDArray x = Tensors.gaussian(new SplittableRandom(TestSeed.of("share")), DataType.FLOAT, 1.0, 2, 3, 16, 16);
        INDArray before = bb.forward(x, false);
        bb.parameters().get("fc.w").muli(2);
        INDArray after = bb.forward(x, false);
        assertNotEquals(before, after);
        bb.parameters().get("fc.w").divi(2);
        assertEquals(before, bb.forward(x, false));
    }

    @Test
    void savedInferenceModelGivesTheSameEmbeddings(@TempDir Path dir) throws IOException {
        Backbone bb = Backbones.create("small", BackboneConfig.of(16, 3, 24, 24, TestSeed.of("save")));
        SplittableRandom rng = new SplittableRandom(TestSeed.of("save-x"));
        for (int i = 0; i < 3; i++) {
            bb.forward(Tensors.gaussian(rng, DataType.FLOAT, 1.0, 4, 3, 24, 24), true);
        }
        INDArray x = Tensors.gaussian(rng, DataType.FLOAT, 1.0, 5, 3, 24, 24);
        INDArray expected = bb.forward(x, false);
        bb.inference().save(dir.resolve("model"));
        InferenceModel loaded = Backbones.loadInference(dir.resolve("model"));
        assertEquals(expected, loaded.embed(x));
        assertThrows(IllegalArgumentException.class, () -> loaded.embed(Nd4j.zeros(DataType.FLOAT, 1, 3, 24, 23)));
        assertThrows(java.nio.file.NoSuchFileException.class, () -> Backbones.loadInference(dir.resolve("none")));
    }

    @Test
    void dropoutMasksAreAFunctionOfTheSeeds() {
        BaseModel drop = (sd, in, t, ctx) -> ctx.dense("fc2", ctx.dropout("drop", sd.math().tanh(
                ctx.dense("fc1", in.reshape(-1, 12), 12, 32, true)), 0.4), 32, 4, false);
        BackboneConfig cfg = BackboneConfig.of(4, 3, 2, 2, 11);
        Backbone a = Backbones.create(drop, cfg);
        Backbone b = Backbones.create(drop, cfg);
        INDArray x = Tensors.gaussian(new SplittableRandom(TestSeed.of("drop-x")), DataType.FLOAT, 1.0, 5, 3, 2, 2);
        assertEquals(a.forwardTrain(x, 3), b.forwardTrain(x, 3), "same seeds, same masks");
        assertNotEquals(a.forwardTrain(x, 3), a.forwardTrain(x, 4), "another dropout seed, another mask");
        Backbone c = Backbones.create(drop, cfg);
        Backbone d = Backbones.create(drop, cfg);
        for (int i = 0; i < 3; i++) {
            assertEquals(c.forward(x, true), d.forward(x, true), "training forward " + i + " of two equal runs");
        }
        assertEquals(a.forward(x, false), a.forward(x, false), "no dropout at inference");
        // 0.4 of the hidden units dropped: the training output differs from the inference output
        assertNotEquals(a.forward(x, false), a.forwardTrain(x, 3));
    }

    @Test
    void misuseIsReportedClearly() {
        Backbone bb = Backbones.create("mlp", BackboneConfig.of(4, 1, 2, 2, 1));
        assertEquals("backward without a training forward (expected: forward(images, true) first)",
                assertThrows(IllegalStateException.class, () -> bb.backward(Nd4j.zeros(DataType.FLOAT, 2, 4)))
                        .getMessage());
        assertEquals("images shape : [2, 1, 2, 3] (expected: [batch >= 1, 1, 2, 2])",
                assertThrows(IllegalArgumentException.class,
                        () -> bb.forward(Nd4j.zeros(DataType.FLOAT, 2, 1, 2, 3), true)).getMessage());
        bb.forward(Nd4j.zeros(DataType.FLOAT, 2, 1, 2, 2), true);
        assertEquals("dEmbedding shape : [3, 4] (expected: [2, 4] as the last training forward)",
                assertThrows(IllegalArgumentException.class, () -> bb.backward(Nd4j.zeros(DataType.FLOAT, 3, 4)))
                        .getMessage());
        BaseModel wrongWidth = (sd, input, isTrain, ctx) -> ctx.dense("fc", input.reshape(-1, 4), 4, 3, false);
        Backbone w = Backbones.create(wrongWidth, BackboneConfig.of(5, 1, 2, 2, 1));
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> w.forward(Nd4j.zeros(DataType.FLOAT, 2, 1, 2, 2), true));
        assertTrue(e.getMessage().contains(": [2, 3] (expected: [2, 5])"), e.getMessage());
    }
}
