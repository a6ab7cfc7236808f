package org.plsc4j.checkpoint;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.core.ClassLayout;

/** Builds checkpoints for tests the way a job does: one writer per rank (as separate processes would), rank 0 commits. */
final class TestCheckpoints {

    private TestCheckpoints() {
    }

    /** A full FC layer [C, D] of seeded random floats (weights) and its momentum. */
    record Fc(INDArray weights, INDArray momentum) {
        static Fc random(int numClasses, int emb, long seed) {
            SplittableRandom rnd = new SplittableRandom(seed);
            float[] w = new float[numClasses * emb];
            float[] m = new float[w.length];
            for (int i = 0; i < w.length; i++) {
                w[i] = (float) rnd.nextGaussian();
                m[i] = (float) (rnd.nextGaussian() * 1e-3);
            }
            return new Fc(Nd4j.create(w, new long[] {numClasses, emb}, 'c'), Nd4j.create(m, new long[] {numClasses, emb}, 'c'));
        }

        /** Rows [start, end) of the weights, as a dense copy (what rank r holds in memory). */
        INDArray weightRows(int start, int end) {
            return weights.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(start, end),
                    org.nd4j.linalg.indexing.NDArrayIndex.all()).dup('c');
        }

        INDArray momentumRows(int start, int end) {
            return momentum.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(start, end),
                    org.nd4j.linalg.indexing.NDArrayIndex.all()).dup('c');
        }
    }

    /** A small backbone with every dtype and names that are not file names. */
    static Map<String, INDArray> backbone(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Map<String, INDArray> b = new LinkedHashMap<>();
        float[] conv = new float[2 * 3 * 3];
        for (int i = 0; i < conv.length; i++) {
            conv[i] = (float) rnd.nextGaussian();
        }
        b.put("layer1/conv:weight", Nd4j.create(conv, new long[] {2, 1, 3, 3}, 'c'));
        b.put("bn1.running_var", Nd4j.create(new double[] {rnd.nextDouble(), rnd.nextDouble(), 1e-300}, new long[] {3}, 'c'));
        b.put("bn1.num_batches_tracked", Nd4j.createFromArray(new long[] {rnd.nextLong()}));
        b.put("half.scale", Nd4j.create(new float[] {1.5f, -0.25f}, new long[] {2}, 'c').castTo(DataType.FLOAT16));
        return b;
    }

    /** Writes {@code fc} over {@code layout} as {@code <parent>/<name>}, every rank with its own writer; commits unless told not to. */
    static CheckpointWriter write(Path parent, String name, ClassLayout layout, Fc fc, Map<String, INDArray> backbone,
                                  long step, boolean commit) throws IOException {
        String stagingId = "job-" + step;
        CheckpointWriter rank0 = null;
        for (int r = layout.worldSize() - 1; r >= 0; r--) { // rank 0 last: order must not matter
            CheckpointWriter w = CheckpointWriter.open(parent, name, stagingId);
            w.writeFcShard(r, layout.start(r), layout.end(r), fc.weightRows(layout.start(r), layout.end(r)),
                    fc.momentumRows(layout.start(r), layout.end(r)));
            if (r == 0) {
                rank0 = w;
            }
        }
        rank0.writeBackbone(backbone);
        rank0.writeArrays("optimizer", Map.of("backbone/velocity:layer1", Nd4j.create(new float[] {1, 2, 3}, new long[] {3}, 'c')));
        if (commit) {
            rank0.commit(info(layout, fc.weights().columns(), step));
        }
        return rank0;
    }

    static ManifestInfo info(ClassLayout layout, int emb, long step) {
        ObjectNode config = JsonNodeFactory.instance.objectNode();
        config.put("lr", 0.1).put("sample_ratio", 0.5).putObject("margin").put("m2", 0.5).put("s", 64);
        ObjectNode extra = JsonNodeFactory.instance.objectNode();
        extra.put("optimizer_state", "optimizer");
        return new ManifestInfo(layout.numClasses(), emb, layout.worldSize(), layout.kind(), step, (int) (step / 10), config, extra);
    }
}
