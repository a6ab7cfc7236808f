package org.plsc4j.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.plsc4j.core.collective.Collective;

/**
 * The distributed ({@code dist_*}) margin softmax and FC step over N ranks must equal the
 * single-device result. Subclassed once per {@link Collective} implementation.
 */
@ExtendWith(TestSeed.class)
public abstract class ShardedSoftmaxContractTest {

    /** Joins all {@code worldSize} members of a fresh group (concurrently where the backend needs it). */
    protected abstract List<Collective> joinGroup(int worldSize, String jobId);

    private List<Collective> group(int n) {
        return joinGroup(n, "sharded-" + UUID.randomUUID());
    }

    static List<Arguments> worldsAndLayouts() {
        List<Arguments> out = new ArrayList<>();
        for (int n = 1; n <= 4; n++) {
            for (ClassLayout.Kind k : ClassLayout.Kind.values()) {
                out.add(Arguments.of(n, k));
            }
        }
        return out;
    }

    @ParameterizedTest(name = "N={0} {1}")
    @MethodSource("worldsAndLayouts")
    void distMarginCrossEntropyEqualsSingleDevice(int n, ClassLayout.Kind kind) {
        SplittableRandom rng = new SplittableRandom(TestSeed.of("dist-mce" + n + kind));
        int b = 12;
        int c = 1001;
        double[][] cos = new double[b][c];
        for (double[] row : cos) {
            for (int j = 0; j < c; j++) {
                row[j] = (float) (rng.nextDouble() * 1.6 - 0.8);
            }
        }
        int[] labels = rng.ints(b, 0, c).toArray();
        ClassLayout layout = ClassLayout.of(kind, c, n);
        for (MarginConfig m : List.of(MarginConfig.softmax(64), MarginConfig.arcface(0.5, 64),
                MarginConfig.cosface(0.35, 64), MarginConfig.combined(1.0, 0.3, 0.2, 64))) {
            MarginCrossEntropy.Result single = MarginCrossEntropy.compute(Arrays2.toFloat(cos), labels, m, true,
                    MarginCrossEntropy.Reduction.MEAN);
            List<Collective> g = group(n);
            try {
                List<MarginCrossEntropy.Result> results = Ranks.run(g, col -> {
                    int r = col.rank();
                    double[][] mine = Arrays2.columns(cos, layout.start(r), layout.end(r));
                    return MarginCrossEntropy.compute(Arrays2.toFloat(mine), labels, m, layout, col, true,
                            MarginCrossEntropy.Reduction.MEAN);
                });
                for (int r = 0; r < n; r++) {
                    MarginCrossEntropy.Result res = results.get(r);
                    Arrays2.assertClose(m + " loss rank " + r, single.loss(), res.loss(), 1e-5);
                    INDArray sm = single.softmax().get(NDArrayIndex.all(),
                            NDArrayIndex.interval(layout.start(r), layout.end(r)));
                    INDArray gr = single.gradLogits().get(NDArrayIndex.all(),
                            NDArrayIndex.interval(layout.start(r), layout.end(r)));
                    Arrays2.assertClose(m + " softmax rank " + r, Arrays2.toDouble(sm),
                            Arrays2.toDouble(res.softmax()), 1e-5);
                    Arrays2.assertClose(m + " dlogits rank " + r, Arrays2.toDouble(gr),
                            Arrays2.toDouble(res.gradLogits()), 1e-5);
                }
            } finally {
                g.forEach(Collective::close);
            }
        }
    }

    static List<Arguments> fcCases() {
        List<Arguments> out = new ArrayList<>();
        for (int n = 1; n <= 4; n++) {
            for (ClassLayout.Kind k : ClassLayout.Kind.values()) {
                for (double ratio : new double[] {1.0, 0.1}) {
                    out.add(Arguments.of(n, k, ratio));
                }
            }
        }
        return out;
    }

    /**
     * N ranks, each with its shard, over 3 steps with momentum and weight decay: the loss, the feature
     * gradient of every row and every weight and momentum row equal the single-device run computed on
     * the same sampled columns (the float64 reference over the concatenated sample).
     */
    @ParameterizedTest(name = "N={0} {1} sample_ratio={2}")
    @MethodSource("fcCases")
    void distFcStepEqualsSingleDeviceOnTheSameColumns(int n, ClassLayout.Kind kind, double ratio) {
        SplittableRandom rng = new SplittableRandom(TestSeed.of("dist-fc" + n + kind + ratio));
        int c = 1001;
        int d = 24;
        int b = 12; // global batch, divisible by 1..4
        double lr = 0.4;
        double mu = 0.9;
        double wd = 1e-3;
        MarginConfig m = MarginConfig.arcface(0.5, 32);
        FcConfig cfg = FcConfig.builder().numClasses(c).embSize(d).margin(m).sampleRatio(ratio).layout(kind)
                .momentum(mu).weightDecay(wd).seed(TestSeed.of("dist-fc-w")).build();
        ClassLayout layout = ClassLayout.of(kind, c, n);
        int local = b / n;
        List<Collective> g = group(n);
        try {
            List<PartialFc> shards = Ranks.run(g, col -> PartialFc.create(cfg, col, 64));
            // the float64 mirror of the whole FC
            double[][] w = new double[c][];
            double[][] v = new double[c][d];
            for (int r = 0; r < n; r++) {
                double[][] wr = Arrays2.toDouble(shards.get(r).weights());
                System.arraycopy(wr, 0, w, layout.start(r), wr.length);
            }
            for (int step = 0; step < 3; step++) {
                double[][] x = Arrays2.roundToFloat(Arrays2.gaussian(rng, b, d, 1.0));
                int[] labels = rng.ints(b, 0, c).toArray();
                if (step == 2) {
                    java.util.Arrays.fill(labels, c - 1); // every label on the last rank
                }
                final long st = step;
                List<PartialFc.StepResult> res = Ranks.run(g, col -> {
                    int r = col.rank();
                    double[][] mine = Arrays2.rows(x, r * local, (r + 1) * local);
                    int[] myLabels = java.util.Arrays.copyOfRange(labels, r * local, (r + 1) * local);
                    return shards.get(r).step(Arrays2.toFloat(mine), myLabels, lr, st, true);
                });
                // the same sample, computed as each rank did
                GlobalSample gs = GlobalSample.of(labels, layout, ratio, cfg.seed(), step, w);
                for (int r = 0; r < n; r++) {
                    assertEquals(gs.perRank()[r], res.get(r).sampledClasses());
                }
                List<Integer> globalRows = gs.rows();
                int[] remapped = gs.remapped();
                double[][] wS = gs.weights();
                Float64Reference.Out ref = Float64Reference.fc(x, wS, remapped, m);
                double[][] accBounds = Float64Reference.topKAccuracyBounds(x, wS, remapped, 1e-5);
                for (int r = 0; r < n; r++) {
                    for (int k = 0; k < 2; k++) {
                        double acc = k == 0 ? res.get(r).acc1() : res.get(r).acc5();
                        assertTrue(acc >= accBounds[k][0] && acc <= accBounds[k][1], "acc" + (k == 0 ? 1 : 5)
                                + " step " + step + " rank " + r + ": " + acc + " (expected within "
                                + java.util.Arrays.toString(accBounds[k]) + ")");
                    }

                    Arrays2.assertClose("loss step " + step + " rank " + r, ref.loss(), res.get(r).loss(), 1e-5);
                    Arrays2.assertClose("dX step " + step + " rank " + r,
                            Arrays2.rows(ref.dX(), r * local, (r + 1) * local),
                            Arrays2.toDouble(res.get(r).featureGrad()), 1e-4);
                }
                for (int j = 0; j < wS.length; j++) {
                    int row = globalRows.get(j);
                    for (int k = 0; k < d; k++) {
                        v[row][k] = mu * v[row][k] + ref.dW()[j][k] + wd * w[row][k];
                        w[row][k] -= lr * v[row][k];
                    }
                }
                double[][] wImpl = new double[c][];
                double[][] vImpl = new double[c][];
                for (int r = 0; r < n; r++) {
                    System.arraycopy(Arrays2.toDouble(shards.get(r).weights()), 0, wImpl, layout.start(r), layout.size(r));
                    System.arraycopy(Arrays2.toDouble(shards.get(r).momentum()), 0, vImpl, layout.start(r), layout.size(r));
                }
                Arrays2.assertClose("weights step " + step, w, wImpl, 1e-5);
                Arrays2.assertClose("momentum step " + step, v, vImpl, 1e-4);
                w = wImpl; // continue from the float32 state so rounding does not compound
                v = vImpl;
            }
        } finally {
            g.forEach(Collective::close);
        }
    }

    static List<Arguments> multiRankLayouts() {
        List<Arguments> out = new ArrayList<>();
        for (int n = 2; n <= 4; n++) {
            for (ClassLayout.Kind k : ClassLayout.Kind.values()) {
                out.add(Arguments.of(n, k));
            }
        }
        return out;
    }

    /**
     * PLSC's {@code dist_softmax} (plain {@code x·W + b}, bias sharded with the weight rows: PLSC 1.x
     * {@code create_parameter(shape=[self.shard_dim], ..., is_bias=True)}): N ranks over 3 steps with
     * momentum and weight decay give the loss, every feature-gradient row, every weight, bias and momentum
     * of the single-device run of the same data (and both the float64 reference), and calc_acc within
     * the float64 bounds.
     */
    @ParameterizedTest(name = "N={0} {1}")
    @MethodSource("multiRankLayouts")
    void distPlainSoftmaxEqualsSingleDevice(int n, ClassLayout.Kind kind) {
        SplittableRandom rng = new SplittableRandom(TestSeed.of("dist-plain" + n + kind));
        int c = 1001;
        int d = 24;
        int b = 12;
        double lr = 0.4;
        double mu = 0.9;
        double wd = 1e-3;
        FcConfig cfg = FcConfig.builder().numClasses(c).embSize(d).head(FcHead.LINEAR_BIAS)
                .initStd(FcConfig.plscInitStd(d, c)).layout(kind).momentum(mu).weightDecay(wd)
                .seed(TestSeed.of("dist-plain-w")).build();
        ClassLayout layout = ClassLayout.of(kind, c, n);
        int local = b / n;
        List<Collective> g = group(n);
        List<Collective> one = group(1);
        try {
            PartialFc single = PartialFc.create(cfg, one.get(0), 64);
            List<PartialFc> shards = Ranks.run(g, col -> PartialFc.create(cfg, col, 64));
            for (int step = 0; step < 3; step++) {
                double[][] x = Arrays2.roundToFloat(Arrays2.gaussian(rng, b, d, 1.0));
                int[] labels = rng.ints(b, 0, c).toArray();
                if (step == 2) {
                    java.util.Arrays.fill(labels, c - 1); // every label on the last rank
                }
                double[][] w0 = Arrays2.toDouble(single.weights());
                double[] b0 = single.bias().castTo(org.nd4j.linalg.api.buffer.DataType.DOUBLE).toDoubleVector();
                Float64Reference.LinearOut ref = Float64Reference.linear(x, w0, b0, labels);
                double[] accLo = new double[2];
                double[] accHi = new double[2];
                linearAccuracyBounds(x, w0, b0, labels, 1e-4, accLo, accHi);
                final long st = step;
                PartialFc.StepResult s1 = single.step(Arrays2.toFloat(x), labels, lr, st, true);
                List<PartialFc.StepResult> res = Ranks.run(g, col -> {
                    int r = col.rank();
                    double[][] mine = Arrays2.rows(x, r * local, (r + 1) * local);
                    int[] myLabels = java.util.Arrays.copyOfRange(labels, r * local, (r + 1) * local);
                    return shards.get(r).step(Arrays2.toFloat(mine), myLabels, lr, st, true);
                });
                Arrays2.assertClose("single loss step " + step, ref.loss(), s1.loss(), 1e-5);
                Arrays2.assertClose("single dX step " + step, ref.dX(), Arrays2.toDouble(s1.featureGrad()), 1e-4);
                for (int r = 0; r < n; r++) {
                    Arrays2.assertClose("loss step " + step + " rank " + r, s1.loss(), res.get(r).loss(), 1e-5);
                    Arrays2.assertClose("dX step " + step + " rank " + r,
                            Arrays2.rows(Arrays2.toDouble(s1.featureGrad()), r * local, (r + 1) * local),
                            Arrays2.toDouble(res.get(r).featureGrad()), 1e-4);
                    for (int k = 0; k < 2; k++) {
                        double acc = k == 0 ? res.get(r).acc1() : res.get(r).acc5();
                        assertTrue(acc >= accLo[k] && acc <= accHi[k], "acc" + (k == 0 ? 1 : 5) + " step " + step
                                + " rank " + r + ": " + acc + " (expected within [" + accLo[k] + ", " + accHi[k] + "])");
                    }
                }
                double[][] wAll = Arrays2.toDouble(single.weights());
                double[][] vAll = Arrays2.toDouble(single.momentum());
                double[][] bAll = {single.bias().castTo(org.nd4j.linalg.api.buffer.DataType.DOUBLE).toDoubleVector()};
                double[][] vbAll = {single.biasMomentum().castTo(org.nd4j.linalg.api.buffer.DataType.DOUBLE)
                        .toDoubleVector()};
                double[][] wImpl = new double[c][];
                double[][] vImpl = new double[c][];
                double[][] bImpl = {new double[c]};
                double[][] vbImpl = {new double[c]};
                for (int r = 0; r < n; r++) {
                    PartialFc fc = shards.get(r);
                    System.arraycopy(Arrays2.toDouble(fc.weights()), 0, wImpl, layout.start(r), layout.size(r));
                    System.arraycopy(Arrays2.toDouble(fc.momentum()), 0, vImpl, layout.start(r), layout.size(r));
                    System.arraycopy(fc.bias().castTo(org.nd4j.linalg.api.buffer.DataType.DOUBLE).toDoubleVector(), 0,
                            bImpl[0], layout.start(r), layout.size(r));
                    System.arraycopy(fc.biasMomentum().castTo(org.nd4j.linalg.api.buffer.DataType.DOUBLE)
                            .toDoubleVector(), 0, vbImpl[0], layout.start(r), layout.size(r));
                }
                Arrays2.assertClose("weights step " + step, wAll, wImpl, 1e-5);
                Arrays2.assertClose("momentum step " + step, vAll, vImpl, 1e-4);
                Arrays2.assertClose("bias step " + step, bAll, bImpl, 1e-5);
                Arrays2.assertClose("bias momentum step " + step, vbAll, vbImpl, 1e-4);
            }
        } finally {
            g.forEach(Collective::close);
            one.forEach(Collective::close);
        }
    }

    /** Top-1/top-5 accuracy bounds of float64 logits x·W + b: classes beating the label by more than tol / by more than −tol. */
    private static void linearAccuracyBounds(double[][] x, double[][] w, double[] bias, int[] labels, double tol,
                                             double[] lo, double[] hi) {
        int[] hitsLo = new int[2];
        int[] hitsHi = new int[2];
        for (int i = 0; i < x.length; i++) {
            double t = Float64Reference.dot(x[i], w[labels[i]]) + bias[labels[i]];
            int surely = 0;
            int maybe = 0;
            for (int j = 0; j < w.length; j++) {
                if (j == labels[i]) {
                    continue;
                }
                double z = Float64Reference.dot(x[i], w[j]) + bias[j];
                if (z > t + tol) {
                    surely++;
                }
                if (z > t - tol) {
                    maybe++;
                }
            }
            for (int k = 0; k < 2; k++) {
                int top = k == 0 ? 1 : 5;
                hitsLo[k] += maybe < top ? 1 : 0;
                hitsHi[k] += surely < top ? 1 : 0;
            }
        }
        for (int k = 0; k < 2; k++) {
            lo[k] = (double) hitsLo[k] / x.length;
            hi[k] = (double) hitsHi[k] / x.length;
        }
    }

    /**
     * calc_acc over the shards: rows planted near their label's center (top-1), near a mix of it and
     * other centers (top-5 but not top-1) and random rows give the float64 top-k accuracy, on every rank.
     */
    @ParameterizedTest(name = "N={0} {1} sample_ratio={2}")
    @MethodSource("fcCases")
    void distTopKAccuracyEqualsSingleDevice(int n, ClassLayout.Kind kind, double ratio) {
        SplittableRandom rng = new SplittableRandom(TestSeed.of("dist-acc" + n + kind + ratio));
        int c = 1001;
        int d = 64; // random cosines spread ~1/8: the planted ranks stand clear of 1001 random classes
        int b = 24;
        FcConfig cfg = FcConfig.builder().numClasses(c).embSize(d).margin(MarginConfig.arcface(0.5, 32))
                .sampleRatio(ratio).layout(kind).seed(TestSeed.of("dist-acc-w")).build();
        ClassLayout layout = ClassLayout.of(kind, c, n);
        int local = b / n;
        List<Collective> g = group(n);
        try {
            List<PartialFc> shards = Ranks.run(g, col -> PartialFc.create(cfg, col, 64));
            double[][] w = new double[c][];
            for (int r = 0; r < n; r++) {
                System.arraycopy(Arrays2.toDouble(shards.get(r).weights()), 0, w, layout.start(r), layout.size(r));
            }
            int[] labels = rng.ints(b, 0, c).toArray();
            double[][] x = Arrays2.gaussian(rng, b, d, 1.0);
            for (int i = 0; i < b; i++) {
                int kind3 = i % 3; // 0: near the label's center, 1: nearer another center, 2: random
                for (int k = 0; k < d && kind3 < 2; k++) {
                    double mix = kind3 == 0 ? w[labels[i]][k]
                            : 0.9 * w[labels[i]][k] + w[(labels[i] + 1) % c][k]; // label ranked second
                    x[i][k] = 100 * mix + 0.01 * x[i][k];
                }
            }
            double[][] xf = Arrays2.roundToFloat(x);
            List<PartialFc.StepResult> res = Ranks.run(g, col -> {
                int r = col.rank();
                return shards.get(r).step(Arrays2.toFloat(Arrays2.rows(xf, r * local, (r + 1) * local)),
                        java.util.Arrays.copyOfRange(labels, r * local, (r + 1) * local), 1e-9, 0, true);
            });
            GlobalSample gs = GlobalSample.of(labels, layout, ratio, cfg.seed(), 0, w);
            double[][] bounds = Float64Reference.topKAccuracyBounds(xf, gs.weights(), gs.remapped(), 1e-5);
            assertTrue(bounds[0][0] >= 1.0 / 3 - 1e-9, "planted top-1 rows: " + java.util.Arrays.toString(bounds[0]));
            if (ratio == 1.0) {
                assertTrue(bounds[1][0] > bounds[0][1], "planted top-5-not-top-1 rows: " + java.util.Arrays.deepToString(bounds));
            }
            for (int r = 0; r < n; r++) {
                double a1 = res.get(r).acc1();
                double a5 = res.get(r).acc5();
                assertTrue(a1 >= bounds[0][0] && a1 <= bounds[0][1], "acc1 rank " + r + ": " + a1 + " vs "
                        + java.util.Arrays.toString(bounds[0]));
                assertTrue(a5 >= bounds[1][0] && a5 <= bounds[1][1], "acc5 rank " + r + ": " + a5 + " vs "
                        + java.util.Arrays.toString(bounds[1]));
            }
        } finally {
            g.forEach(Collective::close);
        }
    }

    @Test
    void mismatchedEmbeddingSizesAreRejectedNamingTheRank() {
        List<Collective> g = group(2);
        try {
            List<Throwable> errors = Ranks.run(g, col -> {
                int d = col.rank() == 0 ? 8 : 16;
                FcConfig cfg = FcConfig.builder().numClasses(20).embSize(d).build();
                PartialFc fc = PartialFc.create(cfg, col);
                INDArray x = Arrays2.toFloat(Arrays2.gaussian(new SplittableRandom(1), 2, d, 1));
                try {
                    fc.step(x, new int[] {1, 2}, 0.1, 0);
                    return null;
                } catch (IllegalArgumentException e) {
                    return e;
                }
            });
            assertTrue(errors.get(0).getMessage().startsWith("emb_size : rank 1 has 16 (expected: 8"),
                    errors.get(0).getMessage());
            assertTrue(errors.get(1).getMessage().startsWith("emb_size : rank 0 has 8 (expected: 16"),
                    errors.get(1).getMessage());
        } finally {
            g.forEach(Collective::close);
        }
    }

    @Test
    void fewerClassesThanRanksIsRejected() {
        List<Collective> g = group(3);
        try {
            FcConfig cfg = FcConfig.builder().numClasses(2).embSize(4).build();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> PartialFc.create(cfg, g.get(0)));
            assertTrue(e.getMessage().startsWith("num_classes : 2 (expected: >= world_size = 3"), e.getMessage());
        } finally {
            g.forEach(Collective::close);
        }
    }

    /**
     * The concatenated sample of every rank, as each rank drew it: the global class ids in sample
     * order, the remapped labels, each rank's sample size, and the float64 weight rows of the sample.
     */
    private record GlobalSample(List<Integer> rows, int[] remapped, int[] perRank, double[][] weights) {

        static GlobalSample of(int[] labels, ClassLayout layout, double ratio, long seed, long step, double[][] w) {
            List<Integer> rows = new ArrayList<>();
            int[] remapped = null;
            int[] perRank = new int[layout.worldSize()];
            for (int r = 0; r < layout.worldSize(); r++) {
                ClassCenterSampler.Sample s = ClassCenterSampler.sample(labels, layout, r, ratio, seed, step);
                for (int j : s.localIndices()) {
                    rows.add(layout.start(r) + j);
                }
                remapped = s.remappedLabels();
                perRank[r] = s.size();
            }
            double[][] ws = new double[rows.size()][];
            for (int j = 0; j < ws.length; j++) {
                ws[j] = w[rows.get(j)];
            }
            return new GlobalSample(rows, remapped, perRank, ws);
        }
    }
}
