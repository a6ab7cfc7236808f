package org.plsc4j.nccl;

import org.plsc4j.core.Device;
import org.plsc4j.core.FcEngine;
import org.plsc4j.core.GpuProbe;
import org.plsc4j.core.collective.Collective;
import org.plsc4j.core.collective.CollectiveConfig;
import org.plsc4j.core.collective.CollectiveProvider;

/**
 * The "nccl" backend: ranks on GPUs exchange device buffers with NCCL on ND4J's CUDA stream.
 *
 * <p>Why this class touches no CUDA class: {@link java.util.ServiceLoader} instantiates every provider
 * on the class path whenever any backend is looked up, including on CPU workers of a -Pcuda build; only
 * {@link #join} (and {@link #isAvailable}, asked only when "nccl" is requested) reach the CUDA code.
 */
public final class NcclCollectiveProvider implements CollectiveProvider {

    /** Name used in configs and by CUDA workers. */
    public static final String NAME = "nccl";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public boolean isAvailable() {
        return unavailableReason().isEmpty();
    }

    @Override
    public String unavailableReason() {
        if (GpuProbe.system().gpus().isEmpty()) {
            return "no NVIDIA GPU found on this machine (expected: " + Device.SUPPORTED + ")";
        }
        try {
            if (!FcEngine.isCudaBackend()) {
                return "ND4J runs on its CPU backend (expected: the CUDA backend of a -Pcuda build)";
            }
        } catch (RuntimeException | LinkageError e) {
            return "ND4J's CUDA backend cannot start: " + e;
        }
        return "";
    }

    @Override
    public Collective join(CollectiveConfig config) {
        return org.plsc4j.nccl.internal.NcclCollective.join(config);
    }
}
