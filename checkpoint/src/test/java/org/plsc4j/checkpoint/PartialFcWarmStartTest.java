package org.plsc4j.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

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
import org.plsc4j.core.PartialFc;
import org.plsc4j.core.Ranks;
import org.plsc4j.core.TestSeed;
import org.plsc4j.core.collective.Collective;
import org.plsc4j.core.collective.CollectiveConfig;
import org.plsc4j.core.collective.Collectives;

/** A trained 2-rank PartialFc saved by its ranks warm-starts a 3-rank ceil-layout PartialFc bit for bit. */
@ExtendWith(TestSeed.class)
class PartialFcWarmStartTest {

    private static final int C = 50;
    private static final int D = 8;
    private static final int BATCH = 6;

    @TempDir
    Path dir;

    private static FcConfig config(ClassLayout.Kind kind) {
        return FcConfig.builder().numClasses(C).embSize(D).sampleRatio(1.0).layout(kind).momentum(0.9)
                .weightDecay(5e-4).seed(TestSeed.of("warm-start")).build();
    }

    private static Collective join(String job, int rank, int world) {
        return Collectives.join("inprocess", CollectiveConfig.builder().jobId(job).rank(rank).worldSize(world)
                .timeout(Duration.ofSeconds(60)).build());
    }

    @Test
    void savedShardsLoadIntoAnotherWorldSizeAndLayout() {
        SplittableRandom rnd = new SplittableRandom(TestSeed.of("warm-start-batch"));
        float[] x = new float[BATCH * D];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        int[] y = new int[BATCH];
        for (int i = 0; i < BATCH; i++) {
            y[i] = rnd.nextInt(C);
        }
        String job = "save-" + UUID.randomUUID();
        // train 2 steps on 2 ranks, every rank saves its own shard, rank 0 commits after the barrier
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
                w.writeFcShard(r, fc.layout().start(r), fc.layout().end(r), fc.weights(), fc.momentum());
                c.barrier();
                if (r == 0) {
                    w.commit(new ManifestInfo(C, D, 2, ClassLayout.Kind.BALANCED, 2, 1, null, null));
                }
                return new INDArray[] {fc.weights().dup(), fc.momentum().dup()};
            }
        });
        INDArray weights = Nd4j.vstack(saved.get(0)[0], saved.get(1)[0]);
        INDArray momentum = Nd4j.vstack(saved.get(0)[1], saved.get(1)[1]);
        assertNotEquals(0.0, momentum.norm2Number().doubleValue(), "the momentum was trained");

        String job2 = "load-" + UUID.randomUUID();
        List<Integer> loaded = Ranks.runIndexed(3, r -> () -> {
            try (Collective c = join(job2, r, 3)) {
                PartialFc fc = PartialFc.create(config(ClassLayout.Kind.CEIL), c);
                ClassLayout l = fc.layout();
                assertEquals(ClassLayout.ceil(C, 3), l);
                FcRows rows = Checkpoint.open(dir.resolve("1")).readFcRows(l.start(r), l.end(r));
                fc.load(rows.weights(), rows.momentum());
                INDArray want = weights.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(l.start(r), l.end(r)),
                        org.nd4j.linalg.indexing.NDArrayIndex.all()).dup('c');
                INDArray wantM = momentum.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(l.start(r), l.end(r)),
                        org.nd4j.linalg.indexing.NDArrayIndex.all()).dup('c');
                assertArrayEquals(want.data().asInt(), fc.weights().dup('c').data().asInt(), "rank " + r);
                assertArrayEquals(wantM.data().asInt(), fc.momentum().dup('c').data().asInt(), "rank " + r);
                return l.size(r);
            }
        });
        assertEquals(C, loaded.stream().mapToInt(Integer::intValue).sum());
    }
}
