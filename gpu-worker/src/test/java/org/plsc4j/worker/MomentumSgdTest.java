package org.plsc4j.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.core.TestSeed;

/** Paddle Momentum + L2Decay semantics against a float64 reference over several steps. */
@ExtendWith(TestSeed.class)
class MomentumSgdTest {

    @Test
    void severalStepsMatchTheFloat64Reference() {
        SplittableRandom rng = new SplittableRandom(TestSeed.of("sgd"));
        double mu = 0.9;
        double wd = 5e-4;
        Map<String, INDArray> params = new LinkedHashMap<>();
        params.put("a", Tensors.gaussian(rng, DataType.FLOAT, 1.0, 3, 4));
        params.put("b", Tensors.gaussian(rng, DataType.FLOAT, 1.0, 5));
        Map<String, double[]> w = new LinkedHashMap<>();
        Map<String, double[]> v = new LinkedHashMap<>();
        params.forEach((k, a) -> {
            w.put(k, Tensors.flat(a));
            v.put(k, new double[(int) a.length()]);
        });
        MomentumSgd opt = new MomentumSgd(mu, wd);
        double[] lrs = {0.1, 0.1, 0.05, 0.2, 0.01};
        for (int step = 0; step < lrs.length; step++) {
            Map<String, INDArray> grads = new LinkedHashMap<>();
            params.forEach((k, a) -> grads.put(k, Tensors.gaussian(rng, DataType.FLOAT, 0.5, a.shape())));
            for (String k : params.keySet()) {
                double[] g = Tensors.flat(grads.get(k));
                double[] wk = w.get(k);
                double[] vk = v.get(k);
                for (int i = 0; i < wk.length; i++) {
                    vk[i] = mu * vk[i] + (g[i] + wd * wk[i]);
                    wk[i] -= lrs[step] * vk[i];
                }
            }
            opt.step(params, grads, lrs[step]);
            for (String k : params.keySet()) {
                Tensors.assertClose("step " + step + " w " + k, w.get(k), Tensors.flat(params.get(k)), 1e-5, 0);
                Tensors.assertClose("step " + step + " v " + k, v.get(k), Tensors.flat(opt.state().get(k)), 1e-5, 0);
            }
        }
    }

    @Test
    void stateRoundTripsThroughACheckpoint() {
        SplittableRandom rng = new SplittableRandom(TestSeed.of("sgd-state"));
        Map<String, INDArray> p1 = Map.of("w", Tensors.gaussian(rng, DataType.FLOAT, 1.0, 4));
        Map<String, INDArray> g = Map.of("w", Tensors.gaussian(rng, DataType.FLOAT, 1.0, 4));
        MomentumSgd a = MomentumSgd.plsc();
        a.step(p1, g, 0.1);
        Map<String, INDArray> p2 = Map.of("w", p1.get("w").dup());
        MomentumSgd b = MomentumSgd.plsc();
        b.loadState(a.state());
        a.step(p1, g, 0.1);
        b.step(p2, g, 0.1);
        assertEquals(p1.get("w"), p2.get("w"));
        assertEquals(a.state().get("w"), b.state().get("w"));
    }

    @Test
    void badInputIsRefusedWithTheFieldAndValue() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new MomentumSgd(1.0, 0));
        assertEquals("momentum : 1.0 (expected: 0 <= x < 1)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new MomentumSgd(0.9, -1));
        assertEquals("weight_decay : -1.0 (expected: a finite value >= 0)", e.getMessage());
        MomentumSgd opt = MomentumSgd.plsc();
        Map<String, INDArray> p = Map.of("w", Nd4j.zeros(DataType.FLOAT, 2));
        e = assertThrows(IllegalArgumentException.class, () -> opt.step(p, Map.of("x", Nd4j.zeros(DataType.FLOAT, 2)),
                0.1));
        assertEquals("gradients : without gradient [w], without parameter [x] (expected: one gradient per parameter)",
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> opt.step(p, Map.of("w", Nd4j.zeros(DataType.FLOAT, 3)),
                0.1));
        assertEquals("gradient shape of w : [3] (expected: [2])", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> opt.step(p, p, Double.NaN));
        assertTrue(e.getMessage().startsWith("lr : NaN"), e.getMessage());
    }
}
