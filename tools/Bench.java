import java.nio.file.*;
import java.util.*;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.worker.*;

/** Throw-away harness of issue 12: ResNet50 train (forward, backward, momentum SGD) or inference steps; one JSON line. */
public class Bench {
    static String hwm() throws Exception {
        for (String l : Files.readAllLines(Paths.get("/proc/self/status"))) if (l.startsWith("VmHWM")) return l.replaceAll("\\D+", "");
        return "?";
    }
    public static void main(String[] a) throws Exception {
        String mode = a[0]; int batch = Integer.parseInt(a[1]); int steps = Integer.parseInt(a[2]);
        String model = a.length > 3 ? a[3] : "ResNet50";
        int size = a.length > 4 ? Integer.parseInt(a[4]) : 112;
        Backbone bb = Backbones.create(model, BackboneConfig.of(512, 3, size, size, 1));
        INDArray x = Nd4j.randn(DataType.FLOAT, batch, 3, size, size);
        INDArray g = Nd4j.randn(DataType.FLOAT, batch, 512);
        Map<String, INDArray> mom = new HashMap<>();
        bb.parameters().forEach((k, v) -> mom.put(k, Nd4j.zeros(v.dataType(), v.shape())));
        double[] t = new double[steps];
        for (int s = 0; s < steps + 1; s++) {
            long t0 = System.nanoTime();
            if (mode.equals("train")) {
                bb.forwardTrain(x, s);
                bb.backward(g);
                for (Map.Entry<String, INDArray> e : bb.parameters().entrySet()) {
                    INDArray m = mom.get(e.getKey());
                    m.muli(0.9).addi(bb.gradients().get(e.getKey()));
                    e.getValue().subi(m.mul(0.01));
                }
            } else {
                bb.inference().embed(x);
            }
            double dt = (System.nanoTime() - t0) / 1e9;
            if (s > 0) t[s - 1] = dt;
            if (System.getenv("VERBOSE") != null) System.err.println("step " + s + " " + dt);
        }
        double[] sorted = t.clone(); Arrays.sort(sorted);
        double med = sorted[steps / 2];
        System.out.printf("{\"engine\": \"%s\", \"model\": \"%s\", \"mode\": \"%s\", \"batch\": %d, \"median_s\": %.4f, \"min_s\": %.4f, \"max_s\": %.4f, \"img_per_s\": %.3f, \"peak_rss_mib\": %d}%n",
            bb.getClass().getSimpleName(), model, mode, batch, med, sorted[0], sorted[steps - 1], batch / med, Long.parseLong(hwm()) / 1024);
    }
}
