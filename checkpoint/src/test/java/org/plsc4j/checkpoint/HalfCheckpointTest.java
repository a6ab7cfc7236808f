package org.plsc4j.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.core.ClassLayout;
import org.plsc4j.core.FcConfig;
import org.plsc4j.core.FcDtype;
import org.plsc4j.core.FcStorage;
import org.plsc4j.core.PartialFc;
import org.plsc4j.core.TestSeed;
import org.plsc4j.core.collective.Collective;
import org.plsc4j.core.collective.CollectiveConfig;
import org.plsc4j.core.collective.Collectives;
import org.plsc4j.core.io.Npy;
import org.plsc4j.core.io.NpyDType;

/**
 * Half-precision FC checkpoints: the manifest records the dtype, the files hold the stored bits
 * ({@code <f2}, bfloat16 as {@code <u2}), and round trip, reshard and warm start are exact; conversion
 * on request widens exactly and narrows to nearest even.
 */
@ExtendWith(TestSeed.class)
class HalfCheckpointTest {

    private static final int C = 40;
    private static final int D = 8;

    @TempDir
    Path dir;

    private static FcConfig config() {
        return FcConfig.builder().numClasses(C).embSize(D).sampleRatio(1.0).momentum(0.9).weightDecay(5e-4)
                .seed(TestSeed.of("half-ckpt")).build();
    }

    private static Collective single() {
        return Collectives.join("inprocess", CollectiveConfig.builder().jobId("hc-" + UUID.randomUUID())
                .timeout(Duration.ofSeconds(30)).build());
    }

    private static float[] values(INDArray a) {
        float[] out = new float[(int) a.length()];
        FcStorage.read(a, 0, a.rows(), out, 0);
        return out;
    }

    /** A trained 1-rank shard in {@code t}, saved as checkpoint {@code name}. */
    private PartialFc trainAndSave(FcDtype t, String name) throws Exception {
        SplittableRandom rng = new SplittableRandom(TestSeed.of("half-ckpt-data"));
        try (Collective c = single()) {
            PartialFc fc = PartialFc.create(config(), c, 16, t, t);
            for (int step = 0; step < 2; step++) {
                float[] x = new float[4 * D];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) rng.nextGaussian();
                }
                fc.step(Nd4j.create(x, new long[] {4, D}, 'c'), rng.ints(4, 0, C).toArray(), 0.5, step);
            }
            CheckpointWriter w = CheckpointWriter.open(dir, name, "t-" + name);
            w.writeFcShard(0, 0, C, fc.weights(), fc.momentum());
            w.commit(new ManifestInfo(C, D, 1, ClassLayout.Kind.BALANCED, 2, 0, null, null));
            return fc;
        }
    }

    @Test
    void halfShardsRoundTripBitForBitWithTheDtypeRecorded() throws Exception {
        for (FcDtype t : List.of(FcDtype.FLOAT16, FcDtype.BFLOAT16, FcDtype.FLOAT32)) {
            PartialFc fc = trainAndSave(t, t.key());
            Checkpoint ck = Checkpoint.open(dir.resolve(t.key()));
            assertEquals(new Manifest.FcDtypes(t.key(), t.key()), ck.manifest().fcDtype());
            assertEquals(t, ck.fcWeightsDtype());
            Npy.Header h = Npy.readHeader(ck.dir().resolve(ck.manifest().shards().get(0).weights()));
            assertEquals(t == FcDtype.FLOAT16 ? NpyDType.F2 : t == FcDtype.BFLOAT16 ? NpyDType.U2 : NpyDType.F4,
                    h.dtype());
            assertEquals(Npy.headerBytes(h.dtype(), h.shape()).length + (long) C * D * t.bytes(),
                    Files.size(ck.dir().resolve(ck.manifest().shards().get(0).weights())));
            INDArray w = ck.readFcWeights(0, C);
            assertEquals(t.dataType(), w.dataType());
            assertArrayEquals(values(fc.weights()), values(w), t + " weights");
            assertArrayEquals(values(fc.momentum()), values(ck.readFcMomentum(0, C)), t + " momentum");
            // a warm start straight into a shard of another world size, then one more identical step
            try (Collective c = single()) {
                PartialFc back = PartialFc.create(config(), c, 16, t, t);
                ck.readFcInto(0, C, true, back.weights());
                ck.readFcInto(0, C, false, back.momentum());
                back.weightsChanged();
                assertArrayEquals(values(fc.weights()), values(back.weights()));
                float[] x = new float[4 * D];
                java.util.Arrays.fill(x, 0.25f);
                x[3] = -1;
                int[] y = {1, 5, 7, 39};
                PartialFc.StepResult a = fc.step(Nd4j.create(x, new long[] {4, D}, 'c'), y, 0.5, 9);
                PartialFc.StepResult b = back.step(Nd4j.create(x, new long[] {4, D}, 'c'), y, 0.5, 9);
                assertEquals(a.loss(), b.loss(), t + " resumed loss");
                assertArrayEquals(values(fc.weights()), values(back.weights()), t + " resumed weights");
            }
        }
    }

    @Test
    void reshardOfHalfCheckpointsIsExactAndConvertsOnRequest() throws Exception {
        PartialFc fc = trainAndSave(FcDtype.BFLOAT16, "bf");
        float[] w = values(fc.weights());
        float[] m = values(fc.momentum());
        Reshard.Result three = Reshard.run(dir.resolve("bf"), dir.resolve("bf3"), 3, ClassLayout.Kind.CEIL);
        Checkpoint c3 = Checkpoint.open(three.out());
        assertEquals(FcDtype.BFLOAT16, c3.fcWeightsDtype());
        assertEquals(3, c3.manifest().shards().size());
        assertArrayEquals(w, values(c3.readFcWeights(0, C)));
        assertArrayEquals(m, values(c3.readFcMomentum(0, C)));
        // widen to float32: exact
        Reshard.Result wide = Reshard.run(three.out(), dir.resolve("f32"), 2, ClassLayout.Kind.BALANCED, FcDtype.FLOAT32);
        Checkpoint cw = Checkpoint.open(wide.out());
        assertEquals(new Manifest.FcDtypes("float32", "float32"), cw.manifest().fcDtype());
        assertArrayEquals(w, values(cw.readFcWeights(0, C)));
        // narrow float32 -> float16: round to nearest even of every value
        Reshard.Result narrow = Reshard.run(wide.out(), dir.resolve("f16"), 1, ClassLayout.Kind.BALANCED, FcDtype.FLOAT16);
        float[] n = values(Checkpoint.open(narrow.out()).readFcWeights(0, C));
        for (int i = 0; i < w.length; i++) {
            assertEquals(FcDtype.FLOAT16.round(w[i]), n[i], "value " + i);
        }
        // a float16 checkpoint read into a bfloat16 shard converts on the way (warm start with another fc_dtype)
        PartialFc half = trainAndSave(FcDtype.FLOAT16, "h");
        n = values(half.weights());
        INDArray into = Nd4j.createUninitialized(FcDtype.BFLOAT16.dataType(), new long[] {C, D}, 'c');
        Checkpoint.open(dir.resolve("h")).readFcInto(0, C, true, into);
        float[] b = values(into);
        int differ = 0;
        for (int i = 0; i < n.length; i++) {
            assertEquals(FcDtype.BFLOAT16.round(n[i]), b[i], "value " + i);
            differ += n[i] != b[i] ? 1 : 0;
        }
        assertTrue(differ > 0, "float16 -> bfloat16 must round some values (else the test is void)");
    }
}
