package org.plsc4j.core;

import java.util.List;
import java.util.Locale;

/**
 * The device a worker computes on: {@code cpu} or {@code cuda:K} (GPU K of the machine).
 *
 * <p>Why checked before anything starts: asking ND4J for CUDA on a machine without it ends in an
 * {@code UnsatisfiedLinkError} deep inside class initialisation, and on a GPU the CUDA 11.6 backend has
 * no code for (compute capability above 8.6, e.g. Hopper) in a kernel launch failure much later.
 * {@link #check} turns both into one sentence naming the device and what is supported, without loading a
 * CUDA class (it reads the driver's files or {@code nvidia-smi}, see {@link GpuProbe}).
 *
 * @param kind "cpu" or "cuda"
 * @param index the GPU index for cuda (0 for cpu)
 */
public record Device(String kind, int index) {

    /** The CPU. */
    public static final Device CPU = new Device("cpu", 0);

    /** Lowest compute capability ND4J 1.0.0-M2.1's CUDA 11.6 backend has code for (sm_37), times 10. */
    public static final int MIN_COMPUTE_CAPABILITY = 37;

    /** Highest compute capability it has code for (sm_86; no PTX, so nothing newer runs), times 10. */
    public static final int MAX_COMPUTE_CAPABILITY = 86;

    /** What the messages say is supported. */
    public static final String SUPPORTED = "a GPU with compute capability 3.7 to 8.6, e.g. V100, T4, A100, A10, RTX 30xx";

    /** Validates the fields. */
    public Device {
        if (!"cpu".equals(kind) && !"cuda".equals(kind)) {
            throw new IllegalArgumentException("device : " + kind + " (expected: cpu or cuda[:K])");
        }
        if (index < 0) {
            throw new IllegalArgumentException("device : " + kind + ":" + index + " (expected: an index >= 0)");
        }
    }

    /**
     * Parses {@code cpu}, {@code cuda} (GPU 0) or {@code cuda:K}.
     *
     * @throws IllegalArgumentException "device : VALUE (expected: cpu, cuda or cuda:K)"
     */
    public static Device parse(String value) {
        String v = value == null ? "" : value.strip().toLowerCase(Locale.ROOT);
        if (v.equals("cpu")) {
            return CPU;
        }
        if (v.equals("cuda") || v.equals("gpu")) {
            return new Device("cuda", 0);
        }
        if (v.startsWith("cuda:")) {
            try {
                int k = Integer.parseInt(v.substring(5));
                if (k >= 0) {
                    return new Device("cuda", k);
                }
            } catch (NumberFormatException e) {
                // falls through to the message
            }
        }
        throw new IllegalArgumentException("device : " + value + " (expected: cpu, cuda or cuda:K with K >= 0)");
    }

    /** Whether this is a GPU. */
    public boolean isCuda() {
        return kind.equals("cuda");
    }

    @Override
    public String toString() {
        return isCuda() ? "cuda:" + index : "cpu";
    }

    /**
     * Checks that this device can run here, with the machine's GPUs and this build's class path.
     *
     * @throws IllegalStateException with one sentence naming the device and what is supported
     */
    public void check() {
        check(GpuProbe.system(), cudaBackendInBuild());
    }

    /**
     * As {@link #check()} with the GPUs from {@code probe} and whether the build has the CUDA backend
     * (tests inject both).
     */
    public void check(GpuProbe probe, boolean cudaBackendInBuild) {
        if (!isCuda()) {
            return;
        }
        List<GpuProbe.Gpu> gpus = probe.gpus();
        if (gpus.isEmpty()) {
            throw new IllegalStateException("device " + this + " : no NVIDIA GPU found on this machine (expected: "
                    + SUPPORTED + ", and a build with -Pcuda)");
        }
        if (!cudaBackendInBuild) {
            throw new IllegalStateException("device " + this + " : this plsc4j was built without CUDA (expected: a build"
                    + " with mvn -Pcuda, see the README section GPU workers)");
        }
        if (index >= gpus.size()) {
            throw new IllegalStateException("device " + this + " : this machine has " + gpus.size() + " NVIDIA GPU"
                    + (gpus.size() == 1 ? "" : "s") + " (expected: cuda:0" + (gpus.size() == 1 ? "" : " to cuda:"
                    + (gpus.size() - 1)) + ")");
        }
        GpuProbe.Gpu g = gpus.get(index);
        int cc = g.computeCapability();
        if (cc >= 0 && (cc < MIN_COMPUTE_CAPABILITY || cc > MAX_COMPUTE_CAPABILITY)) {
            throw new IllegalStateException("device " + this + " : " + g.name() + " has compute capability " + cc / 10
                    + "." + cc % 10 + ", which the CUDA 11.6 backend of ND4J 1.0.0-M2.1 cannot run (expected: "
                    + SUPPORTED + ")");
        }
    }

    /**
     * Whether ND4J's CUDA backend is on the class path (a -Pcuda build), found as a resource: no class
     * of it is loaded.
     */
    public static boolean cudaBackendInBuild() {
        ClassLoader cl = Device.class.getClassLoader();
        return cl != null && cl.getResource("org/nd4j/linalg/jcublas/JCublasBackend.class") != null;
    }
}
