package org.plsc4j.core.internal;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastMulOp;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Row/column sums and column scaling of row-major float matrices done the fast way on ND4J M2.1's
 * CPU backend: sums as products with a ones vector (BLAS), column scaling through a broadcast over
 * dimension 1. Measured on the FC chunk shapes, the plain {@code sum(0)}/{@code sum(1)} and
 * dimension-0 broadcasts were 2–30× slower.
 */
public final class Dense {

    private static final ThreadLocal<INDArray> ONES = ThreadLocal.withInitial(() -> Nd4j.ones(DataType.FLOAT, 1, 1));

    private Dense() {
    }

    private static INDArray ones(int n) {
        INDArray o = ONES.get();
        if (o.length() < n) {
            o = Nd4j.ones(DataType.FLOAT, Math.max(n, 2 * o.length()), 1);
            ONES.set(o);
        }
        return o;
    }

    /** Σ_j m[i][j] for every row i of a [rows, cols] matrix. */
    public static float[] rowSums(INDArray m) {
        INDArray out = Nd4j.createUninitialized(DataType.FLOAT, m.rows(), 1);
        INDArray ones = ones(m.columns()).reshape(-1, 1);
        Nd4j.gemm(m, ones.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, m.columns()),
                org.nd4j.linalg.indexing.NDArrayIndex.all()), out, false, false, 1.0, 0.0);
        return out.toFloatVector();
    }

    /** Σ_i m[i][j] for every column j of a [rows, cols] matrix. */
    public static float[] columnSums(INDArray m) {
        INDArray out = Nd4j.createUninitialized(DataType.FLOAT, 1, m.columns());
        INDArray ones = ones(m.rows()).get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, m.rows()),
                org.nd4j.linalg.indexing.NDArrayIndex.all());
        Nd4j.gemm(ones, m, out, true, false, 1.0, 0.0);
        return out.toFloatVector();
    }

    /** m[i][j] *= f[j], in place. */
    public static void scaleColumns(INDArray m, INDArray f) {
        Nd4j.getExecutioner().exec(new BroadcastMulOp(m, f, m, 1));
    }
}
