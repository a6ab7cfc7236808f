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
     * Builds the layer, fits once untimed, then times {@code steps} fits on the same minibatch (the
     * layer run alone; {@code bench fc} alternates {@link Session#fit} with plsc4j's steps instead).
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
        try (Session session = Session.open(features, labels, classes, emb, lr, seed, dtype)) {
            session.fit();
            double[] ms = new double[steps];
            for (int s = 0; s < steps; s++) {
                ms[s] = session.fit();
            }
            return new Result(ms);
        }
    }

    /** The layer and its minibatch, fitted one call at a time. */
    static final class Session implements AutoCloseable {
        private final MultiLayerNetwork net;
        private final INDArray x;
        private final INDArray y;
        private int fits;

        private Session(MultiLayerNetwork net, INDArray x, INDArray y) {
            this.net = net;
            this.x = x;
            this.y = y;
        }

        /** Builds and initialises the layer (Xavier, seeded) and the one-hot minibatch, in float32. */
        static Session open(float[] features, int[] labels, int classes, int emb, double lr, long seed) {
            return open(features, labels, classes, emb, lr, seed, DataType.FLOAT);
        }

        /** {@link #open(float[], int[], int, int, double, long)} with parameters and activations in {@code dtype}. */
        static Session open(float[] features, int[] labels, int classes, int emb, double lr, long seed,
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
            return new Session(net, x, y);
        }

        /** One fit on the minibatch; returns its milliseconds. */
        double fit() {
            long s0 = System.nanoTime();
            net.fit(x, y);
            double ms = Stats.ms(s0, System.nanoTime());
            LOG.info("dl4j: fit {} {} ms, score {}", ++fits, Math.round(ms), net.score());
            return ms;
        }

        @Override
        public void close() {
            Sgemm.close(x);
            Sgemm.close(y);
            net.close();
        }
    }
}
