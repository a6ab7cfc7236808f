package org.plsc4j.hdfs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.checkpoint.CheckpointWriter;
import org.plsc4j.checkpoint.ManifestInfo;
import org.plsc4j.core.ClassLayout;

/** Real checkpoints for tests, written the way a job writes them (one writer per rank, rank 0 commits). */
final class TestCheckpoints {

    private TestCheckpoints() {
    }

    /** Writes {@code <parent>/<epoch>} with {@code ranks} FC shards of seeded random rows [classes, emb]. */
    static Path write(Path parent, int epoch, int classes, int emb, int ranks, long seed) throws IOException {
        ClassLayout layout = ClassLayout.of(ClassLayout.Kind.BALANCED, classes, ranks);
        SplittableRandom rnd = new SplittableRandom(seed);
        CheckpointWriter rank0 = null;
        for (int r = ranks - 1; r >= 0; r--) {
            CheckpointWriter w = CheckpointWriter.open(parent, Integer.toString(epoch), "test-" + seed + "-" + epoch);
            int n = layout.end(r) - layout.start(r);
            w.writeFcShard(r, layout.start(r), layout.end(r), random(rnd, n, emb), random(rnd, n, emb));
            if (r == 0) {
                rank0 = w;
            }
        }
        rank0.writeBackbone(Map.of("fc1.weight", random(rnd, 4, emb), "fc1.bias", random(rnd, 1, emb)));
        rank0.writeArrays("optimizer", Map.of("velocity.fc1.weight", random(rnd, 4, emb)));
        return rank0.commit(new ManifestInfo(classes, emb, ranks, ClassLayout.Kind.BALANCED, 10L * (epoch + 1), epoch,
                null, null));
    }

    private static INDArray random(SplittableRandom rnd, int rows, int cols) {
        float[] v = new float[rows * cols];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) rnd.nextGaussian();
        }
        return Nd4j.create(v, new long[] {rows, cols}, 'c');
    }

    /** Relative path → bytes of every regular file under {@code dir}. */
    static Map<String, byte[]> files(Path dir) throws IOException {
        Map<String, byte[]> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                out.put(dir.relativize(p).toString().replace('\\', '/'), Files.readAllBytes(p));
            }
        }
        return out;
    }
}
