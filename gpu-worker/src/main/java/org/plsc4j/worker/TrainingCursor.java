package org.plsc4j.worker;

/** Where training stands: the next step to run. Identical on all ranks at a generation start. */
final class TrainingCursor {
    int epoch;
    int step;
    long global;
    boolean valid;

    /** Strictly increasing over the run, also across an epoch end (epoch e done = epoch e+1 step 0 - 1). */
    int key(int stepsPerEpoch) {
        return valid ? 1 + epoch * (stepsPerEpoch + 1) + step : 0;
    }
}
