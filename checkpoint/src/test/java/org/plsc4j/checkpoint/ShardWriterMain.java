package org.plsc4j.checkpoint;

import java.nio.file.Path;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.core.ClassLayout;

/**
 * One rank of {@link MultiProcessWriteTest} as its own JVM: writes its FC shard with values defined by
 * the class id (w[c][d] = c + d/8, momentum = −w) into the shared staging directory and exits.
 * Arguments: parent name stagingId rank worldSize numClasses emb.
 */
public final class ShardWriterMain {

    private ShardWriterMain() {
    }

    public static void main(String[] args) throws Exception {
        Path parent = Path.of(args[0]);
        int rank = Integer.parseInt(args[3]);
        int world = Integer.parseInt(args[4]);
        int classes = Integer.parseInt(args[5]);
        int emb = Integer.parseInt(args[6]);
        ClassLayout layout = ClassLayout.balanced(classes, world);
        int n = layout.size(rank);
        float[] w = new float[n * emb];
        float[] m = new float[n * emb];
        for (int j = 0; j < n; j++) {
            for (int d = 0; d < emb; d++) {
                w[j * emb + d] = FixtureGenerator.weight(layout.start(rank) + j, d);
                m[j * emb + d] = -w[j * emb + d];
            }
        }
        CheckpointWriter.open(parent, args[1], args[2]).writeFcShard(rank, layout.start(rank), layout.end(rank),
                Nd4j.create(w, new long[] {n, emb}, 'c'), Nd4j.create(m, new long[] {n, emb}, 'c'));
        System.out.println("rank " + rank + " wrote classes [" + layout.start(rank) + ", " + layout.end(rank) + ")");
    }
}
