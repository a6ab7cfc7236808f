package org.plsc4j.worker.internal;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The arrays a backbone owns, filled while the training graph is built and reused (never copied)
 * by the inference graph: trainable parameters and batch-norm state in creation order, and the
 * batch-norm and dropout slots of the training graph.
 */
public final class ParameterRegistry {

    private final Map<String, INDArray> params = new LinkedHashMap<>();
    private final Map<String, INDArray> state = new LinkedHashMap<>();
    private final List<BatchNormSlot> batchNorms = new ArrayList<>();
    private final List<DropoutSlot> dropouts = new ArrayList<>();

    /** Trainable parameters, live and insertion-ordered (unmodifiable view). */
    public Map<String, INDArray> params() {
        return Collections.unmodifiableMap(params);
    }

    /** Non-trainable state (batch-norm running statistics), live (unmodifiable view). */
    public Map<String, INDArray> state() {
        return Collections.unmodifiableMap(state);
    }

    /** The training graph's batch norms. */
    public List<BatchNormSlot> batchNorms() {
        return Collections.unmodifiableList(batchNorms);
    }

    /** The training graph's dropouts. */
    public List<DropoutSlot> dropouts() {
        return Collections.unmodifiableList(dropouts);
    }

    boolean contains(String name) {
        return params.containsKey(name) || state.containsKey(name);
    }

    void addParam(String name, INDArray arr) {
        params.put(name, arr);
    }

    void addState(String name, INDArray arr) {
        state.put(name, arr);
    }

    INDArray param(String name) {
        return params.get(name);
    }

    INDArray stateArray(String name) {
        return state.get(name);
    }

    void addBatchNorm(BatchNormSlot slot) {
        batchNorms.add(slot);
    }

    void addDropout(DropoutSlot slot) {
        dropouts.add(slot);
    }

    /**
     * Copies {@code values} into the registered parameters and state (a checkpoint); the names must be
     * exactly those registered, with the same shapes, else nothing is copied.
     *
     * @throws IllegalArgumentException naming every missing, unexpected or mis-shaped entry
     */
    public void load(Map<String, INDArray> values, String model) {
        Map<String, INDArray> expected = new LinkedHashMap<>(params());
        expected.putAll(state());
        TreeSet<String> missing = new TreeSet<>(expected.keySet());
        missing.removeAll(values.keySet());
        TreeSet<String> extra = new TreeSet<>(values.keySet());
        extra.removeAll(expected.keySet());
        List<String> problems = new ArrayList<>();
        if (!missing.isEmpty()) {
            problems.add("missing " + missing);
        }
        if (!extra.isEmpty()) {
            problems.add("unexpected " + extra);
        }
        for (Map.Entry<String, INDArray> e : expected.entrySet()) {
            INDArray v = values.get(e.getKey());
            if (v != null && !Arrays.equals(v.shape(), e.getValue().shape())) {
                problems.add("shape of " + e.getKey() + " : " + Arrays.toString(v.shape()) + " (expected: "
                        + Arrays.toString(e.getValue().shape()) + ")");
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("backbone load : " + String.join("; ", problems)
                    + " (expected: exactly the parameters and state of model " + model + ")");
        }
        for (Map.Entry<String, INDArray> e : expected.entrySet()) {
            e.getValue().assign(values.get(e.getKey()));
        }
    }
}
