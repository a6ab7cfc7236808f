package org.plsc4j.elastic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CPU path never loads a CUDA class: {@link CpuPathProbe} runs in a forked JVM that logs every class
 * it loads ({@code -Xlog:class+load}); none may come from ND4J's CUDA backend, JavaCPP's CUDA/NCCL
 * bindings or the NCCL collective's implementation. Meaningful in both builds: in the default one it
 * guards against a CUDA dependency creeping in, in a -Pcuda build (gpu-check runs it) the CUDA jars are
 * on the class path and must stay untouched.
 */
class CpuPathLoadsNoCudaClassTest {

    static final List<String> CUDA_PACKAGES = List.of("org.nd4j.linalg.jcublas.", "org.nd4j.jita.", "org.bytedeco.cuda.",
            "org.plsc4j.nccl.internal.");

    @Test
    void cpuWorkerPathLoadsNoCudaClass(@TempDir Path tmp) throws Exception {
        Path log = tmp.resolve("classes.log");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx1g", "-Xlog:class+load=info:file=" + log, "-cp", System.getProperty("java.class.path"),
                CpuPathProbe.class.getName()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("OMP_NUM_THREADS", "1");
        Process p = pb.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "probe did not finish");
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("engine=FUSED"), out);
        List<String> loaded = Files.readAllLines(log, StandardCharsets.UTF_8);
        // the log works: the CPU backend and the FC step are in it
        assertTrue(loaded.stream().anyMatch(l -> l.contains(" org.nd4j.linalg.cpu.nativecpu.CpuBackend ")), "no CpuBackend in the log");
        assertTrue(loaded.stream().anyMatch(l -> l.contains(" org.plsc4j.core.PartialFc ")), "no PartialFc in the log");
        List<String> cuda = loaded.stream().filter(l -> CUDA_PACKAGES.stream().anyMatch(l::contains)).toList();
        assertEquals(List.of(), cuda, "CUDA classes loaded on the CPU path");
    }
}
