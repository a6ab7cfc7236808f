package org.plsc4j.worker.internal;

import java.nio.file.Files;
import java.nio.file.Path;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.core.NativeBuild;
import org.plsc4j.worker.Backbone;
import org.plsc4j.worker.BackboneConfig;
import org.plsc4j.worker.Backbones;

/** Manual calibration: peak RSS of one training step at batch b vs the estimate. args: model size batch */
public final class MemoryProbe {
    public static void main(String[] args) throws Exception {
        NativeBuild.select();
        String model = args[0];
        int size = Integer.parseInt(args[1]);
        int b = Integer.parseInt(args[2]);
        Backbone bb = Backbones.create(model, BackboneConfig.of(512, 3, size, size, 1));
        long est = bb.trainingBytesPerSample();
        var x = Nd4j.rand(DataType.FLOAT, b, 3, size, size);
        bb.forwardTrain(x, 1);
        bb.backward(Nd4j.rand(DataType.FLOAT, b, 512));
        System.gc();
        long base = ProcessMemory.residentBytes();
        Files.writeString(Path.of("/proc/self/clear_refs"), "5");
        long t0 = System.nanoTime();
        bb.forwardTrain(x, 2);
        bb.backward(Nd4j.rand(DataType.FLOAT, b, 512));
        long peak = rss("VmHWM");
        System.out.printf("model %s %d batch %d: estimate/sample %d MB, base %d MB, peak %d MB, step peak-base %d MB"
                + " = %d MB/sample, step %.1f s%n", model, size, b, est >> 20, base >> 20, peak >> 20,
                (peak - base) >> 20, ((peak - base) / b) >> 20, (System.nanoTime() - t0) / 1e9);
    }

    static long rss(String key) throws Exception {
        for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (l.startsWith(key + ":")) {
                return Long.parseLong(l.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        return -1;
    }
}
