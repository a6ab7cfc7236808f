package org.plsc4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.core.TestSeed;

@ExtendWith(TestSeed.class)
class VerificationTest {

    /** insightface's evaluate written out straightforwardly: a pass per threshold over every pair, in float64. */
    private static double[] reference(double[] dist, boolean[] same) {
        int n = dist.length;
        int k = 10;
        double[] acc = new double[k];
        double[] val = new double[k];
        double[] far = new double[k];
        int start = 0;
        for (int f = 0; f < k; f++) {
            int size = n / k + (f < n % k ? 1 : 0);
            List<Integer> train = new ArrayList<>();
            List<Integer> test = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                (i >= start && i < start + size ? test : train).add(i);
            }
            start += size;
            double bestAcc = -1;
            double bestT = 0;
            for (int t = 0; t < 400; t++) {
                double a = accuracy(t * 0.01, dist, same, train);
                if (a > bestAcc) {
                    bestAcc = a;
                    bestT = t * 0.01;
                }
            }
            acc[f] = accuracy(bestT, dist, same, test);
            double[] farTrain = new double[4000];
            double max = 0;
            for (int t = 0; t < 4000; t++) {
                farTrain[t] = valFar(t * 0.001, dist, same, train)[1];
                max = Math.max(max, farTrain[t]);
            }
            double threshold = 0;
            if (max >= 1e-3) {
                // linear interpolation between the last threshold with FAR <= target and the next one
                int j = 0;
                while (j + 1 < 4000 && farTrain[j + 1] <= 1e-3) {
                    j++;
                }
                threshold = j + 1 == 4000 || farTrain[j] == 1e-3 ? j * 0.001
                        : j * 0.001 + (1e-3 - farTrain[j]) * 0.001 / (farTrain[j + 1] - farTrain[j]);
            }
            double[] vf = valFar(threshold, dist, same, test);
            val[f] = vf[0];
            far[f] = vf[1];
        }
        return new double[] {mean(acc), std(acc), mean(val), std(val), mean(far)};
    }

    private static double accuracy(double threshold, double[] dist, boolean[] same, List<Integer> idx) {
        int correct = 0;
        for (int i : idx) {
            correct += (dist[i] < threshold) == same[i] ? 1 : 0;
        }
        return (double) correct / idx.size();
    }

    private static double[] valFar(double threshold, double[] dist, boolean[] same, List<Integer> idx) {
        int ta = 0;
        int fa = 0;
        int ns = 0;
        int nd = 0;
        for (int i : idx) {
            boolean p = dist[i] < threshold;
            if (same[i]) {
                ns++;
                ta += p ? 1 : 0;
            } else {
                nd++;
                fa += p ? 1 : 0;
            }
        }
        return new double[] {(double) ta / ns, (double) fa / nd};
    }

    private static double mean(double[] a) {
        double s = 0;
        for (double v : a) {
            s += v;
        }
        return s / a.length;
    }

    private static double std(double[] a) {
        double m = mean(a);
        double s = 0;
        for (double v : a) {
            s += (v - m) * (v - m);
        }
        return Math.sqrt(s / a.length);
    }

    @Test
    void matchesTheFloat64ReferenceOnRandomEmbeddings() {
        long seed = TestSeed.of("verification");
        SplittableRandom rng = new SplittableRandom(seed);
        for (int round = 0; round < 4; round++) {
            int pairs = 50 + rng.nextInt(400);
            int dim = 8;
            double noise = 0.3 + rng.nextDouble();
            float[][] e = new float[2 * pairs][dim];
            boolean[] same = new boolean[pairs];
            for (int p = 0; p < pairs; p++) {
                // every window of 5 consecutive pairs holds both kinds, so every fold (>= 5 pairs) does:
                // insightface's protocol is undefined on a fold without same or without different pairs
                same[p] = p % 5 == 0 || (p % 5 != 1 && rng.nextBoolean());
                for (int d = 0; d < dim; d++) {
                    e[2 * p][d] = (float) rng.nextGaussian();
                    e[2 * p + 1][d] = same[p] ? (float) (e[2 * p][d] + noise * rng.nextGaussian()) : (float) rng.nextGaussian();
                }
            }
            INDArray raw = Nd4j.create(e);
            INDArray emb = Verification.combine(raw, raw.mul(0.5));
            double[] dist = Verification.squaredDistances(emb);
            // the distances themselves, from the float32 rows in float64
            float[][] rows = emb.toFloatMatrix();
            for (int p = 0; p < pairs; p++) {
                double s = 0;
                double n0 = 0;
                for (int d = 0; d < dim; d++) {
                    s += ((double) rows[2 * p][d] - rows[2 * p + 1][d]) * ((double) rows[2 * p][d] - rows[2 * p + 1][d]);
                    n0 += (double) rows[2 * p][d] * rows[2 * p][d];
                }
                assertEquals(s, dist[p], 1e-12);
                assertEquals(1.0, n0, 1e-6, "combined rows are unit length");
            }
            VerificationResult r = Verification.evaluate(emb, same);
            double[] ref = reference(dist, same);
            String msg = "round " + round + ", pairs " + pairs;
            assertEquals(ref[0], r.accuracy(), 1e-12, msg);
            assertEquals(ref[1], r.accuracyStd(), 1e-12, msg);
            assertEquals(ref[2], r.val(), 1e-12, msg);
            assertEquals(ref[3], r.valStd(), 1e-12, msg);
            assertEquals(ref[4], r.far(), 1e-12, msg);
            assertEquals(pairs, r.pairs());
        }
    }

    /**
     * Expected values computed with numpy 2.4 / scipy 1.17 running insightface's calculate_roc and
     * calculate_val (KFold as contiguous folds, interp1d 'slinear' as scipy's degree-1 BSpline with
     * knots [x0, x, x-1]) on the same distances; exact equality, numpy's summation order included.
     */
    @Test
    void matchesNumpyOnAFixedCase() {
        int p = 53;
        double[] dist = new double[p];
        boolean[] same = new boolean[p];
        for (int i = 0; i < p; i++) {
            same[i] = i % 3 != 1;
            dist[i] = ((i * 37) % 101) / 60.0 + (same[i] ? 0.0 : 0.6);
        }
        VerificationResult r = Verification.evaluate(dist, same, 10);
        assertEquals(0.77, r.accuracy(), 0);
        assertEquals(0.1702612371882951, r.accuracyStd(), 0);
        assertEquals(0.4749999999999999, r.val(), 0);
        assertEquals(0.2814890959009089, r.valStd(), 0);
        assertEquals(0.05, r.far(), 0);
        assertArrayEquals(new double[] {1.67, 1.67, 1.67, 1.67, 1.67, 1.51, 1.67, 1.51, 1.67, 1.67}, r.foldThreshold(), 0);
        assertArrayEquals(new double[] {0.6666666666666666, 0.8333333333333334, 1.0, 0.8, 0.8, 0.4, 0.6, 0.8, 1.0, 0.8},
                r.foldAccuracy(), 0);
    }

    @Test
    void perfectlySeparablePairsHaveAccuracyOne() {
        int p = 40;
        double[] dist = new double[p];
        boolean[] same = new boolean[p];
        for (int i = 0; i < p; i++) {
            same[i] = i % 2 == 0;
            dist[i] = same[i] ? 0.3 + 0.001 * i : 2.5 + 0.001 * i;
        }
        VerificationResult r = Verification.evaluate(dist, same, 10);
        assertEquals(1.0, r.accuracy(), 0);
        assertEquals(0.0, r.accuracyStd(), 0);
        assertEquals(1.0, r.val(), 0, "every same pair is far below the FAR threshold");
        // the FAR threshold lies just above the smallest different-pair distance of the train folds
        // (interpolated between FAR 0 and 1/18); only fold 0's test pairs 1 and 3 (2.501, 2.503) lie
        // below the train folds' smallest (2.505): FAR 1 there, 0 elsewhere
        assertEquals(0.1, r.far(), 1e-15);
        // the first best threshold: just above the largest same distance of the train folds
        for (double t : r.foldThreshold()) {
            assertEquals(true, t > 0.3 && t <= 0.35, "threshold " + t);
        }
    }

    @Test
    void identicalDistancesGiveHalfForBalancedPairs() {
        int p = 60;
        double[] dist = new double[p];
        boolean[] same = new boolean[p];
        for (int i = 0; i < p; i++) {
            same[i] = i % 2 == 0;
            dist[i] = 1.234;
        }
        VerificationResult r = Verification.evaluate(dist, same, 10);
        assertEquals(0.5, r.accuracy(), 0);
        assertEquals(0.0, r.accuracyStd(), 0);
        // train FAR is 0 up to threshold 1.234 and 1 from 1.235: FAR 1e-3 interpolates to 1.234001,
        // above every distance, so every pair is accepted
        assertEquals(1.0, r.val(), 0);
        assertEquals(1.0, r.far(), 0);
    }

    /** Values from scipy's degree-1 BSpline with knots [x0, x, x-1] (what interp1d 'slinear' built). */
    @Test
    void interpolationFollowsScipyOnRepeatedFarValues() {
        double[] x = {0, 0, 0, 0.001, 0.001, 0.002};
        double[] y = {0, 1, 2, 3, 4, 5};
        assertEquals(4.0, Verification.interpolate(x, y, 0.001), 0);
        assertEquals(4.5, Verification.interpolate(x, y, 0.0015), 1e-12);
        assertEquals(5.0, Verification.interpolate(x, y, 0.002), 0);
        assertEquals(2.0, Verification.interpolate(x, y, 0.0), 0);
        assertEquals(0.0, Verification.interpolate(new double[] {0, 0, 0.001, 0.001, 0.001}, new double[] {0, 1, 2, 3, 4}, 0.001), 0);
        assertEquals(4.0 / 3, Verification.interpolate(new double[] {0, 0.0005, 0.002, 0.002}, new double[] {0, 1, 2, 3}, 0.001), 1e-12);
        assertEquals(1.0, Verification.interpolate(new double[] {0.001, 0.001, 0.002}, new double[] {0, 1, 2}, 0.001), 0);
    }

    @Test
    void numpySummationOrder() {
        SplittableRandom rng = new SplittableRandom(TestSeed.of("sum"));
        for (int n : new int[] {1, 7, 8, 10, 17, 128, 129, 1000}) {
            double[] a = new double[n];
            double naive = 0;
            for (int i = 0; i < n; i++) {
                a[i] = rng.nextDouble();
                naive += a[i];
            }
            assertEquals(naive, Verification.pairwiseSum(a, 0, n), 1e-12 * n);
        }
        // 10 values where numpy's 8-accumulator order and the sequential order round differently
        double[] a = {1e16, 1, 1, 1, 1, 1, 1, 1, 1, 1};
        assertEquals(((1e16 + 1) + (1.0 + 1)) + ((1.0 + 1) + (1.0 + 1)) + 1 + 1, Verification.pairwiseSum(a, 0, 10), 0);
    }

    @Test
    void combineSumsAndNormalisesLikeSklearn() {
        INDArray a = Nd4j.create(new float[][] {{3, 0}, {1, 1}, {0, 0}});
        INDArray b = Nd4j.create(new float[][] {{0, 4}, {1, 1}, {0, 0}});
        INDArray c = Verification.combine(a, b);
        assertArrayEquals(new float[] {0.6f, 0.8f}, c.getRow(0).toFloatVector(), 1e-7f);
        assertArrayEquals(new float[] {(float) Math.sqrt(0.5), (float) Math.sqrt(0.5)}, c.getRow(1).toFloatVector(), 1e-7f);
        assertArrayEquals(new float[] {0, 0}, c.getRow(2).toFloatVector(), 0f);
        assertEquals(DataType.FLOAT, c.dataType());
    }

    @Test
    void badInputIsNamed() {
        assertEquals("issame : 3 flags (expected: one per pair, 20)",
                assertThrows(IllegalArgumentException.class, () -> Verification.evaluate(new double[20], new boolean[3], 10))
                        .getMessage());
        boolean[] allSame = new boolean[20];
        java.util.Arrays.fill(allSame, true);
        assertEquals("pairs : the train folds of fold 0 has 18 same and 0 different pairs (expected: both kinds, else VAL or FAR divide by zero)",
                assertThrows(IllegalArgumentException.class, () -> Verification.evaluate(new double[20], allSame, 10))
                        .getMessage());
    }
}
