package org.plsc4j.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.core.NativeBuild;

/** The build NativeBuild selects is the one ND4J loads, here (surefire) and in a forked JVM told to fall back. */
class NativeBuildLoadTest {

    @Test
    void thisTestJvmRunsTheSelectedBuild() {
        INDArray a = Nd4j.linspace(DataType.FLOAT, 1, 6, 1).reshape(2, 3);
        assertEquals(77.0, a.mmul(a.transpose()).getDouble(1, 1), 1e-4);
        NativeBuild expected = NativeBuild.choose(NativeBuild.cpuFlags(), NativeBuild::shipped,
                System.getenv(NativeBuild.ENV));
        assertEquals(expected, NativeBuild.select());
        assertEquals(expected, NativeBuild.loaded());
    }

    @Test
    void forkedJvmFallsBackToGenericWhenTold() throws Exception {
        String out = fork("generic");
        assertTrue(out.contains("loaded=generic selected=generic product=77.0"), out);
    }

    private static String fork(String build) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx256m");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(Probe.class.getName());
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put(NativeBuild.ENV, build);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "probe did not finish: " + out);
        assertEquals(0, p.exitValue(), out);
        return out;
    }

    /** The forked JVM: selects, runs one op, reports what it mapped. */
    public static final class Probe {
        public static void main(String[] args) {
            NativeBuild selected = NativeBuild.select();
            INDArray a = Nd4j.linspace(DataType.FLOAT, 1, 6, 1).reshape(2, 3);
            double v = a.mmul(a.transpose()).getDouble(1, 1);
            NativeBuild loaded = NativeBuild.loaded();
            assertNotNull(loaded, "no libnd4jcpu.so mapped");
            System.out.println("loaded=" + loaded + " selected=" + selected + " product=" + v);
        }
    }
}
