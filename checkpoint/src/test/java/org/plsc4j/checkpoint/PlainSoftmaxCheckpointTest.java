package org.plsc4j.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
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
import org.plsc4j.core.FcHead;
import org.plsc4j.core.PartialFc;
import org.plsc4j.core.Ranks;
import org.plsc4j.core.TestSeed;
import org.plsc4j.core.collective.Collective;
import org.plsc4j.core.collective.CollectiveConfig;
import org.plsc4j.core.collective.Collectives;
import org.plsc4j.core.io.Npy;

/**
 * The bias of PLSC's plain softmax FC in checkpoints: saved per rank with its class range
 * ({@code fc/rank-NNNNN-bias.npy}, {@code -bias-momentum.npy}, listed in the manifest's shards), read back
 * by class range into another worker count and layout bit for bit, resharded exactly; checkpoints without
 * a bias (every older one) say so.
 */
@ExtendWith(TestSeed.class)
class PlainSoftmaxCheckpointTest {

    private static final int C = 50;
    private static final int D = 8;
    private static final int BATCH = 6;

    @TempDir
    Path dir;

    private static FcConfig config(ClassLayout.Kind kind) {
        return FcConfig.builder().numClasses(C).embSize(D).head(FcHead.LINEAR_BIAS).initStd(FcConfig.plscInitStd(D, C))
                .layout(kind).momentum(0.9).weightDecay(5e-4).seed(TestSeed.of("plain-ck")).build();
    }

    private static Collective join(String job, int rank, int world) {
        return Collectives.join("inprocess", CollectiveConfig.builder().jobId(job).rank(rank).worldSize(world)
                .timeout(Duration.ofSeconds(60)).build());
    }

    /** Trains 2 steps on 2 balanced ranks and saves; returns the whole bias and bias momentum [C]. */
    private INDArray[] trainAndSave() {
        SplittableRandom rnd = new SplittableRandom(TestSeed.of("plain-ck-batch"));
        float[] x = new float[BATCH * D];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        int[] y = rnd.ints(BATCH, 0, C).toArray();
        String job = "save-" + UUID.randomUUID();
        List<INDArray[]> saved = Ranks.runIndexed(2, r -> () -> {
            try (Collective c = join(job, r, 2)) {
                PartialFc fc = PartialFc.create(config(ClassLayout.Kind.BALANCED), c);
                int local = BATCH / 2;
                INDArray xr = Nd4j.create(java.util.Arrays.copyOfRange(x, r * local * D, (r + 1) * local * D),
                        new long[] {local, D}, 'c');
                int[] yr = java.util.Arrays.copyOfRange(y, r * local, (r + 1) * local);
                for (int step = 0; step < 2; step++) {
                    fc.step(xr, yr, 0.1, step);
                }
                CheckpointWriter w = CheckpointWriter.open(dir, "1", job);
                w.writeFcShard(r, fc.layout().start(r), fc.layout().end(r), fc.weights(), fc.momentum(), fc.bias(),
                        fc.biasMomentum());
                c.barrier();
                if (r == 0) {
                    w.commit(new ManifestInfo(C, D, 2, ClassLayout.Kind.BALANCED, 2, 1, null, null));
                }
                return new INDArray[] {fc.bias().dup(), fc.biasMomentum().dup()};
            }
        });
        return new INDArray[] {Nd4j.concat(0, saved.get(0)[0], saved.get(1)[0]),
            Nd4j.concat(0, saved.get(0)[1], saved.get(1)[1])};
    }

    @Test
    void biasIsSavedPerRankAndLoadsIntoAnotherWorldSizeAndLayoutBitForBit() throws Exception {
        INDArray[] whole = trainAndSave();
        assertNotEquals(0.0, whole[0].norm2Number().doubleValue(), "the bias was trained");
        Checkpoint ck = Checkpoint.open(dir.resolve("1"));
        assertTrue(ck.hasFcBias());
        Manifest.Shard s1 = ck.manifest().shards().get(1);
        assertEquals("fc/rank-00001-bias.npy", s1.bias());
        assertEquals("fc/rank-00001-bias-momentum.npy", s1.biasMomentum());
        assertNotNull(ck.manifest().file(s1.bias()), "listed with size and sha256");
        INDArray onDisk = Npy.read(dir.resolve("1").resolve(s1.bias()));
        assertArrayEquals(new long[] {s1.classEnd() - s1.classStart()}, onDisk.shape(), "float32 [C_r]");

        String job = "load-" + UUID.randomUUID();
        List<Integer> loaded = Ranks.runIndexed(3, r -> () -> {
            try (Collective c = join(job, r, 3)) {
                PartialFc fc = PartialFc.create(config(ClassLayout.Kind.CEIL), c);
                ClassLayout l = fc.layout();
                Checkpoint in = Checkpoint.open(dir.resolve("1"));
                fc.loadBias(in.readFcBias(l.start(r), l.end(r), false), in.readFcBias(l.start(r), l.end(r), true));
                assertArrayEquals(whole[0].get(org.nd4j.linalg.indexing.NDArrayIndex.interval(l.start(r), l.end(r)))
                        .dup().data().asInt(), fc.bias().dup().data().asInt(), "bias rank " + r);
                assertArrayEquals(whole[1].get(org.nd4j.linalg.indexing.NDArrayIndex.interval(l.start(r), l.end(r)))
                        .dup().data().asInt(), fc.biasMomentum().dup().data().asInt(), "bias momentum rank " + r);
                return l.size(r);
            }
        });
        assertEquals(C, loaded.stream().mapToInt(Integer::intValue).sum());
    }

    @Test
    void reshardCarriesTheBiasExactly() throws Exception {
        INDArray[] whole = trainAndSave();
        Reshard.Result res = Reshard.run(dir.resolve("1"), dir.resolve("r3"), 3, ClassLayout.Kind.CEIL);
        Checkpoint out = Checkpoint.open(res.out());
        assertTrue(out.hasFcBias());
        assertEquals(3, out.manifest().shards().size());
        for (boolean momentum : new boolean[] {false, true}) {
            INDArray all = out.readFcBias(0, C, momentum);
            assertArrayEquals((momentum ? whole[1] : whole[0]).dup().data().asInt(), all.dup().data().asInt(),
                    momentum ? "bias momentum" : "bias");
        }
        assertTrue(Files.isRegularFile(res.out().resolve("fc/rank-00002-bias.npy")));
    }

    @Test
    void aCheckpointWithoutBiasSaysSo() throws Exception {
        String job = "nobias-" + UUID.randomUUID();
        try (Collective c = join(job, 0, 1)) {
            PartialFc fc = PartialFc.create(FcConfig.builder().numClasses(C).embSize(D).build(), c);
            CheckpointWriter w = CheckpointWriter.open(dir, "0", job);
            w.writeFcShard(0, 0, C, fc.weights(), fc.momentum());
            w.commit(new ManifestInfo(C, D, 1, ClassLayout.Kind.BALANCED, 0, 0, null, null));
        }
        Checkpoint ck = Checkpoint.open(dir.resolve("0"));
        assertFalse(ck.hasFcBias());
        assertFalse(Files.readString(dir.resolve("0").resolve(Manifest.FILE_NAME)).contains("bias"),
                "the manifest of an FC without a bias is unchanged");
        CheckpointException e = assertThrows(CheckpointException.class, () -> ck.readFcBias(0, C, false));
        assertTrue(e.getMessage().endsWith("shards[0].bias : missing (expected: a checkpoint of an FC with a bias,"
                + " loss_type softmax)"), e.getMessage());
    }
}
