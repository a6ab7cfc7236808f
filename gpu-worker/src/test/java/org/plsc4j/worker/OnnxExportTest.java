package org.plsc4j.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.plsc4j.core.TestSeed;

/**
 * ONNX Runtime, an independent runtime, reproduces plsc4j's inference embeddings from the exported
 * {@code model.onnx}: max |Δ| ≤ 1e-4 after L2 normalisation, for the built-in backbones and custom
 * models, with batch-norm running statistics and PReLU slopes away from their initial values so
 * that a wrong folding could not pass.
 */
@ExtendWith(TestSeed.class)
class OnnxExportTest {

    private static final double TOL = 1e-4;

    /** Moves BN statistics, γ, β and PReLU α away from their initial values, seeded. */
    static void perturb(Backbone bb, SplittableRandom rng) {
        for (Map.Entry<String, INDArray> e : bb.state().entrySet()) {
            INDArray a = e.getValue();
            boolean var = e.getKey().endsWith(".running_var");
            INDArray v = Tensors.gaussian(rng, a.dataType(), var ? 0.2 : 0.3, a.shape());
            a.assign(var ? v.muli(v).addi(0.5) : v);
        }
        for (Map.Entry<String, INDArray> e : bb.parameters().entrySet()) {
            String k = e.getKey();
            if (k.endsWith(".gamma") || k.endsWith(".beta") || k.endsWith(".alpha")) {
                INDArray a = e.getValue();
                a.addi(Tensors.gaussian(rng, a.dataType(), 0.1, a.shape()));
            }
        }
    }

    private static void assertOrtMatches(String what, Backbone bb, int batch) throws Exception {
        SplittableRandom rng = new SplittableRandom(TestSeed.of(what + "-x"));
        perturb(bb, rng);
        BackboneConfig c = bb.config();
        INDArray x = Tensors.gaussian(rng, DataType.FLOAT, 1.0, batch, c.channels(), c.height(), c.width());
        float[][] expected = bb.inference().embed(x).castTo(DataType.FLOAT).toFloatMatrix();
        byte[] onnx = OnnxExport.toBytes(bb.inference());
        float[][] actual = OrtRun.embed(onnx, x);
        double d = OrtRun.maxL2Diff(expected, actual);
        assertTrue(d <= TOL, what + ": max |Δ| after L2 normalisation " + d + " (expected <= " + TOL + ", seed "
                + TestSeed.BASE + ")");
        // the batch dimension is dynamic: one image alone gives its row of the batch
        float[][] one = OrtRun.embed(onnx, x.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 1)));
        double d1 = OrtRun.maxL2Diff(new float[][] {expected[0]}, one);
        assertTrue(d1 <= TOL, what + " batch of 1: " + d1 + " (seed " + TestSeed.BASE + ")");
    }

    @Test
    void smallMatches() throws Exception {
        assertOrtMatches("small", Backbones.create("small", BackboneConfig.of(16, 3, 24, 20, TestSeed.of("small"))), 3);
    }

    @Test
    void mlpMatches() throws Exception {
        assertOrtMatches("mlp", Backbones.create("mlp", BackboneConfig.of(8, 3, 12, 10, TestSeed.of("mlp"))), 3);
    }

    @Test
    void resNet50Matches() throws Exception {
        // 16x16 is the smallest image that keeps every stage's stride-2 meaningful (16 -> 8 -> 4 -> 2 -> 1)
        assertOrtMatches("ResNet50", Backbones.create("ResNet50", BackboneConfig.of(32, 3, 16, 16,
                TestSeed.of("r50"))), 2);
    }

    /** The deeper face ResNets: the same ops as ResNet50, more blocks (tens of millions of weights each). */
    @ParameterizedTest
    @ValueSource(strings = {"ResNet100", "ResNet101", "ResNet152"})
    void deeperResNetsMatch(String name) throws Exception {
        assertOrtMatches(name, Backbones.create(name, BackboneConfig.of(16, 3, 16, 16, TestSeed.of(name))), 1);
    }

    /** Ops the built-in backbones do not use, so their mappings are checked too. */
    static final class OpZoo implements BaseModel {
        @Override
        public SDVariable buildNetwork(SameDiff sd, SDVariable input, boolean isTrain, ModelContext ctx) {
            int c = ctx.config().channels();
            int hw = ctx.config().height() * ctx.config().width();
            SDVariable x = ctx.conv2d("conv", input, c, 4, 3, 1, 1);
            x = sd.nn().leakyRelu(x, 0.1).add(sd.math().square(x).mul(0.01));
            SDVariable flat = x.reshape(-1, 4 * hw);
            SDVariable a = sd.nn().sigmoid(ctx.dense("fa", flat, 4 * hw, 6, true));
            SDVariable b = sd.math().exp(sd.nn().softmax(ctx.dense("fb", flat, 4 * hw, 6, false), 1))
                    .div(sd.math().sqrt(sd.math().abs(x.sum(true, 1, 2, 3).reshape(-1, 1)).add(1.0)));
            SDVariable cat = sd.concat(1, a, b, x.max(2, 3));
            SDVariable w = ctx.param("proj.w", Init.xavierNormal(0, 16), ctx.embSize(), 16);
            SDVariable y = sd.mmul(cat, w, false, true, false);
            return sd.permute(sd.permute(y, 1, 0).rsub(2.0).rdiv(1.0), 1, 0).sub(sd.math().log(a.mean(true, 1)));
        }
    }

    @Test
    void customModelWithOtherOpsMatches() throws Exception {
        assertOrtMatches("zoo", Backbones.create(new OpZoo(), BackboneConfig.of(5, 2, 6, 5, TestSeed.of("zoo"))), 3);
    }

    @Test
    void anUnmappableOpIsNamed() {
        BaseModel sine = (sd, input, isTrain, ctx) -> {
            SDVariable x = ctx.conv2d("conv", input, 1, 2, 3, 1, 1);
            SDVariable s = sd.math().sin(x).mean(2, 3);
            return ctx.dense("fc", sd.math().cos(s), 2, ctx.embSize(), true);
        };
        Backbone bb = Backbones.create(sine, BackboneConfig.of(3, 1, 4, 4, 1));
        OnnxExportException e = assertThrows(OnnxExportException.class, () -> OnnxExport.toBytes(bb.inference()));
        assertEquals("sin", e.opName());
        assertTrue(e.getMessage().startsWith("ONNX export: op sin (Sin, producing " + e.output()
                + ") has no ONNX mapping (supported ops: ["), e.getMessage());
    }

    @Test
    void writeLeavesOnlyTheModelFile(@TempDir Path dir) throws Exception {
        Backbone bb = Backbones.create("mlp", BackboneConfig.of(4, 1, 3, 3, 7));
        Path f = OnnxExport.write(bb.inference(), dir.resolve("m"));
        assertEquals(dir.resolve("m").resolve(OnnxExport.ONNX_FILE), f);
        try (var s = Files.list(dir.resolve("m"))) {
            assertEquals(1, s.count());
        }
        onnx.Onnx.ModelProto m = onnx.Onnx.ModelProto.parseFrom(Files.readAllBytes(f));
        assertEquals(OnnxExport.OPSET, m.getOpsetImport(0).getVersion());
        var in = m.getGraph().getInput(0).getType().getTensorType();
        assertEquals("batch", in.getShape().getDim(0).getDimParam());
        assertEquals(onnx.Onnx.TensorProto.DataType.FLOAT_VALUE, in.getElemType());
        assertEquals(4, m.getGraph().getOutput(0).getType().getTensorType().getShape().getDim(1).getDimValue());
    }
}
