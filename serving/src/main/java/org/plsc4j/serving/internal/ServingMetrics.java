package org.plsc4j.serving.internal;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.nio.charset.StandardCharsets;
import org.plsc4j.metrics.Exposition;

/**
 * What {@code GET /metrics} shows, in the Prometheus text format, through the Prometheus Java client
 * and the exposition every plsc4j process shares ({@link Exposition}): requests by endpoint and
 * status code, request latency, images embedded, and per forward pass the number of images and of
 * requests merged into it (the batching at work).
 *
 * <p>One registry per server (not the process's default): two servers in one JVM (tests, a bench)
 * count separately. Endpoint labels are the known paths only (anything else is {@code other}), so
 * that a client cannot grow the label set.
 */
public final class ServingMetrics {

    /** Known endpoints, used as label values. */
    public static final String[] ENDPOINTS = {"/v1/embeddings", "/FaceClassifyService/inference", "/healthz",
        "/v1/model", "/metrics"};

    private static final double[] SECONDS = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Counter requests = Counter.builder().name("plsc4j_serving_requests")
            .help("Requests answered, by endpoint and status code.").labelNames("endpoint", "code").register(registry);
    private final Counter images = Counter.builder().name("plsc4j_serving_images")
            .help("Images embedded.").register(registry);
    private final Histogram latency = Histogram.builder().name("plsc4j_serving_request_duration_seconds")
            .help("Time from a complete request to its response being written.").classicOnly()
            .classicUpperBounds(SECONDS).register(registry);
    private final Histogram batchImages = Histogram.builder().name("plsc4j_serving_batch_images")
            .help("Images per forward pass.").classicOnly().classicUpperBounds(1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
            .register(registry);
    private final Histogram batchRequests = Histogram.builder().name("plsc4j_serving_batch_requests")
            .help("Requests merged into one forward pass.").classicOnly()
            .classicUpperBounds(1, 2, 4, 8, 16, 32, 64, 128).register(registry);
    private final Histogram forward = Histogram.builder().name("plsc4j_serving_forward_seconds")
            .help("Duration of one forward pass.").classicOnly().classicUpperBounds(SECONDS).register(registry);

    /** The label value for {@code path}. */
    public static String endpoint(String path) {
        for (String e : ENDPOINTS) {
            if (e.equals(path)) {
                return e;
            }
        }
        return "other";
    }

    /** Records a request answered with {@code status} after {@code seconds}. */
    public void request(String endpoint, int status, double seconds) {
        requests.labelValues(endpoint, Integer.toString(status)).inc();
        latency.observe(seconds);
    }

    /** Records one forward pass. */
    public void batch(int nImages, int nRequests, double seconds) {
        images.inc(nImages);
        batchImages.observe(nImages);
        batchRequests.observe(nRequests);
        forward.observe(seconds);
    }

    /** The exposition text. */
    public String render() {
        return new String(Exposition.scrape(registry), StandardCharsets.UTF_8);
    }

    /** The content type of {@link #render()}. */
    public static String contentType() {
        return Exposition.CONTENT_TYPE;
    }
}
