package org.plsc4j.elastic.internal;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;
import org.bytedeco.javacpp.Pointer;
import org.plsc4j.coordinator.WorkerReport;
import org.plsc4j.coordinator.WorkerReporter;
import org.plsc4j.metrics.PlscMetrics;
import org.plsc4j.worker.TrainingListener;

/**
 * The elastic worker's {@link TrainingListener}: every step goes to the Prometheus instruments and
 * into the worker's live report (written to ZooKeeper by the {@link WorkerReporter} at its own
 * bounded rate). Steps per second are an exponential average over about ten steps, so one slow
 * step (an evaluation, a checkpoint) does not make the rate jump.
 */
public final class WorkerProgress implements TrainingListener {

    private static final double SMOOTHING = 0.2;
    private static final AtomicBoolean GAUGES = new AtomicBoolean();

    private final WorkerReporter reporter;
    private final String workerId;
    private final String host;
    private final String device;
    private final String metricsUrl;
    private final LongSupplier flushVersion;
    private long generation;
    private int rank = -1;
    private int classStart;
    private int classEnd;
    private double stepsPerSec = Double.NaN;

    /**
     * Progress of worker {@code workerId} to {@code reporter}; {@code flushVersion} gives its last
     * completed flush, {@code metricsUrl} where its /metrics is ("" for none).
     */
    public WorkerProgress(WorkerReporter reporter, String workerId, String host, String device, String metricsUrl,
                          LongSupplier flushVersion) {
        this.reporter = reporter;
        this.workerId = workerId;
        this.host = host;
        this.device = device;
        this.metricsUrl = metricsUrl;
        this.flushVersion = flushVersion;
        PlscMetrics.RANK.set(-1);
    }

    /**
     * Registers the off-heap gauges once per process: bytes JavaCPP (ND4J's native arrays) has
     * allocated, and the process's physical memory as JavaCPP measures it.
     */
    public static void registerMemoryGauges() {
        if (GAUGES.compareAndSet(false, true)) {
            PlscMetrics.registerGauge("plsc4j_offheap_javacpp_bytes",
                    "Off-heap bytes allocated through JavaCPP (ND4J native arrays).", Pointer::totalBytes);
            PlscMetrics.registerGauge("plsc4j_process_physical_bytes",
                    "Physical memory (resident set) of this process.", Pointer::physicalBytes);
        }
    }

    /** Reports the worker waiting (no generation yet), before training starts. */
    public void waiting() {
        reporter.update(report(0, 0, 0, Double.NaN, Double.NaN, Double.NaN, 0));
    }

    @Override
    public void generationStarted(long generation, int rank, int worldSize, int classStart, int classEnd) {
        this.generation = generation;
        this.rank = rank;
        this.classStart = classStart;
        this.classEnd = classEnd;
        this.stepsPerSec = Double.NaN;
        PlscMetrics.GENERATION.set(generation);
        PlscMetrics.RANK.set(rank);
        PlscMetrics.CLASSES.set(classEnd - classStart);
        WorkerReport last = reporter.latest();
        reporter.update(last == null ? report(0, 0, 0, Double.NaN, Double.NaN, Double.NaN, 0)
                : report(last.epoch(), last.step(), last.totalSteps(), last.loss(), last.lr(), Double.NaN, 0));
    }

    @Override
    public void stepDone(Step s) {
        double rate = s.seconds() > 0 ? 1.0 / s.seconds() : Double.NaN;
        stepsPerSec = Double.isNaN(stepsPerSec) ? rate : (1 - SMOOTHING) * stepsPerSec + SMOOTHING * rate;
        PlscMetrics.STEP_SECONDS.observe(s.seconds());
        PlscMetrics.STEPS.inc();
        PlscMetrics.STEP.set(s.globalStep());
        PlscMetrics.LOSS.set(s.loss());
        PlscMetrics.LR.set(s.lr());
        PlscMetrics.SAMPLES_PER_SECOND.set(stepsPerSec * s.globalBatch());
        reporter.update(report(s.epoch(), s.globalStep(), s.totalSteps(), s.loss(), s.lr(), stepsPerSec,
                s.globalBatch()));
    }

    private WorkerReport report(int epoch, long step, long total, double loss, double lr, double sps, int batch) {
        return new WorkerReport(workerId, host, ProcessHandle.current().pid(), device, generation, rank, classStart,
                classEnd, epoch, step, total, sps, sps * batch, loss, lr, flushVersion.getAsLong(), metricsUrl,
                System.currentTimeMillis());
    }
}
