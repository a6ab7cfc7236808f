package org.plsc4j.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.shardstore.ShardStore;
import org.plsc4j.shardstore.ShardStoreConfig;
import org.plsc4j.shardstore.ShardStores;
import org.plsc4j.worker.FcRowStore;
import org.plsc4j.worker.internal.RowTransfer;
import org.plsc4j.worker.internal.ShardFlusher;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code plsc4j bench flush}: what a worker's shard flush costs per MB, in each store, against
 * writing the same bytes to one file with a {@code FileChannel} in the same run (the baseline:
 * what the disk and page cache allow with no blocks, no checksums, no store). Also the snapshot
 * copy, the only part the training thread waits for.
 *
 * <p>Like for like (issue 13): the local store fsyncs its blocks, so the headline baseline writes the
 * file and calls {@code force(true)} ({@code baseline_durable_ms}, {@code ratio_vs_durable_file}); the
 * page-cache-only write stays as {@code baseline_file_ms}. The snapshot is timed through the worker's
 * real path, {@link ShardFlusher#flushAsync} from native INDArrays (a store that returns at once takes
 * the write), not a heap arraycopy (kept as {@code heap_copy_ms}). Store, file and durable file
 * alternate ({@link Interleave}) after one common warm-up.
 */
@Command(name = "flush", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Shard-store flush cost per MB (local files, Ignite) against a plain file write of the same bytes.",
        description = {
            "A shard of --classes x --dim float weights and momentum is written with ShardStore.writeRange "
                + "(the worker's flush) and, alternating, to one file (baseline). With --json one JSON object on stdout.",
            ""})
public final class FlushBench implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--classes", defaultValue = "50000", description = "Classes in the shard (default: ${DEFAULT-VALUE}).")
    int classes;

    @Option(names = "--dim", defaultValue = "512", description = "Embedding size (default: ${DEFAULT-VALUE}).")
    int dim;

    @Option(names = "--iterations", defaultValue = "3", description = "Timed flushes per store (default: ${DEFAULT-VALUE}).")
    int iterations;

    @Option(names = "--stores", split = ",", defaultValue = "local,ignite",
            description = "Stores to measure (default: ${DEFAULT-VALUE}).")
    List<String> stores;

    @Option(names = "--json", description = "Print one JSON object on stdout instead of a table.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (classes < 1 || dim < 1 || (long) classes * dim > Integer.MAX_VALUE || iterations < 1) {
            throw new IllegalArgumentException("--classes " + classes + " --dim " + dim + " --iterations " + iterations
                    + " (expected: positive, classes x dim < 2^31)");
        }
        int n = classes * dim;
        float[] w = new float[n];
        float[] m = new float[n];
        SplittableRandom rng = new SplittableRandom(42);
        for (int i = 0; i < n; i++) {
            w[i] = (float) rng.nextGaussian();
            m[i] = (float) rng.nextGaussian();
        }
        double mb = 2.0 * n * Float.BYTES / (1024 * 1024);
        Path tmp = Files.createTempDirectory("plsc4j-bench-flush-");
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("bench", "flush");
        out.put("version", BenchVersion.get());
        out.put("classes", classes);
        out.put("dim", dim);
        out.put("mb_per_flush", Stats.round(mb, 1));
        Double loadBefore = LoadAverage.oneMinute();
        // the snapshot copy the training thread waits for: ShardFlusher's own path from native memory
        double[] snap = snapshotMs(w, m);
        float[] sw = new float[n];
        float[] sm = new float[n];
        double[] heap = new double[iterations];
        for (int i = 0; i < iterations; i++) {
            long t0 = System.nanoTime();
            System.arraycopy(w, 0, sw, 0, n);
            System.arraycopy(m, 0, sm, 0, n);
            heap[i] = Stats.ms(t0, System.nanoTime());
        }
        out.put("snapshot_ms", Stats.round(Stats.median(snap), 1));
        out.put("snapshot_spread", Spread.of(snap, 2));
        out.put("snapshot_path", "ShardFlusher.flushAsync from native INDArrays");
        out.put("heap_copy_ms", Stats.round(Stats.median(heap), 1));
        out.put("iterations", iterations);
        List<Map<String, Object>> rows = new ArrayList<>();
        try {
            for (String name : stores) {
                ShardStoreConfig.Builder b = ShardStoreConfig.builder();
                if (name.equals("local")) {
                    b.directory(tmp.resolve("store"));
                }
                List<ShardStore> opened = new ArrayList<>();
                try {
                    ShardStore s = ShardStores.open(name, b.build());
                    opened.add(s);
                    if (name.equals("ignite")) {
                        opened.add(ShardStores.open(name, b.build())); // a second node: backups have somewhere to go
                    }
                    long[] version = {1};
                    List<double[]> t = Interleave.timeMs(1, iterations, List.of(
                        () -> {
                            s.writeRange("bench", 0, classes, dim, w, m, ++version[0]);
                            return 0;
                        },
                        () -> {
                            writeFile(tmp.resolve("baseline.bin"), w, m, false);
                            return 0;
                        },
                        () -> {
                            writeFile(tmp.resolve("baseline-durable.bin"), w, m, true);
                            return 0;
                        }));
                    double[] store = t.get(0);
                    double[] file = t.get(1);
                    double[] durable = t.get(2);
                    if (name.equals("local")) {
                        s.remove("bench"); // ignite: the in-memory nodes go away at close
                    }
                    double sMs = Stats.median(store);
                    double fMs = Stats.median(file);
                    Map<String, Object> r = new LinkedHashMap<>();
                    r.put("store", name);
                    r.put("flush_ms", Stats.round(sMs, 1));
                    r.put("ms_per_mb", Stats.round(sMs / mb, 3));
                    r.put("mb_per_s", Stats.round(mb / (sMs / 1000), 1));
                    r.put("baseline_file_ms", Stats.round(fMs, 1));
                    r.put("ratio_vs_file", Stats.round(sMs / fMs, 2));
                    double dMs = Stats.median(durable);
                    r.put("baseline_durable_ms", Stats.round(dMs, 1));
                    r.put("ratio_vs_durable_file", Stats.round(sMs / dMs, 2));
                    r.put("flush_spread", Spread.of(store, 1));
                    r.put("baseline_file_spread", Spread.of(file, 1));
                    r.put("baseline_durable_spread", Spread.of(durable, 1));
                    rows.add(r);
                } finally {
                    for (ShardStore s : opened) {
                        s.close();
                    }
                }
            }
        } finally {
            try (var walk = Files.walk(tmp)) {
                walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        out.put("stores", rows);
        out.put("load_before", loadBefore);
        out.put("load_after", LoadAverage.oneMinute());
        PrintWriter pw = spec.commandLine().getOut();
        if (json) {
            pw.println(new ObjectMapper().writeValueAsString(out));
        } else {
            pw.printf(Locale.ROOT, "flush of %d classes x %d (%.1f MB weights + momentum); snapshot through ShardFlusher"
                    + " %.1f ms (%s), heap arraycopy %.1f ms%n", classes, dim, mb, Stats.median(snap),
                    out.get("snapshot_spread"), Stats.median(heap));
            for (Map<String, Object> r : rows) {
                pw.printf(Locale.ROOT, "%-7s %9.1f ms  %7.3f ms/MB  %7.1f MB/s  file %8.1f ms (ratio %.2f)  durable file"
                        + " %8.1f ms (ratio %.2f)%n", r.get("store"), r.get("flush_ms"), r.get("ms_per_mb"),
                        r.get("mb_per_s"), r.get("baseline_file_ms"), r.get("ratio_vs_file"),
                        r.get("baseline_durable_ms"), r.get("ratio_vs_durable_file"));
            }
            pw.printf(Locale.ROOT, "load average %.2f before, %.2f after%n", out.get("load_before"), out.get("load_after"));
        }
        pw.flush();
        return 0;
    }

    /**
     * {@code --iterations} timings of {@link ShardFlusher#flushAsync} (the snapshot from native
     * memory plus the hand-off) after one untimed call that allocates the snapshot arrays.
     */
    private double[] snapshotMs(float[] w, float[] m) {
        INDArray weights = Nd4j.create(w, new long[] {classes, dim}, 'c');
        INDArray momentum = Nd4j.create(m, new long[] {classes, dim}, 'c');
        FcRowStore nowhere = new FcRowStore() {
            @Override
            public void write(int start, int end, int d, float[] ws, float[] ms, long version) {
            }

            @Override
            public ReadResult read(int start, int end, int d, float[] ws, float[] ms) {
                throw new UnsupportedOperationException("bench flush: the snapshot store is write-only");
            }
        };
        double[] ms = new double[iterations];
        try (ShardFlusher f = new ShardFlusher(nowhere, 0)) {
            for (int i = -1; i < iterations; i++) {
                long t0 = System.nanoTime();
                if (!f.flushAsync(0, new RowTransfer.Shard(weights, momentum, null, null), i + 2)) {
                    throw new IllegalStateException("bench flush: a flush to a no-op store was skipped");
                }
                long t1 = System.nanoTime();
                f.awaitIdle();
                if (i >= 0) {
                    ms[i] = Stats.ms(t0, t1);
                }
            }
        } finally {
            weights.close();
            momentum.close();
        }
        return ms;
    }

    private static void writeFile(Path f, float[] w, float[] m, boolean durable) throws IOException {
        ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            for (float[] a : new float[][] {w, m}) {
                int i = 0;
                while (i < a.length) {
                    buf.clear();
                    int k = Math.min(a.length - i, buf.capacity() / Float.BYTES);
                    buf.asFloatBuffer().put(a, i, k);
                    buf.limit(k * Float.BYTES);
                    while (buf.hasRemaining()) {
                        ch.write(buf);
                    }
                    i += k;
                }
            }
            if (durable) {
                ch.force(true); // what the local store's fsync of every block costs it
            }
        }
    }
}
