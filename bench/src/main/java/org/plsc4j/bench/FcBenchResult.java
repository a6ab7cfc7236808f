package org.plsc4j.bench;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.annotation.JsonUnwrapped;
import java.util.List;

/**
 * What one {@code plsc4j bench fc} run measured; {@code --json} prints it as one JSON object.
 *
 * <p>Why a record with explicit names: the JSON field names are a public contract (scripts and CI
 * compare runs by them), so they must not follow Java renames. Fields that were not measured (DL4J
 * skipped with {@code --no-dl4j}, no {@code /proc} on this OS) are {@code null}.
 *
 * @param version plsc4j version that ran the benchmark
 * @param classes total number of classes C
 * @param emb embedding size D
 * @param batch global batch B (over all workers)
 * @param workers number of ranks N (threads of this JVM joined through the in-process collective)
 * @param sampleRatio Partial FC sample ratio r
 * @param sampledClasses S: classes sampled per step summed over ranks (median over timed steps); C when r = 1
 * @param steps number of timed steps K
 * @param warmup number of untimed warm-up steps
 * @param seed seed of the inputs, the weights and the sampling
 * @param lr learning rate of both plsc4j and DL4J
 * @param threads OMP_NUM_THREADS as seen by the process (native BLAS threads), or the core count when unset
 * @param sgemmGflops fp32 ND4J gemm rate on 2048³ (GFLOP/s, median)
 * @param fcStepMs wall time of one global plsc4j FC step (ms, median of the timed steps)
 * @param fcStepMsAll every timed global step (ms)
 * @param floorMs 6·B·D·S / sgemm rate: the time the step's three products take at the sgemm rate (ms)
 * @param rooflineFraction floor_ms / fc_step_ms
 * @param dl4jSteps number of timed DL4J fits
 * @param dl4jStepMs DL4J OutputLayer fit on one minibatch (ms, median)
 * @param dl4jStepMsAll every timed DL4J fit (ms)
 * @param speedupVsDl4j dl4j_step_ms / fc_step_ms
 * @param peakRssMb peak resident memory (VmHWM, MiB) right after the plsc4j phase
 * @param dl4jPeakRssMb peak resident memory (MiB) during the DL4J phase, the peak being reset before it
 * @param lossFirst plsc4j loss of the first step (step 0, a warm-up step when warmup &gt; 0)
 * @param lossLast plsc4j loss of the last timed step
 * @param device "cpu" or "cuda:K" ({@code --device})
 * @param engine the FC step that ran: "fused" or "ops" ({@code --engine}, auto: ops on CUDA)
 * @param discipline what was added for issue 13 (alternation, spreads, load, the PyTorch baseline), its
 *     fields written after the ones above, at the same level ({@link FcBenchDiscipline})
 */
@JsonInclude(JsonInclude.Include.ALWAYS)
@JsonPropertyOrder({"version", "classes", "emb", "batch", "workers", "sample_ratio", "sampled_classes", "steps",
    "warmup", "seed", "lr", "threads", "sgemm_gflops", "fc_step_ms", "fc_step_ms_all", "floor_ms",
    "roofline_fraction", "dl4j_steps", "dl4j_step_ms", "dl4j_step_ms_all", "speedup_vs_dl4j", "peak_rss_mb",
    "dl4j_peak_rss_mb", "loss_first", "loss_last", "device", "engine", "discipline"})
public record FcBenchResult(
        @JsonProperty("version") String version,
        @JsonProperty("classes") int classes,
        @JsonProperty("emb") int emb,
        @JsonProperty("batch") int batch,
        @JsonProperty("workers") int workers,
        @JsonProperty("sample_ratio") double sampleRatio,
        @JsonProperty("sampled_classes") long sampledClasses,
        @JsonProperty("steps") int steps,
        @JsonProperty("warmup") int warmup,
        @JsonProperty("seed") long seed,
        @JsonProperty("lr") double lr,
        @JsonProperty("threads") int threads,
        @JsonProperty("sgemm_gflops") double sgemmGflops,
        @JsonProperty("fc_step_ms") double fcStepMs,
        @JsonProperty("fc_step_ms_all") List<Double> fcStepMsAll,
        @JsonProperty("floor_ms") double floorMs,
        @JsonProperty("roofline_fraction") double rooflineFraction,
        @JsonProperty("dl4j_steps") Integer dl4jSteps,
        @JsonProperty("dl4j_step_ms") Double dl4jStepMs,
        @JsonProperty("dl4j_step_ms_all") List<Double> dl4jStepMsAll,
        @JsonProperty("speedup_vs_dl4j") Double speedupVsDl4j,
        @JsonProperty("peak_rss_mb") Long peakRssMb,
        @JsonProperty("dl4j_peak_rss_mb") Long dl4jPeakRssMb,
        @JsonProperty("loss_first") Double lossFirst,
        @JsonProperty("loss_last") Double lossLast,
        @JsonProperty("device") String device,
        @JsonProperty("engine") String engine,
        @JsonUnwrapped FcBenchDiscipline discipline) {

    /** Non-finite numbers become {@code null}: JSON has no NaN. */
    public FcBenchResult {
        lossFirst = finiteOrNull(lossFirst);
        lossLast = finiteOrNull(lossLast);
        dl4jStepMs = finiteOrNull(dl4jStepMs);
        speedupVsDl4j = finiteOrNull(speedupVsDl4j);
        fcStepMsAll = List.copyOf(fcStepMsAll);
        dl4jStepMsAll = dl4jStepMsAll == null ? null : List.copyOf(dl4jStepMsAll);
    }

    private static Double finiteOrNull(Double v) {
        return v == null || !Double.isFinite(v) ? null : v;
    }
}
