package org.plsc4j.core.collective;

/** Element-wise reductions a {@link Collective} can apply; MAX exists for the stable distributed softmax. */
public enum ReduceOp {
    SUM,
    MAX;

    /** Combines two float values with this operation. */
    public float apply(float a, float b) {
        return this == SUM ? a + b : Math.max(a, b);
    }

    /** Combines two int values with this operation. */
    public int apply(int a, int b) {
        return this == SUM ? a + b : Math.max(a, b);
    }
}
