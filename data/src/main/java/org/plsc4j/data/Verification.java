package org.plsc4j.data;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.conditions.Conditions;

/**
 * The face-verification metrics of insightface's {@code verification.py} ({@code evaluate},
 * {@code calculate_roc}, {@code calculate_val}), which PLSC reports too, reproduced decision for
 * decision so that numbers are comparable with published ones:
 * <ul>
 *   <li>embedding of a test image = L2-normalise(embedding(image) + embedding(flipped image)),
 *       {@link #combine};</li>
 *   <li>pair i = rows 2i and 2i+1, distance = squared L2 distance, "same" predicted when
 *       {@code dist < threshold};</li>
 *   <li>10-fold cross validation over pairs in file order (sklearn {@code KFold(10, shuffle=False)}:
 *       contiguous folds, the first {@code P % 10} one pair larger);</li>
 *   <li>accuracy: thresholds {@code 0, 0.01, …, 3.99}; per fold the first threshold with the highest
 *       train-fold accuracy ({@code np.argmax}); mean and population std of the test-fold
 *       accuracies;</li>
 *   <li>VAL@FAR=1e-3: thresholds {@code 0, 0.001, …, 3.999}; per fold the threshold for FAR = 1e-3
 *       on the train folds by linear interpolation of threshold over FAR ({@link #interpolate}, the
 *       semantics of scipy's {@code interp1d(kind='slinear')} before it rejected duplicate x), or 0
 *       when no threshold reaches that FAR; VAL and FAR on the test fold.</li>
 * </ul>
 * Distances are computed in float64 from the float32 embeddings (insightface computes them in
 * float32; only distances within float32 rounding of a threshold can be classified differently).
 * Counting uses sorted distances and binary search instead of a pass per threshold; the counts are
 * the same.
 */
public final class Verification {

    /** insightface's fold count. */
    public static final int FOLDS = 10;

    /** The FAR at which VAL is reported. */
    public static final double FAR_TARGET = 1e-3;

    private static final int ACC_THRESHOLDS = 400;
    private static final double ACC_STEP = 0.01;
    private static final int VAL_THRESHOLDS = 4000;
    private static final double VAL_STEP = 0.001;

    private Verification() {
    }

    /**
     * L2-normalised sum of the embeddings of the images and of their flipped copies, row by row
     * ([n, D] each); rows whose sum is zero stay zero (as sklearn's {@code normalize}).
     */
    public static INDArray combine(INDArray embeddings, INDArray flippedEmbeddings) {
        if (!Arrays.equals(embeddings.shape(), flippedEmbeddings.shape()) || embeddings.rank() != 2) {
            throw new IllegalArgumentException("flipped embeddings : shape " + Arrays.toString(flippedEmbeddings.shape())
                    + " (expected: the same [n, D] shape as the embeddings, " + Arrays.toString(embeddings.shape()) + ")");
        }
        INDArray sum = embeddings.add(flippedEmbeddings);
        INDArray norms = sum.norm2(1);
        norms.replaceWhere(Nd4j.onesLike(norms), Conditions.equals(0));
        return sum.diviColumnVector(norms.reshape(norms.length(), 1));
    }

    /** Squared L2 distance of rows 2i and 2i+1 of {@code embeddings} [2P, D], in float64. */
    public static double[] squaredDistances(INDArray embeddings) {
        if (embeddings.rank() != 2 || embeddings.rows() % 2 != 0) {
            throw new IllegalArgumentException("embeddings : shape " + Arrays.toString(embeddings.shape())
                    + " (expected: [2P, D], pairs in consecutive rows)");
        }
        double[][] e = embeddings.castTo(DataType.DOUBLE).toDoubleMatrix();
        double[] dist = new double[e.length / 2];
        for (int i = 0; i < dist.length; i++) {
            double s = 0;
            for (int d = 0; d < e[2 * i].length; d++) {
                double diff = e[2 * i][d] - e[2 * i + 1][d];
                s += diff * diff;
            }
            dist[i] = s;
        }
        return dist;
    }

    /** insightface's {@code evaluate} on combined embeddings [2P, D] (rows 2i and 2i+1 are pair i). */
    public static VerificationResult evaluate(INDArray embeddings, boolean[] issame) {
        return evaluate(squaredDistances(embeddings), issame, FOLDS);
    }

    /**
     * insightface's {@code evaluate} on precomputed squared distances.
     *
     * @throws IllegalArgumentException when the lengths differ, there are fewer pairs than folds, or a
     *     train or test fold lacks same or different pairs (insightface would divide by zero)
     */
    public static VerificationResult evaluate(double[] dist, boolean[] issame, int folds) {
        if (dist.length != issame.length) {
            throw new IllegalArgumentException("issame : " + issame.length + " flags (expected: one per pair, "
                    + dist.length + ")");
        }
        if (folds < 2 || dist.length < folds) {
            throw new IllegalArgumentException("pairs : " + dist.length + " (expected: >= folds = " + folds
                    + " >= 2)");
        }
        int n = dist.length;
        double[] accThresholds = thresholds(ACC_THRESHOLDS, ACC_STEP);
        double[] valThresholds = thresholds(VAL_THRESHOLDS, VAL_STEP);
        double[] acc = new double[folds];
        double[] best = new double[folds];
        double[] val = new double[folds];
        double[] far = new double[folds];
        int start = 0;
        for (int f = 0; f < folds; f++) {
            int len = n / folds + (f < n % folds ? 1 : 0);
            int end = start + len;
            Counts train = new Counts(dist, issame, start, end, false);
            Counts test = new Counts(dist, issame, start, end, true);
            // accuracy: first best threshold on the train folds
            int bestIdx = 0;
            long bestCorrect = -1;
            for (int t = 0; t < accThresholds.length; t++) {
                long correct = train.correct(accThresholds[t]);
                if (correct > bestCorrect) {
                    bestCorrect = correct;
                    bestIdx = t;
                }
            }
            best[f] = accThresholds[bestIdx];
            acc[f] = (double) test.correct(best[f]) / test.n;
            // VAL @ FAR
            train.requireBoth("train folds of fold " + f);
            test.requireBoth("test fold " + f);
            double[] farTrain = new double[valThresholds.length];
            double maxFar = 0;
            for (int t = 0; t < valThresholds.length; t++) {
                farTrain[t] = (double) train.falseAccepts(valThresholds[t]) / train.diff.length;
                maxFar = Math.max(maxFar, farTrain[t]);
            }
            double threshold = maxFar >= FAR_TARGET ? interpolate(farTrain, valThresholds, FAR_TARGET) : 0.0;
            val[f] = (double) test.trueAccepts(threshold) / test.same.length;
            far[f] = (double) test.falseAccepts(threshold) / test.diff.length;
            start = end;
        }
        return new VerificationResult(n, mean(acc), std(acc), mean(val), std(val), mean(far), acc, best);
    }

    /**
     * {@code scipy.interpolate.interp1d(x, y, kind='slinear')(xt)} for non-decreasing {@code x} that
     * may repeat values, as scipy evaluated it while it accepted repeats (a degree-1 B-spline with knots
     * {@code [x0, x0..x(m-1), x(m-1)]} and coefficients {@code y}): find the last knot {@code <= xt}
     * (the last interval when {@code xt} is the largest x) and interpolate linearly on it; an interval
     * of zero width (repeated largest x) evaluates to 0.
     */
    static double interpolate(double[] x, double[] y, double xt) {
        int m = x.length;
        if (xt < x[0] || xt > x[m - 1]) {
            throw new IllegalArgumentException("x : " + xt + " (expected: within [" + x[0] + ", " + x[m - 1] + "])");
        }
        double[] t = new double[m + 2];
        t[0] = x[0];
        System.arraycopy(x, 0, t, 1, m);
        t[m + 1] = x[m - 1];
        int l = 2;
        while (l != m && xt >= t[l]) {
            l++;
        }
        l--;
        double xa = t[l];
        double xb = t[l + 1];
        if (xa == xb) {
            return 0.0;
        }
        double w = 1 / (xb - xa);
        return y[l - 1] * (w * (xb - xt)) + y[l] * (w * (xt - xa));
    }

    /** numpy {@code arange(0, count·step, step)}: value i is {@code i·step}. */
    private static double[] thresholds(int count, double step) {
        double[] t = new double[count];
        for (int i = 0; i < count; i++) {
            t[i] = i * step;
        }
        return t;
    }

    /** Sorted distances of same and different pairs of one side (train or test) of a fold. */
    private static final class Counts {
        final double[] same;
        final double[] diff;
        final int n;

        Counts(double[] dist, boolean[] issame, int start, int end, boolean inside) {
            int ns = 0;
            int nd = 0;
            for (int i = 0; i < dist.length; i++) {
                if ((i >= start && i < end) == inside) {
                    if (issame[i]) {
                        ns++;
                    } else {
                        nd++;
                    }
                }
            }
            same = new double[ns];
            diff = new double[nd];
            ns = 0;
            nd = 0;
            for (int i = 0; i < dist.length; i++) {
                if ((i >= start && i < end) == inside) {
                    if (issame[i]) {
                        same[ns++] = dist[i];
                    } else {
                        diff[nd++] = dist[i];
                    }
                }
            }
            Arrays.sort(same);
            Arrays.sort(diff);
            n = same.length + diff.length;
        }

        void requireBoth(String what) {
            if (same.length == 0 || diff.length == 0) {
                throw new IllegalArgumentException("pairs : the " + what + " has " + same.length + " same and "
                        + diff.length + " different pairs (expected: both kinds, else VAL or FAR divide by zero)");
            }
        }

        long trueAccepts(double threshold) {
            return below(same, threshold);
        }

        long falseAccepts(double threshold) {
            return below(diff, threshold);
        }

        /** tp + tn: same pairs below the threshold plus different pairs not below it. */
        long correct(double threshold) {
            return below(same, threshold) + diff.length - below(diff, threshold);
        }

        /** How many values of sorted {@code a} are {@code < threshold} (NaN distances are never below). */
        private static int below(double[] a, double threshold) {
            int lo = 0;
            int hi = a.length;
            while (lo < hi) {
                int mid = (lo + hi) >>> 1;
                if (a[mid] < threshold) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            return lo;
        }
    }

    /** {@code np.mean}: numpy's pairwise sum divided by n. */
    static double mean(double[] a) {
        return pairwiseSum(a, 0, a.length) / a.length;
    }

    /** {@code np.std} (ddof 0): sqrt(mean of squared deviations from the mean), sums as numpy's. */
    static double std(double[] a) {
        double m = mean(a);
        double[] sq = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            double d = a[i] - m;
            sq[i] = d * d;
        }
        return Math.sqrt(pairwiseSum(sq, 0, sq.length) / sq.length);
    }

    /**
     * numpy's {@code pairwise_sum} for float64 (8 interleaved accumulators up to 128 elements, halving
     * above), so that means and stds round exactly as numpy's.
     */
    static double pairwiseSum(double[] a, int from, int n) {
        if (n < 8) {
            double res = 0.;
            for (int i = 0; i < n; i++) {
                res += a[from + i];
            }
            return res;
        }
        if (n <= 128) {
            double[] r = new double[8];
            System.arraycopy(a, from, r, 0, 8);
            int i;
            for (i = 8; i < n - (n % 8); i += 8) {
                for (int j = 0; j < 8; j++) {
                    r[j] += a[from + i + j];
                }
            }
            double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
            for (; i < n; i++) {
                res += a[from + i];
            }
            return res;
        }
        int n2 = n / 2;
        n2 -= n2 % 8;
        return pairwiseSum(a, from, n2) + pairwiseSum(a, from + n2, n - n2);
    }
}
