package org.plsc4j.elastic;

import java.time.Duration;
import java.util.UUID;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.core.Device;
import org.plsc4j.core.FcConfig;
import org.plsc4j.core.PartialFc;
import org.plsc4j.core.collective.Collective;
import org.plsc4j.core.collective.CollectiveConfig;
import org.plsc4j.core.collective.CollectiveProvider;
import org.plsc4j.core.collective.Collectives;

/**
 * The CPU path of a worker, run in a forked JVM by {@link CpuPathLoadsNoCudaClassTest}: the device check,
 * every collective provider (ServiceLoader instantiates them all, the NCCL one too in a -Pcuda build),
 * a group and one FC step with the engine chosen by backend.
 */
public final class CpuPathProbe {

    private CpuPathProbe() {
    }

    /** Runs the path; prints the engine and the providers. */
    public static void main(String[] args) {
        Device d = Device.parse("cpu");
        d.check();
        StringBuilder names = new StringBuilder();
        for (CollectiveProvider p : Collectives.providers()) {
            names.append(p.name()).append(' ');
        }
        try (Collective c = Collectives.join("inprocess", CollectiveConfig.builder().jobId("probe-" + UUID.randomUUID())
                .timeout(Duration.ofSeconds(30)).build())) {
            FcConfig cfg = FcConfig.builder().numClasses(40).embSize(8).sampleRatio(0.5).build();
            PartialFc fc = PartialFc.create(cfg, c);
            PartialFc.StepResult r = fc.step(Nd4j.rand(4, 8), new int[] {1, 2, 3, 4}, 0.1, 0);
            System.out.println("engine=" + fc.engine() + " loss=" + r.loss() + " providers=" + names.toString().strip());
        }
    }
}
