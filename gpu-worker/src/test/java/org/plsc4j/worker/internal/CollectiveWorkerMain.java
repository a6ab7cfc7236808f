package org.plsc4j.worker.internal;

import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.SplittableRandom;
import org.plsc4j.core.collective.Collective;
import org.plsc4j.core.collective.CollectiveConfig;
import org.plsc4j.core.collective.Collectives;
import org.plsc4j.core.collective.ReduceOp;
import org.plsc4j.worker.TcpRendezvous;

/**
 * One rank of {@link MultiProcessCollectiveTest}, run in its own JVM: joins through a
 * {@link TcpRendezvous}, runs collectives on seeded data and writes the results to a file.
 *
 * <p>Arguments: rendezvousHost:port jobId token rank worldSize seed outputFile
 */
public final class CollectiveWorkerMain {

    static final int GATHER = 100_003;
    static final int REDUCE = 250_001;
    static final int SCATTER = 50_001;
    static final int LABELS = 1_003;

    private CollectiveWorkerMain() {
    }

    /** Exactly summable data of one rank for one purpose (same function in the test). */
    static float[] floats(long seed, String what, int rank, int n) {
        SplittableRandom rnd = new SplittableRandom(seed ^ what.hashCode() * 31L ^ rank * 0x9E3779B97F4A7C15L);
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = rnd.nextInt(-4096, 4097) / 8f;
        }
        return out;
    }

    static int[] ints(long seed, String what, int rank, int n) {
        return new SplittableRandom(seed ^ what.hashCode() * 31L ^ rank * 0x9E3779B97F4A7C15L).ints(n).toArray();
    }

    public static void main(String[] args) throws IOException {
        String rendezvous = args[0];
        String jobId = args[1];
        String token = args[2];
        int rank = Integer.parseInt(args[3]);
        int worldSize = Integer.parseInt(args[4]);
        long seed = Long.parseLong(args[5]);
        Path output = Path.of(args[6]);
        CollectiveConfig config = CollectiveConfig.builder().jobId(jobId).token(token).rank(rank).worldSize(worldSize)
                .timeout(Duration.ofSeconds(30)).rendezvous(TcpRendezvous.parse(rendezvous, jobId, token)).build();
        try (Collective c = Collectives.join("netty", config)) {
            // direct little-endian buffers: the zero-copy path
            FloatBuffer send = ByteBuffer.allocateDirect(GATHER * 4).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
            send.put(0, floats(seed, "gather", rank, GATHER));
            FloatBuffer recv = ByteBuffer.allocateDirect(GATHER * worldSize * 4).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
            c.allGather(send, recv);
            float[] gathered = new float[GATHER * worldSize];
            recv.get(0, gathered);

            float[] sum = floats(seed, "reduce", rank, REDUCE); // heap: the staging path
            c.allReduce(sum, ReduceOp.SUM);

            float[] scattered = new float[SCATTER];
            c.reduceScatter(floats(seed, "scatter", rank, SCATTER * worldSize), scattered, ReduceOp.MAX);

            int[] labels = ints(seed, "labels", rank, LABELS);
            c.allReduce(labels, ReduceOp.SUM);
            c.barrier();

            try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(output)))) {
                write(out, gathered);
                write(out, sum);
                write(out, scattered);
                out.writeInt(labels.length);
                for (int v : labels) {
                    out.writeInt(v);
                }
            }
        }
        System.out.println("rank " + rank + " done");
    }

    private static void write(DataOutputStream out, float[] values) throws IOException {
        out.writeInt(values.length);
        for (float v : values) {
            out.writeFloat(v);
        }
    }
}
