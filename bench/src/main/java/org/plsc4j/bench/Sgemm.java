package org.plsc4j.bench;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Measures ND4J's fp32 matrix-product rate on this machine: the yardstick of the roofline fraction,
 * since an FC step is three products plus passes over memory.
 */
final class Sgemm {

    private Sgemm() {
    }

    /**
     * GFLOP/s of {@code Nd4j.gemm} on n×n·n×n into a preallocated output (no allocation in the timed
     * region), median of {@code runs} after {@code warmup} untimed runs.
     */
    static double gflops(int n, int warmup, int runs, long seed) {
        Nd4j.getRandom().setSeed(seed);
        INDArray a = Nd4j.rand(DataType.FLOAT, n, n);
        INDArray b = Nd4j.rand(DataType.FLOAT, n, n);
        INDArray c = Nd4j.createUninitialized(DataType.FLOAT, n, n);
        try {
            for (int i = 0; i < warmup; i++) {
                Nd4j.gemm(a, b, c, false, false, 1.0, 0.0);
            }
            double[] seconds = new double[runs];
            for (int i = 0; i < runs; i++) {
                long t0 = System.nanoTime();
                Nd4j.gemm(a, b, c, false, false, 1.0, 0.0);
                seconds[i] = (System.nanoTime() - t0) / 1e9;
            }
            return 2.0 * n * n * n / Stats.median(seconds) / 1e9;
        } finally {
            close(a);
            close(b);
            close(c);
        }
    }

    static void close(INDArray x) {
        if (x != null && x.closeable()) {
            x.close();
        }
    }
}
