package org.plsc4j.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.core.NativeBuild;
import org.plsc4j.worker.Backbone;
import org.plsc4j.worker.BackboneConfig;
import org.plsc4j.worker.Backbones;
import org.plsc4j.worker.InferenceModel;
import org.plsc4j.worker.MomentumSgd;

/**
 * The JVM side of {@code bench backbone}, one process per round (so its peak RSS is its own): the
 * same steps as {@code torch_backbone.py}, printing one JSON line. Args: model image batch emb warmup
 * iterations seed.
 */
public final class BackboneBenchChild {

    private BackboneBenchChild() {
    }

    public static void main(String[] args) throws Exception {
        NativeBuild build = NativeBuild.select(); // the parent passes its choice with -D
        System.setOut(System.err); // library chatter; the result goes to the real stdout below
        java.io.PrintStream out = new java.io.PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out),
                true, "UTF-8");
        String model = args[0];
        int size = Integer.parseInt(args[1]);
        int batch = Integer.parseInt(args[2]);
        int emb = Integer.parseInt(args[3]);
        int warmup = Integer.parseInt(args[4]);
        int iters = Integer.parseInt(args[5]);
        long seed = Long.parseLong(args[6]);
        Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);
        Backbone b = Backbones.create(model, BackboneConfig.of(emb, 3, size, size, seed));
        long params = b.parameters().values().stream().mapToLong(INDArray::length).sum();
        MomentumSgd sgd = new MomentumSgd(0.9, 5e-4);
        INDArray x = Nd4j.rand(DataType.FLOAT, batch, 3, size, size).subi(0.5);
        INDArray g = Nd4j.rand(DataType.FLOAT, batch, emb).subi(0.5).muli(1e-3);
        List<Double> train = new ArrayList<>();
        for (int i = 0; i < warmup + iters; i++) {
            long t0 = System.nanoTime();
            b.forwardTrain(x, i);
            b.backward(g);
            sgd.step(b.parameters(), b.gradients(), 1e-3);
            if (i >= warmup) {
                train.add(Stats.ms(t0, System.nanoTime()));
            }
        }
        InferenceModel inf = b.inference();
        List<Double> infer = new ArrayList<>();
        for (int i = 0; i < warmup + iters; i++) {
            long t0 = System.nanoTime();
            inf.embed(x);
            if (i >= warmup) {
                infer.add(Stats.ms(t0, System.nanoTime()));
            }
        }
        NativeBuild loaded = NativeBuild.loaded();
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("params", params);
        r.put("train_ms", train);
        r.put("infer_ms", infer);
        r.put("peak_rss_mb", BackboneBench.peakRssMb());
        r.put("native_build", (loaded != null ? loaded : build).key());
        out.println(new ObjectMapper().writeValueAsString(r));
    }
}
