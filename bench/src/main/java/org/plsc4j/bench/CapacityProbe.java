package org.plsc4j.bench;

import org.plsc4j.core.NativeBuild;
import java.time.Duration;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.UUID;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.core.FcConfig;
import org.plsc4j.core.FcDtype;
import org.plsc4j.core.MarginConfig;
import org.plsc4j.core.PartialFc;
import org.plsc4j.core.collective.Collective;
import org.plsc4j.core.collective.CollectiveConfig;
import org.plsc4j.core.collective.Collectives;

/**
 * One probe of {@code bench capacity}, run in a child JVM whose heap and off-heap limits are the
 * memory budget: builds an FC of C classes (plsc4j's {@link PartialFc} on one rank, or a DL4J
 * {@code OutputLayer}) and trains it for a number of steps on random features and labels. Exit 0 with
 * one result line on stdout when it fits; an OutOfMemoryError exits with {@link #EXIT_OOM}.
 *
 * <p>Why a child JVM: running out of memory is the measurement, and ND4J's native memory is not
 * reliably returned to the OS within a JVM, so each class count gets a fresh process.
 */
final class CapacityProbe {

    /** Exit status of a probe that ran out of memory. */
    static final int EXIT_OOM = 3;

    private CapacityProbe() {
    }

    /**
     * {@code impl classes emb batch sampleRatio fcDtype steps seed}; impl is plsc4j or dl4j; DL4J's
     * network stores in the type matching fcDtype ({@link #dl4jType}).
     */
    public static void main(String[] args) {
        NativeBuild.select(); // the parent passes its choice with -D
        try {
            String impl = args[0];
            int classes = Integer.parseInt(args[1]);
            int emb = Integer.parseInt(args[2]);
            int batch = Integer.parseInt(args[3]);
            double ratio = Double.parseDouble(args[4]);
            FcDtype dtype = FcDtype.parse("fc_dtype", args[5]);
            int steps = Integer.parseInt(args[6]);
            long seed = Long.parseLong(args[7]);
            Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);
            SplittableRandom rng = new SplittableRandom(seed);
            float[] x = new float[batch * emb];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) rng.nextGaussian();
            }
            int[] labels = rng.ints(batch, 0, classes).toArray();
            long t0 = System.nanoTime();
            double[] stepMs;
            long initMs;
            if (impl.equals("dl4j")) {
                Dl4jBaseline.Result r = Dl4jBaseline.run(x, labels, classes, emb, 0.1, seed, Math.max(1, steps - 1),
                        dl4jType(dtype));
                stepMs = r.stepMs();
                initMs = -1;
            } else {
                stepMs = new double[steps];
                CollectiveConfig cc = CollectiveConfig.builder().jobId("capacity-" + UUID.randomUUID()).worldSize(1)
                        .timeout(Duration.ofHours(1)).build();
                try (Collective c = Collectives.join("inprocess", cc)) {
                    FcConfig cfg = FcConfig.builder().numClasses(classes).embSize(emb).margin(MarginConfig.arcface(0.5, 64))
                            .sampleRatio(ratio).momentum(0.9).weightDecay(5e-4).seed(seed).build();
                    PartialFc fc = PartialFc.create(cfg, c, PartialFc.DEFAULT_CHUNK, dtype, dtype);
                    initMs = Math.round(Stats.ms(t0, System.nanoTime()));
                    System.err.printf(Locale.ROOT, "probe: %d classes x %d %s initialised in %d ms%n", classes, emb, dtype,
                            initMs);
                    var features = Nd4j.create(x, new long[] {batch, emb}, 'c');
                    for (int s = 0; s < steps; s++) {
                        long s0 = System.nanoTime();
                        PartialFc.StepResult r = fc.step(features, labels, 0.1, s);
                        stepMs[s] = Stats.ms(s0, System.nanoTime());
                        System.err.printf(Locale.ROOT, "probe: step %d/%d %.0f ms, loss %.4f%n", s + 1, steps, stepMs[s],
                                r.loss());
                    }
                }
            }
            StringBuilder sb = new StringBuilder("{\"ok\":true,\"init_ms\":").append(initMs).append(",\"step_ms\":[");
            for (int i = 0; i < stepMs.length; i++) {
                sb.append(i == 0 ? "" : ",").append(String.format(Locale.ROOT, "%.3f", stepMs[i]));
            }
            System.out.println(sb.append("]}"));
            System.out.flush();
            System.exit(0);
        } catch (OutOfMemoryError e) {
            System.err.println("probe: out of memory: " + e.getMessage());
            System.exit(EXIT_OOM);
        } catch (RuntimeException e) {
            if (isOom(e)) {
                System.err.println("probe: out of memory: " + e);
                System.exit(EXIT_OOM);
            }
            e.printStackTrace();
            System.exit(1);
        }
    }

    /** The DL4J network data type storing like {@code dtype}: HALF for float16, BFLOAT16, FLOAT. */
    static DataType dl4jType(FcDtype dtype) {
        return dtype.dataType();
    }

    /** ND4J wraps native allocation failures in its own exceptions. */
    private static boolean isOom(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            String m = String.valueOf(t.getMessage()).toLowerCase(Locale.ROOT);
            if (t instanceof OutOfMemoryError || m.contains("out of memory") || m.contains("cannot allocate")
                    || m.contains("failed to allocate") || m.contains("physicalbytes")) {
                return true;
            }
        }
        return false;
    }
}
