package org.plsc4j.bench;

import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The baseline of {@code bench fc}: the same classification layer as a plain DL4J
 * {@code OutputLayer} (softmax + MCXENT, no margin, no sharding, no sampling) trained with momentum
 * SGD (Nesterov, μ = 0.9). DL4J is a dependency of the bench module only.
 */
final class Dl4jBaseline {

    private static final Logger LOG = LoggerFactory.getLogger(Dl4jBaseline.class);

    /** Timings of the baseline. */
    record Result(double[] stepMs) {
    }

    private Dl4jBaseline() {
    }

    /**
     * Builds the layer, fits once untimed, then times {@code steps} fits on the same minibatch.
     *
     * @param features [B, D] row-major
     * @param labels B class ids in [0, classes)
     */
    static Result run(float[] features, int[] labels, int classes, int emb, double lr, long seed, int steps) {
        return run(features, labels, classes, emb, lr, seed, steps, DataType.FLOAT);
    }

    /**
     * {@link #run(float[], int[], int, int, double, long, int)} with the network's parameters, updater
     * state and activations in {@code dtype} (DL4J trains HALF networks too: {@code bench capacity}
     * compares plsc4j's float16 storage against DL4J's HALF, like for like).
     */
    static Result run(float[] features, int[] labels, int classes, int emb, double lr, long seed, int steps,
                      DataType dtype) {
        int batch = labels.length;
        long t0 = System.nanoTime();
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder()
                .seed(seed)
                .dataType(dtype)
                .updater(new Nesterovs(lr, 0.9))
                .weightInit(WeightInit.XAVIER)
                .list()
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT)
                        .activation(Activation.SOFTMAX)
                        .nIn(emb)
                        .nOut(classes)
                        .build())
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        INDArray x = Nd4j.create(features, new long[] {batch, emb}, 'c').castTo(dtype);
        INDArray y = Nd4j.zeros(dtype, batch, classes);
        for (int i = 0; i < batch; i++) {
            y.putScalar(i, labels[i], 1.0);
        }
        LOG.info("dl4j: OutputLayer {} x {} ({}) initialised in {} ms", emb, classes, dtype,
                Math.round(Stats.ms(t0, System.nanoTime())));
        try {
            long w0 = System.nanoTime();
            net.fit(x, y);
            LOG.info("dl4j: warm-up fit {} ms, score {}", Math.round(Stats.ms(w0, System.nanoTime())), net.score());
            double[] ms = new double[steps];
            for (int s = 0; s < steps; s++) {
                long s0 = System.nanoTime();
                net.fit(x, y);
                ms[s] = Stats.ms(s0, System.nanoTime());
                LOG.info("dl4j: fit {}/{} {} ms, score {}", s + 1, steps, Math.round(ms[s]), net.score());
            }
            return new Result(ms);
        } finally {
            Sgemm.close(x);
            Sgemm.close(y);
            net.close();
        }
    }
}
