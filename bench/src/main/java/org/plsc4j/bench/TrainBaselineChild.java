package org.plsc4j.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.plsc4j.core.NativeBuild;
import org.plsc4j.data.Batch;
import org.plsc4j.data.BatchLoader;
import org.plsc4j.data.Dataset;
import org.plsc4j.data.DatasetConfig;
import org.plsc4j.data.DatasetFormat;
import org.plsc4j.data.GlobalBatchPlan;
import org.plsc4j.data.ImageShape;
import org.plsc4j.data.LoaderConfig;
import org.plsc4j.worker.Backbone;
import org.plsc4j.worker.BackboneConfig;
import org.plsc4j.worker.Backbones;
import org.plsc4j.worker.MomentumSgd;

/**
 * The baseline side of {@code bench train}, one child JVM per round started with the workers' JVM
 * flags and OMP_NUM_THREADS: the bare backbone (forward, backward, momentum-SGD update) of the same
 * model and global batch on the same data set's decoded images, with the upstream gradient of a
 * normalized softmax (scale s) over random unit class centers, computed from each step's own
 * embeddings. Only the backbone's forward, backward and update are timed, in windows of
 * {@code window} steps after {@code warmup} untimed ones, like the trainer's metrics windows. Prints
 * one JSON line.
 *
 * <p>Args: {@code model image batch emb dataDir classes seed warmup window windows input grad gc},
 * where input is {@code data|rand} (decoded images or the old Nd4j.rand ones), grad is
 * {@code softmax|rand} (the realistic gradient or the old 1e-3-scaled random one) and gc is
 * {@code none|step} ({@code step}: System.gc() after every step): the switches exist to find out
 * which difference to the trainer matters.
 */
public final class TrainBaselineChild {

    /** Distinct decoded batches kept in memory and cycled (decoding is not what the baseline times). */
    static final int MAX_BATCHES = 8;

    private TrainBaselineChild() {
    }

    public static void main(String[] args) throws Exception {
        NativeBuild.select();
        System.setOut(System.err); // library chatter; the result goes to the real stdout
        java.io.PrintStream out = new java.io.PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out),
                true, "UTF-8");
        String model = args[0];
        int size = Integer.parseInt(args[1]);
        int batch = Integer.parseInt(args[2]);
        int emb = Integer.parseInt(args[3]);
        Path data = Path.of(args[4]);
        int classes = Integer.parseInt(args[5]);
        long seed = Long.parseLong(args[6]);
        int warmup = Integer.parseInt(args[7]);
        int window = Integer.parseInt(args[8]);
        int windows = Integer.parseInt(args[9]);
        boolean decoded = args[10].equals("data");
        boolean softmax = args[11].equals("softmax");
        boolean gc = args[12].equals("step");
        Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);
        List<INDArray> images = new ArrayList<>();
        List<int[]> labels = new ArrayList<>();
        ImageShape shape = new ImageShape(3, size, size);
        try (Dataset ds = Dataset.open(DatasetConfig.strict(data, DatasetFormat.LABEL_TXT, classes, shape))) {
            GlobalBatchPlan plan = new GlobalBatchPlan(ds.size(), batch, 1, seed);
            try (BatchLoader loader = new BatchLoader(ds, plan, LoaderConfig.of(0, 1))) {
                while (loader.hasNext() && images.size() < MAX_BATCHES) {
                    Batch b = loader.next();
                    images.add(decoded ? b.images().dup() : Nd4j.rand(DataType.FLOAT, batch, 3, size, size).subi(0.5));
                    labels.add(b.labels().clone());
                }
            }
        }
        Backbone b = Backbones.create(model, BackboneConfig.of(emb, 3, size, size, seed));
        MomentumSgd sgd = new MomentumSgd(0.9, 5e-4);
        Nd4j.getRandom().setSeed(seed);
        INDArray centers = Nd4j.randn(DataType.FLOAT, classes, emb);
        centers = centers.divColumnVector(centers.norm2(1).reshape(classes, 1));
        INDArray randGrad = Nd4j.rand(DataType.FLOAT, batch, emb).subi(0.5).muli(1e-3);
        List<Double> windowImagesPerSec = new ArrayList<>();
        List<Double> stepMs = new ArrayList<>();
        double gradNorm = 0;
        long faults0 = 0;
        long cpu0 = 0;
        double windowSec = 0;
        int inWindow = 0;
        for (int i = 0; i < warmup + window * windows; i++) {
            INDArray x = images.get(i % images.size());
            if (i == warmup) {
                faults0 = minorFaults();
                cpu0 = cpuNanos();
            }
            long t0 = System.nanoTime();
            INDArray e = b.forwardTrain(x, i);
            long t1 = System.nanoTime();
            INDArray g = softmax ? softmaxGrad(e, centers, labels.get(i % labels.size()), 32) : randGrad;
            if (i == warmup) {
                gradNorm = g.norm2Number().doubleValue();
            }
            long t2 = System.nanoTime();
            b.backward(g);
            sgd.step(b.parameters(), b.gradients(), 0.1);
            long t3 = System.nanoTime();
            if (gc) {
                System.gc();
            }
            if (i >= warmup) {
                double ms = Stats.ms(t0, t1) + Stats.ms(t2, t3);
                stepMs.add(ms);
                windowSec += ms / 1e3;
                if (++inWindow == window) {
                    windowImagesPerSec.add(window * batch / windowSec);
                    windowSec = 0;
                    inWindow = 0;
                }
            }
        }
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("window_images_per_sec", windowImagesPerSec);
        r.put("step_ms", stepMs);
        r.put("grad_norm", gradNorm);
        r.put("peak_rss_mb", BackboneBench.peakRssMb());
        r.put("minor_faults_per_step", (minorFaults() - faults0) / (double) (window * windows));
        r.put("cpu_ms_per_step", (cpuNanos() - cpu0) / 1e6 / (window * windows));
        out.println(new ObjectMapper().writeValueAsString(r));
    }

    /** This process's minor page faults so far (field 10 of /proc/self/stat), -1 when unknown. */
    static long minorFaults() {
        try {
            String st = java.nio.file.Files.readString(Path.of("/proc/self/stat"));
            String[] f = st.substring(st.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(f[7]);
        } catch (java.io.IOException | RuntimeException e) {
            return -1;
        }
    }

    /** CPU time of this process (all threads) so far, in ns. */
    static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean()).getProcessCpuTime();
    }

    /**
     * dL/de of the mean cross-entropy of softmax(s · cos(e, w_c)) over unit class centers: the
     * gradient a normalized-softmax head (CosFace/ArcFace without the margin) hands the backbone.
     */
    static INDArray softmaxGrad(INDArray e, INDArray centers, int[] labels, double s) {
        int n = (int) e.size(0);
        INDArray norm = e.norm2(1).reshape(n, 1).addi(1e-12);
        INDArray u = e.divColumnVector(norm);
        INDArray logits = u.mmul(centers.transpose()).muli(s);
        INDArray p = Transforms.softmax(logits, true);
        for (int i = 0; i < n; i++) {
            p.putScalar(i, labels[i], p.getDouble(i, labels[i]) - 1);
        }
        INDArray du = p.mmul(centers).muli(s / n);
        // through the normalization: (du - u (u . du)) / |e|
        INDArray dot = u.mul(du).sum(true, 1);
        return du.sub(u.mulColumnVector(dot)).divColumnVector(norm);
    }
}
