package org.plsc4j.metrics;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.DoubleSupplier;

/**
 * The instruments of a plsc4j process, registered once on the Prometheus client's default registry.
 *
 * <p>Why process-wide singletons: one worker process is one scrape target, and the code that
 * measures (the trainer, the collective, the flusher, the store) is spread over modules that should
 * not pass a registry around. Names are a public contract (README, "Monitoring"): only ever added.
 */
public final class PlscMetrics {

    private static final PrometheusRegistry REGISTRY = PrometheusRegistry.defaultRegistry;
    private static final AtomicBoolean JVM = new AtomicBoolean();
    private static final double[] SECONDS = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
        30, 60};

    /** Seconds of one training step (forward, backward, collectives, update), on every rank. */
    public static final Histogram STEP_SECONDS = Histogram.builder().name("plsc4j_train_step_seconds")
            .help("Duration of one training step on this worker.").classicOnly().classicUpperBounds(SECONDS)
            .register(REGISTRY);
    /** Training steps done by this worker. */
    public static final Counter STEPS = Counter.builder().name("plsc4j_train_steps")
            .help("Training steps done by this worker.").register(REGISTRY);
    /** The global step counter of the last step. */
    public static final Gauge STEP = Gauge.builder().name("plsc4j_train_global_step")
            .help("Global step of the last step this worker did.").register(REGISTRY);
    /** Samples per second of the whole job (global batch / step time), as this worker sees it. */
    public static final Gauge SAMPLES_PER_SECOND = Gauge.builder().name("plsc4j_train_samples_per_second")
            .help("Global batch size divided by this worker's last step time.").register(REGISTRY);
    /** The loss of the last step (the same on every rank). */
    public static final Gauge LOSS = Gauge.builder().name("plsc4j_train_loss")
            .help("Loss of the last step.").register(REGISTRY);
    /** The learning rate of the last step. */
    public static final Gauge LR = Gauge.builder().name("plsc4j_train_lr")
            .help("Learning rate of the last step.").register(REGISTRY);
    /** The generation this worker trains in (0 while it waits for one). */
    public static final Gauge GENERATION = Gauge.builder().name("plsc4j_worker_generation")
            .help("Generation this worker trains in (0: none).").register(REGISTRY);
    /** This worker's rank (-1 while it has none). */
    public static final Gauge RANK = Gauge.builder().name("plsc4j_worker_rank")
            .help("Rank of this worker in its generation (-1: none).").register(REGISTRY);
    /** The number of classes this worker owns. */
    public static final Gauge CLASSES = Gauge.builder().name("plsc4j_worker_classes")
            .help("Number of FC classes (rows) this worker owns.").register(REGISTRY);

    /** Bytes a collective operation moved through this rank (its payload), by operation. */
    public static final Counter COLLECTIVE_BYTES = Counter.builder().name("plsc4j_collective_bytes")
            .help("Payload bytes of collective operations on this rank, by operation.").labelNames("op")
            .register(REGISTRY);
    /** Seconds spent in collective operations, by operation. */
    public static final Counter COLLECTIVE_SECONDS = Counter.builder().name("plsc4j_collective_seconds")
            .help("Seconds spent in collective operations on this rank, by operation.").labelNames("op")
            .register(REGISTRY);
    /** Collective operations, by operation. */
    public static final Counter COLLECTIVE_OPS = Counter.builder().name("plsc4j_collective_ops")
            .help("Collective operations on this rank, by operation.").labelNames("op").register(REGISTRY);

    /** Seconds of one write of this worker's FC rows to the shard store. */
    public static final Histogram FLUSH_SECONDS = Histogram.builder().name("plsc4j_flush_seconds")
            .help("Duration of one write of this worker's FC rows to the shard store.").classicOnly()
            .classicUpperBounds(SECONDS).register(REGISTRY);
    /** Flushes skipped because the previous one was still running. */
    public static final Counter FLUSH_SKIPPED = Counter.builder().name("plsc4j_flush_skipped")
            .help("Flushes skipped because the previous one was still running.").register(REGISTRY);
    /** The version (global step) of the last completed flush. */
    public static final Gauge FLUSH_VERSION = Gauge.builder().name("plsc4j_flush_version")
            .help("Version (global step) of this worker's last completed flush.").register(REGISTRY);
    /** Bytes written to / read from the shard store (weights and momentum rows), by direction. */
    public static final Counter STORE_BYTES = Counter.builder().name("plsc4j_store_bytes")
            .help("Bytes of FC rows written to or read from the shard store.").labelNames("direction")
            .register(REGISTRY);

    /** The job's current generation, as its coordinator sees it. */
    public static final Gauge JOB_GENERATION = Gauge.builder().name("plsc4j_job_generation")
            .help("Current generation of the job (coordinator).").labelNames("job").register(REGISTRY);
    /** The current generation's world size. */
    public static final Gauge JOB_WORLD_SIZE = Gauge.builder().name("plsc4j_job_world_size")
            .help("World size of the job's current generation (coordinator).").labelNames("job").register(REGISTRY);
    /** Restarts used so far (generations caused by lost workers). */
    public static final Gauge JOB_RESTARTS = Gauge.builder().name("plsc4j_job_restarts")
            .help("Restarts the job has used (coordinator).").labelNames("job").register(REGISTRY);
    /** Registered workers (members and standbys). */
    public static final Gauge JOB_REGISTERED = Gauge.builder().name("plsc4j_job_registered_workers")
            .help("Workers registered in the job (coordinator).").labelNames("job").register(REGISTRY);

    private PlscMetrics() {
    }

    /** The registry the instruments are on (the client's default registry). */
    public static PrometheusRegistry registry() {
        return REGISTRY;
    }

    /** Registers the client's JVM metrics (memory pools, buffer pools, GC, threads) once per process. */
    public static void registerJvm() {
        if (JVM.compareAndSet(false, true)) {
            JvmMetrics.builder().register(REGISTRY);
        }
    }

    /**
     * Registers a gauge read at every scrape (e.g. off-heap bytes of the tensor library, which this
     * module does not know). Call once per name.
     */
    public static void registerGauge(String name, String help, DoubleSupplier value) {
        GaugeWithCallback.builder().name(name).help(help).callback(cb -> cb.call(value.getAsDouble()))
                .register(REGISTRY);
    }
}
