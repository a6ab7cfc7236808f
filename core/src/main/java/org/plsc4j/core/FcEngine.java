package org.plsc4j.core;

import java.util.Locale;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Which implementation of the FC step a {@link PartialFc} runs: both have the same contract (loss,
 * gradients, updated rows and momentum equal to float tolerance) and differ only in where the work is.
 *
 * <p>Why two: the fused step ({@link #FUSED}) streams chunks of logits through Java loops on host memory,
 * which is the fastest way on a CPU but on a GPU would copy every chunk to the host and back; the
 * ops-only step ({@link #OPS}) is made of ND4J operations only (gemm, broadcasts, exp, reductions, a
 * gather and a scatter of the sampled rows), so on the CUDA backend everything stays on the device.
 * {@link #AUTO} picks {@link #OPS} when ND4J's backend is CUDA and {@link #FUSED} otherwise; the system
 * property {@value #PROPERTY} ({@code fused}, {@code ops} or {@code auto}) overrides it for tests and
 * benchmarks.
 */
public enum FcEngine {
    /** {@link #OPS} on a CUDA backend, {@link #FUSED} elsewhere (unless {@value #PROPERTY} says otherwise). */
    AUTO,
    /** The chunked step with Java loops over host memory (CPU). */
    FUSED,
    /** The step written with ND4J operations only (device-agnostic; the GPU path). */
    OPS;

    /** System property that overrides {@link #AUTO}: {@code fused}, {@code ops} or {@code auto}. */
    public static final String PROPERTY = "plsc4j.fc_engine";

    /**
     * The engine {@code AUTO} stands for here: the system property if set, else by ND4J's backend
     * (the backend's class name is read; no backend class is loaded that is not already in use).
     *
     * @throws IllegalArgumentException naming the property and its value when it is not a known engine
     */
    public FcEngine resolve() {
        if (this != AUTO) {
            return this;
        }
        String v = System.getProperty(PROPERTY);
        if (v != null && !v.isBlank()) {
            FcEngine e = parse(v, PROPERTY);
            if (e != AUTO) {
                return e;
            }
        }
        return isCudaBackend() ? OPS : FUSED;
    }

    /**
     * Parses {@code fused}, {@code ops} or {@code auto} (any case).
     *
     * @param field what to name in the error (a YAML key, an option or a property)
     * @throws IllegalArgumentException "field : value (expected: one of auto, fused, ops)"
     */
    public static FcEngine parse(String value, String field) {
        try {
            return valueOf(value.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(field + " : " + value + " (expected: one of auto, fused, ops)", e);
        }
    }

    /** Whether ND4J's backend in this JVM is the CUDA one. */
    public static boolean isCudaBackend() {
        return Nd4j.getBackend().getClass().getName().toLowerCase(Locale.ROOT).contains("cublas");
    }
}
