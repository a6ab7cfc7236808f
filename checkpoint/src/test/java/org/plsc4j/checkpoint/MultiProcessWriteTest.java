package org.plsc4j.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.plsc4j.core.ClassLayout;

/** The write protocol across processes: ranks 1..N-1 are separate JVMs, rank 0 (this JVM) commits after they exit. */
class MultiProcessWriteTest {

    private static final int WORLD = 3;
    private static final int CLASSES = 31;
    private static final int EMB = 6;

    @TempDir
    Path dir;

    @Test
    void ranksInSeparateProcessesProduceOneCheckpoint() throws Exception {
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<Process> children = new ArrayList<>();
        try {
            for (int r = 1; r < WORLD; r++) {
                List<String> cmd = List.of(javaBin, "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                        "-cp", System.getProperty("java.class.path"), ShardWriterMain.class.getName(),
                        dir.toString(), "1", "mp-job", String.valueOf(r), String.valueOf(WORLD),
                        String.valueOf(CLASSES), String.valueOf(EMB));
                ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                        .redirectOutput(dir.resolve("rank" + r + ".log").toFile());
                pb.environment().put("OMP_NUM_THREADS", "1");
                children.add(pb.start());
            }
            // rank 0 writes meanwhile, in this process
            ShardWriterMain.main(new String[] {dir.toString(), "1", "mp-job", "0", String.valueOf(WORLD),
                String.valueOf(CLASSES), String.valueOf(EMB)});
            for (int i = 0; i < children.size(); i++) { // the barrier
                Process p = children.get(i);
                assertTrue(p.waitFor(90, TimeUnit.SECONDS), "rank " + (i + 1) + " did not finish in 90 s");
                assertEquals(0, p.exitValue(), "rank " + (i + 1) + " failed:\n" + log(i + 1));
            }
        } finally {
            for (Process p : children) {
                p.destroyForcibly();
            }
        }
        assertFalse(Files.exists(dir.resolve("1")), "nothing visible before the commit");
        CheckpointWriter rank0 = CheckpointWriter.open(dir, "1", "mp-job");
        rank0.writeBackbone(Map.of());
        rank0.commit(new ManifestInfo(CLASSES, EMB, WORLD, ClassLayout.Kind.BALANCED, 5, 0, null, null));

        Checkpoint cp = Checkpoint.open(dir.resolve("1"));
        cp.verifyAll();
        assertEquals(2 * WORLD, cp.manifest().files().size());
        FcRows all = cp.readFcRows(0, CLASSES);
        for (int c = 0; c < CLASSES; c++) {
            for (int d = 0; d < EMB; d++) {
                double expected = c + d / 8.0;
                assertEquals(expected, all.weights().getFloat(c, d), "class " + c);
                assertEquals(-expected, all.momentum().getFloat(c, d), "class " + c);
            }
        }
        INDArray rank2 = cp.readFcWeights(ClassLayout.balanced(CLASSES, WORLD).start(2), CLASSES);
        assertEquals(all.weights().getFloat(CLASSES - 1, EMB - 1), rank2.getFloat(rank2.rows() - 1, EMB - 1));
    }

    private String log(int rank) {
        try {
            return Files.readString(dir.resolve("rank" + rank + ".log"), StandardCharsets.UTF_8);
        } catch (java.io.IOException e) {
            return "(no log: " + e + ")";
        }
    }
}
