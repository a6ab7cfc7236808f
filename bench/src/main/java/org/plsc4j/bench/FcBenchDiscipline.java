package org.plsc4j.bench;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.util.List;

/**
 * The fields {@code bench fc --json} gained with issue 13 ("benchmarks that survive a skeptic"),
 * written flat after {@link FcBenchResult}'s: how the sides were scheduled, every side's spread, the
 * load average around the run, and the PyTorch (arcface_torch-style) baseline. Additive only: the
 * older fields keep their names and meaning. Not measured = {@code null}; when the torch baseline was
 * asked for but could not run, {@code torch_unavailable_reason} says why.
 *
 * @param alternated true: plsc4j and every baseline ran iteration by iteration, interleaved, in rotated
 *     order, with the same warm-up and timed counts
 * @param baselines the baselines that ran ("dl4j", "torch"), in their alternation order after plsc4j
 * @param collective how the ranks were joined: "inprocess" (threads of this JVM) or "netty" (ranks 1..N-1
 *     in child JVMs, joined to this one over 127.0.0.1; {@code --processes})
 * @param fcStepMsMin fastest timed plsc4j step (ms)
 * @param fcStepMsMax slowest timed plsc4j step (ms)
 * @param fcStepMsQ1 lower quartile of the timed plsc4j steps (ms)
 * @param fcStepMsQ3 upper quartile (ms)
 * @param dl4jWarmup untimed DL4J fits (= warmup)
 * @param dl4jStepMsMin fastest timed DL4J fit (ms)
 * @param dl4jStepMsMax slowest (ms)
 * @param dl4jStepMsQ1 lower quartile (ms)
 * @param dl4jStepMsQ3 upper quartile (ms)
 * @param torchVersion torch.__version__ of the baseline's python
 * @param torchThreads torch.get_num_threads() of the baseline (set to {@code threads})
 * @param torchSteps timed torch steps (= steps)
 * @param torchWarmup untimed torch steps (= warmup)
 * @param torchSampledClasses class centers the torch step used (median over timed steps)
 * @param torchStepMs the arcface_torch-style Partial FC step (ms, median of the timed steps)
 * @param torchStepMsAll every timed torch step (ms)
 * @param torchStepMsMin fastest (ms)
 * @param torchStepMsMax slowest (ms)
 * @param torchStepMsQ1 lower quartile (ms)
 * @param torchStepMsQ3 upper quartile (ms)
 * @param torchLossFirst torch loss at step 0
 * @param torchLossLast torch loss at the last timed step
 * @param torchPeakRssMb the torch process's peak RSS (VmHWM, MiB)
 * @param speedupVsTorch torch_step_ms / fc_step_ms
 * @param torchUnavailableReason why the torch fields are null (not asked for, or python cannot import torch)
 * @param loadAverageBefore 1-minute load average before the first measurement
 * @param loadAverageAfter 1-minute load average after the last
 * @param alternation what alternates: "step" (every side resident for the whole run, one step of each in
 *     rotated order) or "round" ({@code --one-at-a-time}: one side resident at a time, each running its
 *     warm-up and timed steps from fresh initial weights, in rotated order per round)
 * @param rounds rounds of that alternation (1 for "step"); every side has {@code rounds * steps} timed steps
 */
@JsonInclude(JsonInclude.Include.ALWAYS)
@JsonPropertyOrder({"alternated", "baselines", "collective", "fc_step_ms_min", "fc_step_ms_max", "fc_step_ms_q1", "fc_step_ms_q3",
    "dl4j_warmup", "dl4j_step_ms_min", "dl4j_step_ms_max", "dl4j_step_ms_q1", "dl4j_step_ms_q3", "torch_version",
    "torch_threads", "torch_steps", "torch_warmup", "torch_sampled_classes", "torch_step_ms", "torch_step_ms_all",
    "torch_step_ms_min", "torch_step_ms_max", "torch_step_ms_q1", "torch_step_ms_q3", "torch_loss_first",
    "torch_loss_last", "torch_peak_rss_mb", "speedup_vs_torch", "torch_unavailable_reason", "load_average_before",
    "load_average_after", "alternation", "rounds"})
public record FcBenchDiscipline(
        @JsonProperty("alternated") boolean alternated,
        @JsonProperty("baselines") List<String> baselines,
        @JsonProperty("collective") String collective,
        @JsonProperty("fc_step_ms_min") double fcStepMsMin,
        @JsonProperty("fc_step_ms_max") double fcStepMsMax,
        @JsonProperty("fc_step_ms_q1") double fcStepMsQ1,
        @JsonProperty("fc_step_ms_q3") double fcStepMsQ3,
        @JsonProperty("dl4j_warmup") Integer dl4jWarmup,
        @JsonProperty("dl4j_step_ms_min") Double dl4jStepMsMin,
        @JsonProperty("dl4j_step_ms_max") Double dl4jStepMsMax,
        @JsonProperty("dl4j_step_ms_q1") Double dl4jStepMsQ1,
        @JsonProperty("dl4j_step_ms_q3") Double dl4jStepMsQ3,
        @JsonProperty("torch_version") String torchVersion,
        @JsonProperty("torch_threads") Integer torchThreads,
        @JsonProperty("torch_steps") Integer torchSteps,
        @JsonProperty("torch_warmup") Integer torchWarmup,
        @JsonProperty("torch_sampled_classes") Long torchSampledClasses,
        @JsonProperty("torch_step_ms") Double torchStepMs,
        @JsonProperty("torch_step_ms_all") List<Double> torchStepMsAll,
        @JsonProperty("torch_step_ms_min") Double torchStepMsMin,
        @JsonProperty("torch_step_ms_max") Double torchStepMsMax,
        @JsonProperty("torch_step_ms_q1") Double torchStepMsQ1,
        @JsonProperty("torch_step_ms_q3") Double torchStepMsQ3,
        @JsonProperty("torch_loss_first") Double torchLossFirst,
        @JsonProperty("torch_loss_last") Double torchLossLast,
        @JsonProperty("torch_peak_rss_mb") Double torchPeakRssMb,
        @JsonProperty("speedup_vs_torch") Double speedupVsTorch,
        @JsonProperty("torch_unavailable_reason") String torchUnavailableReason,
        @JsonProperty("load_average_before") Double loadAverageBefore,
        @JsonProperty("load_average_after") Double loadAverageAfter,
        @JsonProperty("alternation") String alternation,
        @JsonProperty("rounds") int rounds) {

    /** Non-finite numbers become {@code null}: JSON has no NaN. */
    public FcBenchDiscipline {
        baselines = List.copyOf(baselines);
        torchStepMsAll = torchStepMsAll == null ? null : List.copyOf(torchStepMsAll);
        torchLossFirst = finiteOrNull(torchLossFirst);
        torchLossLast = finiteOrNull(torchLossLast);
        speedupVsTorch = finiteOrNull(speedupVsTorch);
    }

    private static Double finiteOrNull(Double v) {
        return v == null || !Double.isFinite(v) ? null : v;
    }
}
