package org.plsc4j.worker;

import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeSet;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * PLSC's backbone optimizer: Paddle's {@code Momentum(momentum=0.9)} with
 * {@code L2Decay(5e-4)} regularisation,
 * <pre>
 *   v ← μ·v + (g + wd·w)
 *   w ← w − lr·v
 * </pre>
 * (no Nesterov, velocity starting at 0). As in PLSC, weight decay applies to every trainable
 * parameter, batch-norm γ/β, PReLU slopes and biases included: Paddle applies the optimizer's
 * regulariser to every parameter whose {@code ParamAttr} sets none, and PLSC's ResNet sets none.
 * Batch-norm running statistics are state, not parameters, and are never decayed.
 */
public final class MomentumSgd implements Optimizer {

    private final double momentum;
    private final double weightDecay;
    private final Map<String, INDArray> velocity = new LinkedHashMap<>();

    /** μ and wd, validated. */
    public MomentumSgd(double momentum, double weightDecay) {
        if (!(momentum >= 0 && momentum < 1)) {
            throw new IllegalArgumentException("momentum : " + momentum + " (expected: 0 <= x < 1)");
        }
        if (!(weightDecay >= 0) || !Double.isFinite(weightDecay)) {
            throw new IllegalArgumentException("weight_decay : " + weightDecay + " (expected: a finite value >= 0)");
        }
        this.momentum = momentum;
        this.weightDecay = weightDecay;
    }

    /** PLSC's setting: μ = 0.9, wd = 5e-4. */
    public static MomentumSgd plsc() {
        return new MomentumSgd(0.9, 5e-4);
    }

    /** μ. */
    public double momentum() {
        return momentum;
    }

    /** wd. */
    public double weightDecay() {
        return weightDecay;
    }

    @Override
    public void step(Map<String, INDArray> params, Map<String, INDArray> grads, double lr) {
        if (!(lr >= 0) || !Double.isFinite(lr)) {
            throw new IllegalArgumentException("lr : " + lr + " (expected: a finite value >= 0)");
        }
        if (!params.keySet().equals(grads.keySet())) {
            TreeSet<String> noGrad = new TreeSet<>(params.keySet());
            noGrad.removeAll(grads.keySet());
            TreeSet<String> noParam = new TreeSet<>(grads.keySet());
            noParam.removeAll(params.keySet());
            throw new IllegalArgumentException("gradients : without gradient " + noGrad + ", without parameter "
                    + noParam + " (expected: one gradient per parameter)");
        }
        for (Map.Entry<String, INDArray> e : params.entrySet()) {
            INDArray w = e.getValue();
            INDArray g = grads.get(e.getKey());
            if (!Arrays.equals(w.shape(), g.shape())) {
                throw new IllegalArgumentException("gradient shape of " + e.getKey() + " : "
                        + Arrays.toString(g.shape()) + " (expected: " + Arrays.toString(w.shape()) + ")");
            }
        }
        for (Map.Entry<String, INDArray> e : params.entrySet()) {
            INDArray w = e.getValue();
            INDArray g = grads.get(e.getKey());
            INDArray v = velocity.get(e.getKey());
            if (v == null) {
                v = Nd4j.zeros(w.dataType(), w.shape());
                velocity.put(e.getKey(), v);
            } else if (!Arrays.equals(v.shape(), w.shape())) {
                throw new IllegalArgumentException("velocity shape of " + e.getKey() + " : "
                        + Arrays.toString(v.shape()) + " (expected: " + Arrays.toString(w.shape()) + ")");
            }
            v.muli(momentum).addi(g);
            if (weightDecay != 0) {
                Nd4j.getBlasWrapper().level1().axpy(w.length(), weightDecay, w, v);
            }
            Nd4j.getBlasWrapper().level1().axpy(w.length(), -lr, v, w);
        }
    }

    @Override
    public Map<String, INDArray> state() {
        return Collections.unmodifiableMap(velocity);
    }

    @Override
    public void loadState(Map<String, INDArray> state) {
        velocity.clear();
        state.forEach((k, v) -> velocity.put(k, v.dup()));
    }

    @Override
    public String toString() {
        return "MomentumSgd[momentum=" + momentum + ", weight_decay=" + weightDecay + "]";
    }
}
