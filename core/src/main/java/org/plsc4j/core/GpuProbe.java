package org.plsc4j.core;

import java.util.List;
import org.plsc4j.core.internal.SystemGpuProbe;

/**
 * Lists the machine's NVIDIA GPUs without loading CUDA: from {@code nvidia-smi} when it is installed
 * (names and compute capabilities), else from the driver's {@code /proc/driver/nvidia/gpus} (names only).
 *
 * <p>Why an interface: {@link Device#check} is tested with fake machines (none, one Hopper, two Amperes).
 */
public interface GpuProbe {

    /**
     * One GPU.
     *
     * @param index its index as CUDA numbers it
     * @param name e.g. "NVIDIA A100-SXM4-40GB"
     * @param computeCapability major·10 + minor (86 for 8.6), or −1 when unknown
     */
    record Gpu(int index, String name, int computeCapability) {
    }

    /** The GPUs, by index; empty when there is none (or no driver). Never throws. */
    List<Gpu> gpus();

    /** The probe of this machine. */
    static GpuProbe system() {
        return new SystemGpuProbe();
    }
}
