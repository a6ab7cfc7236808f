package org.plsc4j.data;

/**
 * What insightface's {@code verification.py test()} reports for one set, computed by
 * {@link Verification#evaluate}.
 *
 * @param pairs P
 * @param accuracy mean over the 10 folds of the test-fold accuracy at the threshold that was best on the train folds
 * @param accuracyStd population standard deviation of those fold accuracies (numpy's default)
 * @param val mean VAL (true accept rate) at the threshold interpolated for FAR = 1e-3 on the train folds
 * @param valStd population standard deviation of the fold VALs
 * @param far mean FAR of the test folds at those thresholds
 * @param foldAccuracy accuracy of each fold
 * @param foldThreshold the best squared-distance threshold chosen for each fold
 */
public record VerificationResult(int pairs, double accuracy, double accuracyStd, double val, double valStd,
                                 double far, double[] foldAccuracy, double[] foldThreshold) {

    @Override
    public String toString() {
        return String.format(java.util.Locale.ROOT, "pairs %d, accuracy %.5f+-%.5f, VAL %.5f+-%.5f @ FAR %.5f",
                pairs, accuracy, accuracyStd, val, valStd, far);
    }
}
