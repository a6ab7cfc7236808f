package org.plsc4j.shardstore;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Not a test: a main that measures put/get MB/s of 1 MiB blocks (256 classes × D 512, weights +
 * momentum) for the local store (with and without fsync) and for 2 Ignite server nodes with
 * backups = 1 (puts and gets from one node, so half the primaries and all backups are remote).
 *
 * <p>Run with the test class path and {@code plsc4j.jvm.flags}; args: [blocks (default 256)].
 */
public final class ShardStoreThroughput {

    private static final int ROWS = 256;
    private static final int DIM = 512;
    private static final double MIB = 1 << 20;

    private ShardStoreThroughput() {
    }

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 256;
        List<FcBlock> blocks = new ArrayList<>();
        SplittableRandom rnd = new SplittableRandom(1);
        for (int b = 0; b < n; b++) {
            float[] w = new float[ROWS * DIM];
            float[] m = new float[ROWS * DIM];
            for (int i = 0; i < w.length; i++) {
                w[i] = (float) rnd.nextGaussian();
                m[i] = (float) rnd.nextGaussian();
            }
            blocks.add(new FcBlock("bench", b, b * ROWS, ROWS, DIM, 1, w, m));
        }
        double mib = n * (8.0 * ROWS * DIM) / MIB;
        System.out.printf("%d blocks of %.2f MiB (%.0f MiB)%n", n, 8.0 * ROWS * DIM / MIB, mib);
        Path dir = Files.createTempDirectory("plsc4j-bench-store-");
        for (boolean fsync : new boolean[] {false, true}) {
            ShardStoreConfig c = ShardStoreConfig.builder().blockRows(ROWS).directory(dir.resolve("fsync-" + fsync))
                    .fsync(fsync).build();
            try (ShardStore s = ShardStores.open("local", c)) {
                run("local fsync=" + fsync, s, blocks, mib);
                s.remove("bench");
            }
        }
        ShardStoreConfig ic = ShardStoreConfig.builder().blockRows(ROWS).backups(1).discoveryPort(49500)
                .communicationPort(49530).portRange(5).offHeapBytes(2L << 30).joinTimeout(Duration.ofSeconds(30))
                .build();
        try (ShardStore a = ShardStores.open("ignite", ic); ShardStore b = ShardStores.open("ignite", ic)) {
            run("ignite 2 nodes backups=1 (" + b.name() + ")", a, blocks, mib);
        }
    }

    private static void run(String what, ShardStore s, List<FcBlock> blocks, double mib) {
        List<Integer> ids = new ArrayList<>();
        for (FcBlock b : blocks) {
            ids.add(b.block());
        }
        for (int round = 0; round < 3; round++) {
            long t0 = System.nanoTime();
            for (FcBlock b : blocks) {
                s.put(b);
            }
            long t1 = System.nanoTime();
            long sum = 0;
            for (int id : ids) {
                sum += s.get("bench", id).orElseThrow().rows();
            }
            long t2 = System.nanoTime();
            // batched: 16 blocks per call
            for (int i = 0; i < blocks.size(); i += 16) {
                s.putAll(blocks.subList(i, Math.min(blocks.size(), i + 16)));
            }
            long t3 = System.nanoTime();
            for (int i = 0; i < ids.size(); i += 16) {
                Map<Integer, FcBlock> got = s.getAll("bench", ids.subList(i, Math.min(ids.size(), i + 16)));
                sum += got.size();
            }
            long t4 = System.nanoTime();
            System.out.printf("%-36s round %d: put %7.0f MB/s  get %7.0f MB/s  putAll(16) %7.0f MB/s  "
                    + "getAll(16) %7.0f MB/s  (%d)%n", what, round, rate(mib, t1 - t0), rate(mib, t2 - t1),
                    rate(mib, t3 - t2), rate(mib, t4 - t3), sum);
        }
    }

    private static double rate(double mib, long nanos) {
        return mib * MIB / 1e6 / (nanos / 1e9);
    }
}
