package org.plsc4j.checkpoint;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.core.ClassLayout;

/**
 * Generates the committed fixture {@code src/test/resources/fixtures/format-1/3}: 10 classes × 4 dims
 * over 3 ranks (balanced), w[c][d] = c + d/8, momentum = −w (exact in float32), a small backbone and an
 * optimizer group, also defined by formulas. Tests read the committed files, so a change of the
 * writer that would stop old checkpoints from loading is caught; {@code FixtureTest} also checks that
 * this generator still produces the same data files.
 *
 * <p>To create a fixture for a new format version (never overwrite format-1):
 * {@code java -cp <test class path> org.plsc4j.checkpoint.FixtureGenerator <dir>}.
 */
final class FixtureGenerator {

    static final int CLASSES = 10;
    static final int EMB = 4;
    static final int RANKS = 3;
    static final int EPOCH = 3;
    static final long STEP = 120;

    private FixtureGenerator() {
    }

    public static void main(String[] args) throws IOException {
        System.out.println(generate(Path.of(args[0])));
    }

    static float weight(int c, int d) {
        return (float) (c + d / 8.0);
    }

    static Map<String, INDArray> backbone() {
        Map<String, INDArray> b = new LinkedHashMap<>();
        b.put("conv1/weight", Nd4j.create(new float[] {-1f, -0.5f, 0f, 0.5f, 1f, 1.5f}, new long[] {2, 3}, 'c'));
        b.put("bn1.running_mean", Nd4j.create(new double[] {-1.0, -0.875, -0.75}, new long[] {3}, 'c'));
        b.put("bn1.num_batches_tracked", Nd4j.createFromArray(new long[] {12_345_678_901L}));
        b.put("head.scale", Nd4j.create(new float[] {0.5f, -1.25f}, new long[] {2}, 'c').castTo(DataType.FLOAT16));
        return b;
    }

    static Map<String, INDArray> optimizer() {
        return Map.of("conv1/weight.momentum",
                Nd4j.create(new float[] {1f, 0.5f, -0f, -0.5f, -1f, -1.5f}, new long[] {2, 3}, 'c'));
    }

    /** Writes the fixture checkpoint as {@code <modelSaveDir>/3} with one writer per rank; returns it. */
    static Path generate(Path modelSaveDir) throws IOException {
        ClassLayout layout = ClassLayout.balanced(CLASSES, RANKS);
        CheckpointWriter rank0 = null;
        for (int r = 0; r < RANKS; r++) {
            CheckpointWriter w = CheckpointWriter.open(modelSaveDir, Integer.toString(EPOCH), "fixture");
            int n = layout.size(r);
            float[] wv = new float[n * EMB];
            float[] mv = new float[n * EMB];
            for (int j = 0; j < n; j++) {
                for (int d = 0; d < EMB; d++) {
                    wv[j * EMB + d] = weight(layout.start(r) + j, d);
                    mv[j * EMB + d] = -weight(layout.start(r) + j, d);
                }
            }
            w.writeFcShard(r, layout.start(r), layout.end(r), Nd4j.create(wv, new long[] {n, EMB}, 'c'),
                    Nd4j.create(mv, new long[] {n, EMB}, 'c'));
            if (r == 0) {
                rank0 = w;
            }
        }
        rank0.writeBackbone(backbone());
        rank0.writeArrays("optimizer", optimizer());
        ObjectNode config = JsonNodeFactory.instance.objectNode();
        config.put("num_classes", CLASSES).put("emb_size", EMB).put("lr", 0.1).put("sample_ratio", 1.0);
        config.putObject("margin").put("m1", 1.0).put("m2", 0.5).put("m3", 0.0).put("s", 64.0);
        ObjectNode extra = JsonNodeFactory.instance.objectNode();
        extra.put("optimizer_state", "optimizer");
        return rank0.commit(new ManifestInfo(CLASSES, EMB, RANKS, ClassLayout.Kind.BALANCED, STEP, EPOCH, config, extra));
    }
}
