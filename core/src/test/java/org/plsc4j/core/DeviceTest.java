package org.plsc4j.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.plsc4j.core.internal.SystemGpuProbe;

/** Device names and the start-up check with fake machines: one sentence naming the device and what runs. */
class DeviceTest {

    private static GpuProbe machine(GpuProbe.Gpu... gpus) {
        return () -> List.of(gpus);
    }

    private static String failure(String device, GpuProbe probe, boolean cudaBuild) {
        return assertThrows(IllegalStateException.class, () -> Device.parse(device).check(probe, cudaBuild))
                .getMessage();
    }

    @Test
    void parsesCpuAndCudaAndRejectsTheRestNamingTheValue() {
        assertEquals(Device.CPU, Device.parse("cpu"));
        assertEquals(new Device("cuda", 0), Device.parse("cuda"));
        assertEquals(new Device("cuda", 3), Device.parse(" CUDA:3 "));
        assertEquals("cuda:3", Device.parse("cuda:3").toString());
        for (String bad : List.of("tpu", "cuda:-1", "cuda:x", "")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Device.parse(bad));
            assertEquals("device : " + bad + " (expected: cpu, cuda or cuda:K with K >= 0)", e.getMessage());
        }
    }

    @Test
    void cudaWithoutAGpuOrWithoutTheBackendFailsWithOneSentence() {
        assertEquals("device cuda:0 : no NVIDIA GPU found on this machine (expected: " + Device.SUPPORTED
                + ", and a build with -Pcuda)", failure("cuda", machine(), true));
        GpuProbe a100 = machine(new GpuProbe.Gpu(0, "NVIDIA A100-SXM4-40GB", 80));
        assertEquals("device cuda:0 : this plsc4j was built without CUDA (expected: a build with mvn -Pcuda, see the"
                + " README section GPU workers)", failure("cuda:0", a100, false));
        assertEquals("device cuda:1 : this machine has 1 NVIDIA GPU (expected: cuda:0)", failure("cuda:1", a100, true));
        Device.parse("cuda:0").check(a100, true); // supported: no exception
        Device.CPU.check(machine(), false); // the CPU needs nothing
    }

    @Test
    void gpusTheBackendCannotRunAreNamedWithTheirComputeCapability() {
        GpuProbe mixed = machine(new GpuProbe.Gpu(0, "NVIDIA GeForce RTX 3090", 86),
                new GpuProbe.Gpu(1, "NVIDIA H100 80GB HBM3", 90), new GpuProbe.Gpu(2, "Tesla K20m", 35));
        Device.parse("cuda:0").check(mixed, true);
        assertEquals("device cuda:1 : NVIDIA H100 80GB HBM3 has compute capability 9.0, which the CUDA 11.6 backend"
                + " of ND4J 1.0.0-M2.1 cannot run (expected: " + Device.SUPPORTED + ")", failure("cuda:1", mixed, true));
        assertEquals("device cuda:2 : Tesla K20m has compute capability 3.5, which the CUDA 11.6 backend"
                + " of ND4J 1.0.0-M2.1 cannot run (expected: " + Device.SUPPORTED + ")", failure("cuda:2", mixed, true));
        assertEquals("device cuda:5 : this machine has 3 NVIDIA GPUs (expected: cuda:0 to cuda:2)",
                failure("cuda:5", mixed, true));
    }

    @Test
    void systemProbeReadsNvidiaSmiOrTheDriverDirectory(@TempDir Path tmp) throws Exception {
        assertEquals(List.of(new GpuProbe.Gpu(0, "NVIDIA A100-SXM4-40GB", 80), new GpuProbe.Gpu(1, "NVIDIA H100 PCIe", 90)),
                SystemGpuProbe.parseSmi("0, NVIDIA A100-SXM4-40GB, 8.0\n1, NVIDIA H100 PCIe, 9.0\n"));
        // no nvidia-smi: the driver's directory gives names, capability unknown
        Path proc = tmp.resolve("gpus");
        Files.createDirectories(proc.resolve("0000:3b:00.0"));
        Files.writeString(proc.resolve("0000:3b:00.0").resolve("information"), "Model: \t\t Tesla V100-SXM2-16GB\nIRQ: 1\n");
        List<String> noSmi = List.of(tmp.resolve("no-such-nvidia-smi").toString());
        assertEquals(List.of(new GpuProbe.Gpu(0, "Tesla V100-SXM2-16GB", -1)), new SystemGpuProbe(proc, noSmi).gpus());
        assertEquals(List.of(), new SystemGpuProbe(tmp.resolve("none"), noSmi).gpus());
        // this machine (CI included) has no GPU and the default build has no CUDA backend
        assertEquals(false, Device.cudaBackendInBuild());
    }
}
