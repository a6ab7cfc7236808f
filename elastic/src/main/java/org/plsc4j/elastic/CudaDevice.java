package org.plsc4j.elastic;

import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.core.Device;
import org.plsc4j.core.FcEngine;

/**
 * Puts this process on a GPU: after {@link Device#check()} passed, ND4J must actually have started its
 * CUDA backend (a -Pcuda build whose natives load), and the thread's device becomes GPU K.
 *
 * <p>Why here and only for CUDA devices: the CPU path must never touch a CUDA class; this class refers
 * to none (ND4J's affinity manager is backend-neutral) and is only reached for {@code cuda:K}.
 */
public final class CudaDevice {

    private CudaDevice() {
    }

    /**
     * Selects {@code device} for ND4J in this process.
     *
     * @throws IllegalStateException naming the device when ND4J runs on another backend
     */
    public static void select(Device device) {
        if (!FcEngine.isCudaBackend()) {
            throw new IllegalStateException("device " + device + " : ND4J started its "
                    + Nd4j.getBackend().getClass().getSimpleName() + " instead of CUDA (expected: " + Device.SUPPORTED
                    + ", a CUDA 11.6 driver and a build with -Pcuda)");
        }
        Nd4j.getAffinityManager().unsafeSetDevice(device.index());
    }
}
