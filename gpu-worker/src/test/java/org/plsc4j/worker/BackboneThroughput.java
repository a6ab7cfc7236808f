package org.plsc4j.worker;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Not a test: measures backbone throughput (images/s). Run with the test class path:
 * {@code java ... org.plsc4j.worker.BackboneThroughput MODEL SIZE BATCH STEPS train|trainfwd|infer}.
 */
public final class BackboneThroughput {

    private BackboneThroughput() {
    }

    /** Prints images/s per timed step and the median. */
    public static void main(String[] args) {
        String model = args[0];
        int size = Integer.parseInt(args[1]);
        int batch = Integer.parseInt(args[2]);
        int steps = Integer.parseInt(args[3]);
        boolean train = args[4].equals("train");
        boolean trainForwardOnly = args[4].equals("trainfwd");
        long t0 = System.nanoTime();
        Backbone bb = Backbones.create(model, BackboneConfig.of(512, 3, size, size, 1));
        System.out.printf("%s build %.2f s, %d parameter tensors%n", model, (System.nanoTime() - t0) / 1e9,
                bb.parameters().size());
        SplittableRandom rng = new SplittableRandom(1);
        INDArray x = Tensors.gaussian(rng, DataType.FLOAT, 1.0, batch, 3, size, size);
        INDArray g = Tensors.gaussian(rng, DataType.FLOAT, 1.0 / batch, batch, 512);
        double[] rates = new double[steps];
        for (int s = -2; s < steps; s++) {
            long t = System.nanoTime();
            if (train) {
                bb.forward(x, true);
                long tb = System.nanoTime();
                bb.backward(g);
                System.out.printf("  forward %.3f s, backward %.3f s%n", (tb - t) / 1e9, (System.nanoTime() - tb) / 1e9);
            } else {
                bb.forward(x, trainForwardOnly);
            }
            double sec = (System.nanoTime() - t) / 1e9;
            System.out.printf("step %d: %.3f s, %.1f images/s%n", s, sec, batch / sec);
            if (s >= 0) {
                rates[s] = batch / sec;
            }
        }
        Arrays.sort(rates);
        System.out.printf("RESULT %s %s %dx3x%dx%d: median %.1f images/s%n", model, train ? "fwd+bwd" : trainForwardOnly ? "train-mode forward" : "inference forward",
                batch, size, size, rates[steps / 2]);
    }
}
