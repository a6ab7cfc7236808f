package org.plsc4j.worker;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Runs an ONNX model with ONNX Runtime (CPU), the independent runtime the exports are checked against. */
final class OrtRun {

    private OrtRun() {
    }

    /** The output {@code embedding} of {@code onnx} for {@code images} [b, C, H, W] (fed as float32). */
    static float[][] embed(byte[] onnx, INDArray images) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(1);
            try (OrtSession session = env.createSession(onnx, opts)) {
                float[] data = images.castTo(DataType.FLOAT).dup('c').data().asFloat();
                try (OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(data), images.shape());
                     OrtSession.Result r = session.run(Map.of("input", x))) {
                    return (float[][]) r.get("embedding").orElseThrow().getValue();
                }
            }
        }
    }

    /** Rows scaled to unit L2 norm, in double. */
    static double[][] l2(float[][] rows) {
        double[][] out = new double[rows.length][];
        for (int i = 0; i < rows.length; i++) {
            double s = 0;
            for (float v : rows[i]) {
                s += (double) v * v;
            }
            double n = Math.sqrt(s);
            out[i] = new double[rows[i].length];
            for (int j = 0; j < rows[i].length; j++) {
                out[i][j] = rows[i][j] / n;
            }
        }
        return out;
    }

    /** max |a − b| over all entries after L2-normalising the rows of both. */
    static double maxL2Diff(float[][] a, float[][] b) {
        if (a.length != b.length || a[0].length != b[0].length) {
            throw new AssertionError("shape " + b.length + "x" + b[0].length + " (expected " + a.length + "x"
                    + a[0].length + ")");
        }
        double[][] x = l2(a);
        double[][] y = l2(b);
        double worst = 0;
        for (int i = 0; i < x.length; i++) {
            for (int j = 0; j < x[i].length; j++) {
                double d = Math.abs(x[i][j] - y[i][j]);
                worst = Double.isNaN(d) ? Double.POSITIVE_INFINITY : Math.max(worst, d);
            }
        }
        return worst;
    }
}
