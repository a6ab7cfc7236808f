package org.plsc4j.worker.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.plsc4j.core.collective.ReduceOp;
import org.plsc4j.worker.TcpRendezvous;

/**
 * Three separate JVMs (one rank each) join through a {@link TcpRendezvous.Server} hosted by the
 * test and run collectives; the results they write are compared with values computed here.
 */
class MultiProcessCollectiveTest {

    private static final int WORLD = 3;

    @Test
    void threeProcessesAgree(@TempDir Path dir) throws Exception {
        long seed = Long.getLong("plsc4j.seed", System.nanoTime());
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<Process> processes = new ArrayList<>();
        try (TcpRendezvous.Server server = TcpRendezvous.Server.start("127.0.0.1", 0, "mp-job", "mp-token")) {
            for (int r = 0; r < WORLD; r++) {
                List<String> cmd = List.of(javaBin, "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                        "-Dio.netty.native.detectNativeLibraryDuplicates=false",
                        "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED", "--add-opens=java.base/java.nio=ALL-UNNAMED",
                        "-cp", System.getProperty("java.class.path"), CollectiveWorkerMain.class.getName(),
                        server.address(), "mp-job", "mp-token", String.valueOf(r), String.valueOf(WORLD),
                        String.valueOf(seed), dir.resolve("rank" + r + ".bin").toString());
                processes.add(new ProcessBuilder(cmd).redirectErrorStream(true)
                        .redirectOutput(dir.resolve("rank" + r + ".log").toFile()).start());
            }
            for (int r = 0; r < WORLD; r++) {
                Process p = processes.get(r);
                boolean exited = p.waitFor(90, TimeUnit.SECONDS);
                assertTrue(exited, "rank " + r + " did not finish within 90 s; log:\n" + log(dir, r));
                assertEquals(0, p.exitValue(), "rank " + r + " failed; log:\n" + log(dir, r));
            }
        } finally {
            for (Process p : processes) {
                p.destroyForcibly();
            }
            for (Process p : processes) {
                p.waitFor(10, TimeUnit.SECONDS);
            }
        }

        int g = CollectiveWorkerMain.GATHER;
        float[] gathered = new float[g * WORLD];
        float[] sum = new float[CollectiveWorkerMain.REDUCE];
        float[] max = new float[CollectiveWorkerMain.SCATTER * WORLD];
        int[] labels = new int[CollectiveWorkerMain.LABELS];
        for (int r = 0; r < WORLD; r++) {
            System.arraycopy(CollectiveWorkerMain.floats(seed, "gather", r, g), 0, gathered, r * g, g);
            float[] s = CollectiveWorkerMain.floats(seed, "reduce", r, sum.length);
            float[] m = CollectiveWorkerMain.floats(seed, "scatter", r, max.length);
            int[] l = CollectiveWorkerMain.ints(seed, "labels", r, labels.length);
            for (int i = 0; i < sum.length; i++) {
                sum[i] = r == 0 ? s[i] : sum[i] + s[i];
            }
            for (int i = 0; i < max.length; i++) {
                max[i] = r == 0 ? m[i] : ReduceOp.MAX.apply(max[i], m[i]);
            }
            for (int i = 0; i < labels.length; i++) {
                labels[i] += l[i];
            }
        }
        for (int r = 0; r < WORLD; r++) {
            try (DataInputStream in = new DataInputStream(new BufferedInputStream(
                    Files.newInputStream(dir.resolve("rank" + r + ".bin"))))) {
                String ctx = "rank " + r + " (seed " + seed + ")";
                assertArrayEquals(gathered, readFloats(in), "allGather of " + ctx);
                assertArrayEquals(sum, readFloats(in), "allReduce of " + ctx);
                int n = CollectiveWorkerMain.SCATTER;
                assertArrayEquals(java.util.Arrays.copyOfRange(max, r * n, (r + 1) * n), readFloats(in),
                        "reduceScatter of " + ctx);
                int[] got = new int[in.readInt()];
                for (int i = 0; i < got.length; i++) {
                    got[i] = in.readInt();
                }
                assertArrayEquals(labels, got, "int allReduce of " + ctx);
            }
        }
    }

    private static float[] readFloats(DataInputStream in) throws IOException {
        float[] out = new float[in.readInt()];
        for (int i = 0; i < out.length; i++) {
            out[i] = in.readFloat();
        }
        return out;
    }

    private static String log(Path dir, int rank) {
        try {
            return Files.readString(dir.resolve("rank" + rank + ".log"));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }
}
