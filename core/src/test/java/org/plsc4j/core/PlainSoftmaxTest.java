package org.plsc4j.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.plsc4j.core.collective.Collective;
import org.plsc4j.core.collective.CollectiveConfig;
import org.plsc4j.core.collective.Collectives;

/**
 * PLSC's {@code loss_type: softmax} / {@code dist_softmax}: a plain FC {@code x·W + b} and softmax,
 * against the float64 reference. What PLSC does, quoted from its sources:
 * <ul>
 *   <li>the seed README (000): "'arcface'和'softmax'表示只使用数据并行 ... 'distarcface'和'distsoftmax'
 *       表示使用分布式版本的arcface和softmax，即将最后一层FC的参数分布到多张GPU卡上" — the same FC, sharded;</li>
 *   <li>the seed book chapter (002, 5.4.5): "全连接层操作在数学上等价于输入X和参数W的矩阵乘: XW" — no
 *       normalisation;</li>
 *   <li>set_distfc_attr (000): "设置最后一层FC的W和b参数的属性信息" — the FC has a W and a b;</li>
 *   <li>PLSC 1.x {@code DistributedClassifier.softmax_classify}: {@code shard_fc = nn.mul(x_all, weight)};
 *       {@code shard_fc = nn.elementwise_add(shard_fc, bias)}, bias created with {@code is_bias=True} and
 *       no initializer (Paddle's bias default: Constant(0.0)), weights {@code Normal(scale=stdv)} with
 *       {@code stdv = math.sqrt(2.0 / (in_dim + self.nclasses))}.</li>
 * </ul>
 */
@ExtendWith(TestSeed.class)
class PlainSoftmaxTest {

    private Collective single;

    @BeforeEach
    void join() {
        single = Collectives.join("inprocess", CollectiveConfig.builder().jobId("plain-" + UUID.randomUUID())
                .timeout(Duration.ofSeconds(30)).build());
    }

    @AfterEach
    void close() {
        single.close();
    }

    private static FcConfig config(int classes, int emb, double mu, double wd) {
        return FcConfig.builder().numClasses(classes).embSize(emb).head(FcHead.LINEAR_BIAS)
                .initStd(FcConfig.plscInitStd(emb, classes)).momentum(mu).weightDecay(wd)
                .seed(TestSeed.of("plain-w")).build();
    }

    private static double[] toDouble(INDArray v) {
        return v.castTo(org.nd4j.linalg.api.buffer.DataType.DOUBLE).toDoubleVector();
    }

    /** One step with μ = 0, wd = 0: loss, dX, the momentum (= dW, db) and W, b after lr·grad. */
    @Test
    void oneStepMatchesTheFloat64ReferenceIncludingTheBias() {
        SplittableRandom rng = new SplittableRandom(TestSeed.of("plain-one"));
        int b = 6;
        int c = 50;
        int d = 16;
        PartialFc fc = PartialFc.create(config(c, d, 0, 0), single, 7);
        // a non-zero bias so that it matters in the forward pass
        double[] b0 = new double[c];
        for (int j = 0; j < c; j++) {
            b0[j] = (float) (0.3 * rng.nextGaussian());
        }
        fc.loadBias(Arrays2.toFloat(new double[][] {b0}), org.nd4j.linalg.factory.Nd4j.zeros(c));
        double[][] w0 = Arrays2.toDouble(fc.weights());
        double[][] x = Arrays2.roundToFloat(Arrays2.gaussian(rng, b, d, 1.0));
        int[] labels = rng.ints(b, 0, c).toArray();
        double lr = 0.5;
        PartialFc.StepResult r = fc.step(Arrays2.toFloat(x), labels, lr, 0);
        Float64Reference.LinearOut ref = Float64Reference.linear(x, w0, b0, labels);
        Arrays2.assertClose("loss", ref.loss(), r.loss(), 1e-5);
        Arrays2.assertClose("dX", ref.dX(), Arrays2.toDouble(r.featureGrad()), 1e-5);
        Arrays2.assertClose("dW (momentum with mu = 0)", ref.dW(), Arrays2.toDouble(fc.momentum()), 1e-5);
        Arrays2.assertClose("db (bias momentum with mu = 0)", new double[][] {ref.dB()},
                new double[][] {toDouble(fc.biasMomentum())}, 1e-5);
        double[][] w1 = new double[c][d];
        double[] b1 = new double[c];
        for (int j = 0; j < c; j++) {
            for (int k = 0; k < d; k++) {
                w1[j][k] = w0[j][k] - lr * ref.dW()[j][k];
            }
            b1[j] = b0[j] - lr * ref.dB()[j];
        }
        Arrays2.assertClose("W after", w1, Arrays2.toDouble(fc.weights()), 1e-5);
        Arrays2.assertClose("b after", new double[][] {b1}, new double[][] {toDouble(fc.bias())}, 1e-5);
    }

    /** The reference's dW, db and dX are the loss's derivatives (central differences in float64). */
    @Test
    void referenceGradientsMatchFiniteDifferences() {
        SplittableRandom rng = new SplittableRandom(TestSeed.of("plain-fd"));
        int b = 4;
        int c = 7;
        int d = 5;
        double[][] x = Arrays2.gaussian(rng, b, d, 1.0);
        double[][] w = Arrays2.gaussian(rng, c, d, 0.5);
        double[] bias = Arrays2.gaussian(rng, 1, c, 0.5)[0];
        int[] labels = rng.ints(b, 0, c).toArray();
        Float64Reference.LinearOut ref = Float64Reference.linear(x, w, bias, labels);
        double h = 1e-6;
        String seed = " seed " + TestSeed.BASE;
        for (int j = 0; j < c; j++) {
            double keep = bias[j];
            bias[j] = keep + h;
            double lp = Float64Reference.linear(x, w, bias, labels).loss();
            bias[j] = keep - h;
            double lm = Float64Reference.linear(x, w, bias, labels).loss();
            bias[j] = keep;
            assertEquals((lp - lm) / (2 * h), ref.dB()[j], 1e-6, "db[" + j + "]" + seed);
            for (int k = 0; k < d; k++) {
                keep = w[j][k];
                w[j][k] = keep + h;
                lp = Float64Reference.linear(x, w, bias, labels).loss();
                w[j][k] = keep - h;
                lm = Float64Reference.linear(x, w, bias, labels).loss();
                w[j][k] = keep;
                assertEquals((lp - lm) / (2 * h), ref.dW()[j][k], 1e-6, "dW[" + j + "][" + k + "]" + seed);
            }
        }
        for (int i = 0; i < b; i++) {
            for (int k = 0; k < d; k++) {
                double keep = x[i][k];
                x[i][k] = keep + h;
                double lp = Float64Reference.linear(x, w, bias, labels).loss();
                x[i][k] = keep - h;
                double lm = Float64Reference.linear(x, w, bias, labels).loss();
                x[i][k] = keep;
                assertEquals((lp - lm) / (2 * h), ref.dX()[i][k], 1e-6, "dX[" + i + "][" + k + "]" + seed);
            }
        }
    }

    /**
     * Paddle's Momentum with the optimizer-wide L2Decay on W and b over several steps (PLSC's
     * {@code fluid.optimizer.Momentum(learning_rate=lr_val, momentum=0.9,
     * regularization=fluid.regularizer.L2Decay(5e-4))}): v ← μ·v + (g + wd·p); p ← p − lr·v.
     */
    @Test
    void biasAndWeightsFollowPaddleMomentumWithL2DecayOverSeveralSteps() {
        SplittableRandom rng = new SplittableRandom(TestSeed.of("plain-mom"));
        int b = 8;
        int c = 40;
        int d = 12;
        double mu = 0.9;
        double wd = 5e-3;
        double lr = 0.3;
        PartialFc fc = PartialFc.create(config(c, d, mu, wd), single, 16);
        double[][] w = Arrays2.toDouble(fc.weights());
        double[] bias = toDouble(fc.bias());
        double[][] v = new double[c][d];
        double[] vb = new double[c];
        for (int step = 0; step < 4; step++) {
            double[][] x = Arrays2.roundToFloat(Arrays2.gaussian(rng, b, d, 1.0));
            int[] labels = rng.ints(b, 0, c).toArray();
            Float64Reference.LinearOut ref = Float64Reference.linear(x, w, bias, labels);
            PartialFc.StepResult r = fc.step(Arrays2.toFloat(x), labels, lr, step);
            Arrays2.assertClose("loss step " + step, ref.loss(), r.loss(), 1e-5);
            for (int j = 0; j < c; j++) {
                for (int k = 0; k < d; k++) {
                    v[j][k] = mu * v[j][k] + ref.dW()[j][k] + wd * w[j][k];
                    w[j][k] -= lr * v[j][k];
                }
                vb[j] = mu * vb[j] + ref.dB()[j] + wd * bias[j];
                bias[j] -= lr * vb[j];
            }
            Arrays2.assertClose("W step " + step, w, Arrays2.toDouble(fc.weights()), 1e-5);
            Arrays2.assertClose("b step " + step, new double[][] {bias}, new double[][] {toDouble(fc.bias())}, 1e-5);
            Arrays2.assertClose("v_b step " + step, new double[][] {vb},
                    new double[][] {toDouble(fc.biasMomentum())}, 1e-4);
            w = Arrays2.toDouble(fc.weights());
            bias = toDouble(fc.bias());
            v = Arrays2.toDouble(fc.momentum());
            vb = toDouble(fc.biasMomentum());
        }
    }

    /**
     * The job keys: {@code loss_type: softmax} and {@code dist_softmax} are PLSC's plain FC (bias, no
     * normalisation, no scale), initialised as PLSC's {@code DistributedClassifier.create_parameter}:
     * {@code stdv = math.sqrt(2.0 / (in_dim + self.nclasses))}, {@code Normal(scale=stdv)}, bias 0. The seed's
     * {@code LargeScaleClassifier} has {@code stddev = math.sqrt(2.0 / (self.embedding_size + self.num_local))},
     * the same on one device; {@code cosine_softmax} keeps the normalised, scaled variant.
     */
    @Test
    void softmaxLossTypesArePlscsPlainFcWithItsInitialiser() {
        int c = 3000;
        int d = 64;
        for (String type : List.of("softmax", "dist_softmax")) {
            TrainConfig cfg = TrainConfigs.bind(TrainConfigs.merged(Map.of("loss_type", type, "num_classes", c,
                    "emb_size", d)), "test");
            assertEquals(FcHead.LINEAR_BIAS, cfg.fcHead(), type);
            FcConfig fcCfg = cfg.fcConfig();
            assertTrue(fcCfg.hasBias());
            assertEquals(Math.sqrt(2.0 / (d + c)), fcCfg.initStd(), 1e-15);
            assertEquals(1.0, fcCfg.margin().scale(), 0, type + ": no logit scale");
            PartialFc fc = PartialFc.create(fcCfg, single);
            assertEquals(0.0, fc.bias().norm1Number().doubleValue(), 0, "bias starts at Constant(0.0)");
            double sd = fc.weights().stdNumber().doubleValue();
            // 192000 N(0, std²) draws: the sample std is within 1% of std with overwhelming probability
            assertEquals(fcCfg.initStd(), sd, 0.01 * fcCfg.initStd(), type + " weights std");
        }
        TrainConfig cos = TrainConfigs.bind(TrainConfigs.merged(Map.of("loss_type", "cosine_softmax")), "test");
        assertEquals(FcHead.COSINE_MARGIN, cos.fcHead());
        assertEquals(MarginConfig.softmax(64), cos.marginConfig());
        assertNull(PartialFc.create(cos.fcConfig(), single).bias());
    }

    /** Unlike the cosine head, the plain FC is not scale-invariant in x (it is x·W + b, not cos). */
    @Test
    void logitsAreNotNormalised() {
        SplittableRandom rng = new SplittableRandom(TestSeed.of("plain-scale"));
        int c = 20;
        int d = 8;
        double[][] x = Arrays2.roundToFloat(Arrays2.gaussian(rng, 4, d, 1.0));
        double[][] x3 = new double[4][d];
        for (int i = 0; i < 4; i++) {
            for (int k = 0; k < d; k++) {
                x3[i][k] = 3 * x[i][k];
            }
        }
        int[] labels = rng.ints(4, 0, c).toArray();
        PartialFc plain = PartialFc.create(config(c, d, 0, 0), single);
        double[][] w = Arrays2.toDouble(plain.weights());
        double l1 = plain.forwardBackward(Arrays2.toFloat(x), labels, 0, false, 1).loss();
        plain.discardUpdate();
        double l3 = plain.forwardBackward(Arrays2.toFloat(x3), labels, 0, false, 1).loss();
        plain.discardUpdate();
        Arrays2.assertClose("loss(x)", Float64Reference.linear(x, w, new double[c], labels).loss(), l1, 1e-5);
        Arrays2.assertClose("loss(3x)", Float64Reference.linear(x3, w, new double[c], labels).loss(), l3, 1e-5);
        assertNotEquals(l1, l3, 1e-4);
    }

    /** The elastic shard store's layout: the bias (and its momentum) as a last column; a round trip is exact. */
    @Test
    void storeRowsCarryTheBiasInALastColumn() {
        SplittableRandom rng = new SplittableRandom(TestSeed.of("plain-store"));
        int c = 30;
        int d = 8;
        PartialFc fc = PartialFc.create(config(c, d, 0.9, 1e-3), single);
        fc.step(Arrays2.toFloat(Arrays2.gaussian(rng, 4, d, 1.0)), rng.ints(4, 0, c).toArray(), 0.3, 0);
        assertEquals(d + 1, fc.storeDim());
        INDArray rows = fc.rowsForStore();
        INDArray mom = fc.momentumForStore();
        assertEquals(List.of((long) c, (long) d + 1), List.of(rows.shape()[0], rows.shape()[1]));
        assertEquals(fc.bias(), rows.getColumn(d));
        assertEquals(fc.biasMomentum(), mom.getColumn(d));
        PartialFc other = PartialFc.create(config(c, d, 0.9, 1e-3), single);
        other.loadFromStore(rows.dup(), mom.dup());
        assertEquals(fc.weights(), other.weights());
        assertEquals(fc.momentum(), other.momentum());
        assertEquals(fc.bias(), other.bias());
        assertEquals(fc.biasMomentum(), other.biasMomentum());
        PartialFc cosine = PartialFc.create(FcConfig.builder().numClasses(c).embSize(d).build(), single);
        assertEquals(d, cosine.storeDim());
        assertTrue(cosine.rowsForStore() == cosine.weights(), "no copy without a bias");
    }

    /** fc_dtype bfloat16: the plain step computes in float32 on the stored rows and rounds the update back. */
    @Test
    void halfStorageComputesOnTheStoredRows() {
        SplittableRandom rng = new SplittableRandom(TestSeed.of("plain-half"));
        int b = 6;
        int c = 40;
        int d = 16;
        PartialFc fc = PartialFc.create(config(c, d, 0, 0), single, 16, FcDtype.BFLOAT16, FcDtype.FLOAT32);
        double[][] w0 = Arrays2.toDouble(fc.weights().castTo(org.nd4j.linalg.api.buffer.DataType.FLOAT));
        double[][] x = Arrays2.roundToFloat(Arrays2.gaussian(rng, b, d, 1.0));
        int[] labels = rng.ints(b, 0, c).toArray();
        double lr = 0.5;
        PartialFc.StepResult r = fc.step(Arrays2.toFloat(x), labels, lr, 0);
        Float64Reference.LinearOut ref = Float64Reference.linear(x, w0, new double[c], labels);
        Arrays2.assertClose("loss", ref.loss(), r.loss(), 1e-5);
        Arrays2.assertClose("dX", ref.dX(), Arrays2.toDouble(r.featureGrad()), 1e-5);
        double[][] w1 = Arrays2.toDouble(fc.weights().castTo(org.nd4j.linalg.api.buffer.DataType.FLOAT));
        for (int j = 0; j < c; j++) {
            for (int k = 0; k < d; k++) {
                double want = w0[j][k] - lr * ref.dW()[j][k];
                // bfloat16 keeps 8 significant bits: rounding to nearest is within 2^-8 of the value
                assertEquals(want, w1[j][k], Math.abs(want) * 0x1p-8 + 1e-12, "W[" + j + "][" + k + "] seed "
                        + TestSeed.BASE);
            }
        }
        Arrays2.assertClose("b after (float32)", new double[][] {scaled(ref.dB(), -lr)},
                new double[][] {toDouble(fc.bias())}, 1e-5);
    }

    private static double[] scaled(double[] v, double f) {
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = f * v[i];
        }
        return out;
    }

    @Test
    void samplingIsRefusedForThePlainSoftmax() {
        assertEquals("sample_ratio : 0.5 with loss_type softmax (expected: 1.0; PLSC's plain softmax FC is never"
                + " sampled, Partial FC samples margin losses only)", assertThrows(IllegalArgumentException.class,
                        () -> FcConfig.builder().head(FcHead.LINEAR_BIAS).sampleRatio(0.5).build()).getMessage());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TrainConfigs.bind(
                TrainConfigs.merged(Map.of("loss_type", "dist_softmax", "sample_ratio", 0.1)), "job.yaml"));
        assertTrue(e.getMessage().startsWith("job.yaml: sample_ratio : 0.1 with loss_type dist_softmax (expected: 1.0"),
                e.getMessage());
    }
}
