package org.plsc4j.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.core.collective.Collective;
import org.plsc4j.core.collective.CollectiveConfig;
import org.plsc4j.core.collective.Collectives;
import org.plsc4j.core.internal.InMemoryRendezvous;
import org.plsc4j.nccl.Gpus;
import org.plsc4j.nccl.NcclCollectiveProvider;

/**
 * The FC step on the GPU (the ops-only engine on ND4J's CUDA backend) against the float64 reference the
 * CPU tests use, on the same inputs: one GPU for every loss type, and two GPUs over NCCL when there are
 * two. Skipped with the reason where there is no GPU ({@link Gpus}).
 */
@ExtendWith({Gpus.class, TestSeed.class})
class GpuFcStepTest {

    private static final double TOL = 1e-4; // GPU reductions sum in another order than the float64 reference

    @Test
    void cudaBackendRunsTheOpsStepAndMatchesTheReferenceForEveryLossType() {
        assertEquals(FcEngine.OPS, FcEngine.AUTO.resolve(), "the CUDA backend chooses the ops-only step");
        SplittableRandom rng = new SplittableRandom(TestSeed.of("gpu-fc"));
        try (Collective single = Collectives.join("inprocess", CollectiveConfig.builder()
                .jobId("gpu-" + UUID.randomUUID()).timeout(Duration.ofSeconds(30)).build())) {
            for (MarginConfig m0 : TargetLogitTest.MARGINS) {
                MarginConfig m = new MarginConfig(m0.m1(), m0.m2(), m0.m3(), 16);
                int b = 8;
                int c = 300;
                int d = 32;
                FcConfig cfg = FcConfig.builder().numClasses(c).embSize(d).margin(m).momentum(0).weightDecay(0)
                        .seed(TestSeed.of("gpu-fc-w")).build();
                PartialFc fc = PartialFc.create(cfg, single);
                assertEquals(FcEngine.OPS, fc.engine());
                double[][] w0 = Arrays2.toDouble(fc.weights());
                double[][] x = Arrays2.roundToFloat(Arrays2.gaussian(rng, b, d, 1.0));
                int[] labels = rng.ints(b, 0, c).toArray();
                PartialFc.StepResult r = fc.step(Arrays2.toFloat(x), labels, 0.5, 0);
                Float64Reference.Out ref = Float64Reference.fc(x, w0, labels, m);
                Arrays2.assertClose(m + " loss", ref.loss(), r.loss(), TOL);
                Arrays2.assertClose(m + " dX", ref.dX(), Arrays2.toDouble(r.featureGrad()), TOL);
                Arrays2.assertClose(m + " dW", ref.dW(), Arrays2.toDouble(fc.momentum()), TOL);
            }
        }
    }

    @Test
    void twoGpusOverNcclEqualTheReference() {
        assumeTrue(Gpus.count() >= 2, "needs 2 GPUs, this machine has " + Gpus.count());
        SplittableRandom rng = new SplittableRandom(TestSeed.of("gpu-fc2"));
        int n = 2;
        int b = 8;
        int c = 501;
        int d = 32;
        MarginConfig m = MarginConfig.arcface(0.5, 16);
        FcConfig cfg = FcConfig.builder().numClasses(c).embSize(d).margin(m).momentum(0).weightDecay(0)
                .seed(TestSeed.of("gpu-fc2-w")).build();
        CollectiveConfig base = CollectiveConfig.builder().jobId("gpu2-" + UUID.randomUUID()).worldSize(n)
                .timeout(Duration.ofSeconds(60)).rendezvous(new InMemoryRendezvous(n)).build();
        double[][] x = Arrays2.roundToFloat(Arrays2.gaussian(rng, b, d, 1.0));
        int[] labels = rng.ints(b, 0, c).toArray();
        ClassLayout layout = ClassLayout.of(cfg.layout(), c, n);
        List<Object[]> res = Ranks.runIndexed(n, r -> () -> {
            Nd4j.getAffinityManager().unsafeSetDevice(r);
            try (Collective col = new NcclCollectiveProvider().join(base.withRank(r))) {
                PartialFc fc = PartialFc.create(cfg, col);
                double[][] w0 = Arrays2.toDouble(fc.weights());
                int local = b / n;
                PartialFc.StepResult s = fc.step(Arrays2.toFloat(Arrays2.rows(x, r * local, (r + 1) * local)),
                        java.util.Arrays.copyOfRange(labels, r * local, (r + 1) * local), 0.5, 0);
                return new Object[] {w0, s.loss(), Arrays2.toDouble(s.featureGrad()), Arrays2.toDouble(fc.momentum())};
            }
        });
        double[][] w = new double[c][];
        for (int r = 0; r < n; r++) {
            double[][] wr = (double[][]) res.get(r)[0];
            System.arraycopy(wr, 0, w, layout.start(r), wr.length);
        }
        Float64Reference.Out ref = Float64Reference.fc(x, w, labels, m);
        for (int r = 0; r < n; r++) {
            Arrays2.assertClose("loss rank " + r, ref.loss(), (double) res.get(r)[1], TOL);
            Arrays2.assertClose("dX rank " + r, Arrays2.rows(ref.dX(), r * b / n, (r + 1) * b / n),
                    (double[][]) res.get(r)[2], TOL);
            Arrays2.assertClose("dW rank " + r, Arrays2.rows(ref.dW(), layout.start(r), layout.end(r)),
                    (double[][]) res.get(r)[3], TOL);
        }
    }
}
