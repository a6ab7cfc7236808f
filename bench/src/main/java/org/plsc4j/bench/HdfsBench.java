package org.plsc4j.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.checkpoint.CheckpointWriter;
import org.plsc4j.checkpoint.ManifestInfo;
import org.plsc4j.core.ClassLayout;
import org.plsc4j.hdfs.HdfsConfig;
import org.plsc4j.hdfs.HdfsSync;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code plsc4j bench hdfs}: MB/s of {@link HdfsSync}'s verified upload and download of a real
 * checkpoint against Hadoop's own {@code FileSystem.copyFromLocalFile}/{@code copyToLocalFile} of the
 * same directory in the same run (the baseline: a plain recursive copy, no hashing, no staging, no
 * verification). The upload is measured with and without the read-back verification.
 */
@Command(name = "hdfs", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Checkpoint upload/download MB/s to HDFS against FileSystem.copyFromLocalFile/copyToLocalFile.",
        description = {
            "Writes a checkpoint of about --mb MB (4 FC shards, backbone, optimizer) and copies it --iterations times "
                + "each way, alternating plsc4j and the baseline. Without --fs-name a MiniDFSCluster (1 datanode, "
                + "127.0.0.1) is started in this process. With --json one JSON object on stdout.",
            ""})
public final class HdfsBench implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--mb", defaultValue = "256", description = "Checkpoint size in MB (default: ${DEFAULT-VALUE}).")
    int mb;

    @Option(names = "--iterations", defaultValue = "3", description = "Timed copies each way (default: ${DEFAULT-VALUE}).")
    int iterations;

    @Option(names = "--fs-name", description = "An existing file system URI; default: start a MiniDFSCluster.")
    String fsName;

    @Option(names = "--dir", defaultValue = "/plsc4j-bench-hdfs",
            description = "Remote scratch directory, deleted afterwards (default: ${DEFAULT-VALUE}).")
    String remoteDir;

    @Option(names = "--json", description = "Print one JSON object on stdout instead of a table.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (mb < 1 || mb > 16_384 || iterations < 1) {
            throw new IllegalArgumentException("--mb " + mb + " --iterations " + iterations
                    + " (expected: 1 <= mb <= 16384, iterations >= 1)");
        }
        Double loadBefore = LoadAverage.oneMinute();
        Path tmp = Files.createTempDirectory("plsc4j-bench-hdfs-");
        MiniDFSCluster cluster = null;
        try {
            String fs = fsName;
            if (fs == null) {
                Configuration conf = new Configuration();
                conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, tmp.resolve("dfs").toString());
                conf.set("dfs.replication", "1");
                cluster = new MiniDFSCluster.Builder(conf, tmp.resolve("dfs").toFile()).numDataNodes(1).build();
                cluster.waitActive();
                fs = cluster.getURI().toString();
            }
            Path ck = writeCheckpoint(tmp.resolve("save"));
            long bytes;
            try (var walk = Files.walk(ck)) {
                bytes = walk.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
            }
            Map<String, Object> out = run(fs, ck, bytes, tmp, cluster != null);
            out.put("load_before", loadBefore);
            out.put("load_after", LoadAverage.oneMinute());
            print(out);
        } finally {
            if (cluster != null) {
                cluster.shutdown(true);
            }
            try (var walk = Files.walk(tmp)) {
                walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        return 0;
    }

    private Map<String, Object> run(String fs, Path ck, long bytes, Path tmp, boolean mini) throws IOException {
        double[] up = new double[iterations];
        double[] upNoVerify = new double[iterations];
        double[] upBase = new double[iterations];
        double[] down = new double[iterations];
        double[] downBase = new double[iterations];
        HdfsConfig verified = HdfsConfig.simple(fs, null);
        try (HdfsSync sync = HdfsSync.connect(verified);
             HdfsSync fast = HdfsSync.connect(verified.withVerifyReadBack(false))) {
            FileSystem hfs = sync.fileSystem();
            org.apache.hadoop.fs.Path root = new org.apache.hadoop.fs.Path(remoteDir);
            try {
                for (int i = -1; i < iterations; i++) { // i = -1: warm-up
                    String it = Integer.toString(i + 1);
                    long t0 = System.nanoTime();
                    HdfsSync.Transfer t = sync.upload(ck, remoteDir + "/ours-" + it);
                    long t1 = System.nanoTime();
                    fast.upload(ck, remoteDir + "/fast-" + it);
                    long t2 = System.nanoTime();
                    org.apache.hadoop.fs.Path base = new org.apache.hadoop.fs.Path(root, "base-" + it);
                    hfs.copyFromLocalFile(false, true, new org.apache.hadoop.fs.Path(ck.toUri()), base);
                    long t3 = System.nanoTime();
                    sync.download(t.remote(), tmp.resolve("down-ours-" + it));
                    long t4 = System.nanoTime();
                    hfs.copyToLocalFile(false, base, new org.apache.hadoop.fs.Path(tmp.resolve("down-base-" + it).toUri()),
                            true);
                    long t5 = System.nanoTime();
                    if (i >= 0) {
                        up[i] = mbps(bytes, t0, t1);
                        upNoVerify[i] = mbps(bytes, t1, t2);
                        upBase[i] = mbps(bytes, t2, t3);
                        down[i] = mbps(bytes, t3, t4);
                        downBase[i] = mbps(bytes, t4, t5);
                    }
                    hfs.delete(root, true);
                }
            } finally {
                hfs.delete(root, true);
            }
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("bench", "hdfs");
        out.put("version", BenchVersion.get());
        out.put("fs", mini ? "minidfs" : fs);
        out.put("mb", Stats.round(bytes / 1e6, 1));
        out.put("iterations", iterations);
        out.put("upload_mb_s", Stats.round(Stats.median(up), 1));
        out.put("upload_no_readback_mb_s", Stats.round(Stats.median(upNoVerify), 1));
        out.put("baseline_upload_mb_s", Stats.round(Stats.median(upBase), 1));
        out.put("upload_ratio", Stats.round(Stats.median(up) / Stats.median(upBase), 2));
        out.put("upload_no_readback_ratio", Stats.round(Stats.median(upNoVerify) / Stats.median(upBase), 2));
        out.put("download_mb_s", Stats.round(Stats.median(down), 1));
        out.put("baseline_download_mb_s", Stats.round(Stats.median(downBase), 1));
        out.put("download_ratio", Stats.round(Stats.median(down) / Stats.median(downBase), 2));
        // issue 13: the spread of every figure (MB/s per iteration); the sides run alternately in each iteration
        out.put("upload_spread", Spread.of(up, 1));
        out.put("upload_no_readback_spread", Spread.of(upNoVerify, 1));
        out.put("baseline_upload_spread", Spread.of(upBase, 1));
        out.put("download_spread", Spread.of(down, 1));
        out.put("baseline_download_spread", Spread.of(downBase, 1));
        return out;
    }

    private void print(Map<String, Object> out) throws IOException {
        PrintWriter pw = spec.commandLine().getOut();
        if (json) {
            pw.println(new ObjectMapper().writeValueAsString(out));
        } else {
            pw.printf(Locale.ROOT, "hdfs (%s), checkpoint of %s MB, median of %d%n", out.get("fs"), out.get("mb"), iterations);
            pw.printf(Locale.ROOT, "upload   plsc4j %7.1f MB/s (no read-back %7.1f)  copyFromLocalFile %7.1f MB/s"
                    + "  ratio %.2f (%.2f)%n", out.get("upload_mb_s"), out.get("upload_no_readback_mb_s"),
                    out.get("baseline_upload_mb_s"), out.get("upload_ratio"), out.get("upload_no_readback_ratio"));
            pw.printf(Locale.ROOT, "download plsc4j %7.1f MB/s                         copyToLocalFile   %7.1f MB/s"
                    + "  ratio %.2f%n", out.get("download_mb_s"), out.get("baseline_download_mb_s"),
                    out.get("download_ratio"));
            pw.printf(Locale.ROOT, "load average %.2f before, %.2f after%n", out.get("load_before"), out.get("load_after"));
        }
        pw.flush();
    }

    private static double mbps(long bytes, long t0, long t1) {
        return bytes / 1e6 / ((t1 - t0) / 1e9);
    }

    /** A checkpoint of about --mb MB: 4 ranks' FC shards (weights + momentum, D = 512), a backbone, optimizer state. */
    private Path writeCheckpoint(Path parent) throws IOException {
        int emb = 512;
        int ranks = 4;
        int classes = (int) Math.max(ranks, (long) mb * 1_000_000L / (2L * Float.BYTES * emb));
        ClassLayout layout = ClassLayout.of(ClassLayout.Kind.BALANCED, classes, ranks);
        SplittableRandom rnd = new SplittableRandom(42);
        CheckpointWriter rank0 = null;
        for (int r = ranks - 1; r >= 0; r--) {
            CheckpointWriter w = CheckpointWriter.open(parent, "0", "bench");
            int n = layout.end(r) - layout.start(r);
            w.writeFcShard(r, layout.start(r), layout.end(r), random(rnd, n, emb), random(rnd, n, emb));
            if (r == 0) {
                rank0 = w;
            }
        }
        rank0.writeBackbone(Map.of("fc.weight", random(rnd, 64, emb)));
        rank0.writeArrays("optimizer", Map.of("fc.weight.velocity", random(rnd, 64, emb)));
        return rank0.commit(new ManifestInfo(classes, emb, ranks, ClassLayout.Kind.BALANCED, 1, 0, null, null));
    }

    private static org.nd4j.linalg.api.ndarray.INDArray random(SplittableRandom rnd, int rows, int cols) {
        float[] v = new float[rows * cols];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) rnd.nextGaussian();
        }
        return Nd4j.create(v, new long[] {rows, cols}, 'c');
    }
}
