package org.plsc4j.worker;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.plsc4j.core.TestSeed;

/**
 * Holds a float32 engine's gradients against a float64 run of the same parameters, relative to how far
 * a reference float32 engine lands from it on the same tensor: two correct float32 engines differ by
 * several % on single tensors for some seeds (batch norms over a few values per channel are
 * ill-conditioned), so a fixed tolerance between them would test the seed, not the engine.
 *
 * <p>Gradients that are zero by construction (the β of a batch norm whose output reaches only
 * training-mode batch norms, the FC bias before the embedding batch norm: the loss does not change
 * with them) have no relative error to speak of; both engines give float32 round-off there, held to
 * 1e-6 of the largest gradient's RMS. Callers run with unit PReLU slopes, for the reason given in
 * {@code NativeResNetDnnlTest}: a PReLU input within float32 rounding of 0 takes the other branch on
 * one engine now and then, which no engine can avoid.
 */
final class Float32Gradients {

    private Float32Gradients() {
    }

    /**
     * For every tensor of {@code truth}: {@code fast}'s relative error (Frobenius norm over the tensor)
     * at most 4× {@code ref}'s plus {@code floor}, or round-off where the truth is zero by construction.
     */
    static void assertAsCloseAs(String at, Map<String, INDArray> truth, Map<String, INDArray> ref, String refName,
                                Map<String, INDArray> fast, String fastName, double floor) {
        double scale = truth.values().stream().mapToDouble(Float32Gradients::rms).max().orElseThrow();
        for (Map.Entry<String, INDArray> e : truth.entrySet()) {
            String name = e.getKey();
            INDArray t = e.getValue();
            INDArray f = fast.get(name).castTo(DataType.DOUBLE);
            if (rms(t) < 1e-12 * scale) {
                assertTrue(rms(f) <= 1e-6 * scale, at + "dL/d" + name + " is zero by construction, " + fastName
                        + "'s RMS " + rms(f) + " (expected: round-off, <= 1e-6 x " + scale + "; seed "
                        + TestSeed.BASE + ")");
                continue;
            }
            double norm = t.norm2Number().doubleValue();
            double refErr = ref.get(name).castTo(DataType.DOUBLE).sub(t).norm2Number().doubleValue() / norm;
            double fastErr = f.sub(t).norm2Number().doubleValue() / norm;
            assertTrue(fastErr <= 4 * refErr + floor, at + "dL/d" + name + ": " + fastName + "'s relative error "
                    + fastErr + " vs " + refName + " float32's " + refErr + " (float64 reference; seed "
                    + TestSeed.BASE + ")");
        }
    }

    static double rms(INDArray a) {
        return a.norm2Number().doubleValue() / Math.sqrt(a.length());
    }
}
