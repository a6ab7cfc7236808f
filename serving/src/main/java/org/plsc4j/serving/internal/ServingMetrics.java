package org.plsc4j.serving.internal;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * What {@code GET /metrics} shows, in the Prometheus text format (written by hand, see
 * {@link Histogram}): requests by endpoint and status code, request latency, images embedded, and
 * per forward pass the number of images and of requests merged into it (the batching at work).
 *
 * <p>Endpoint labels are the known paths only (anything else is {@code other}), so that a client
 * cannot grow the label set.
 */
public final class ServingMetrics {

    /** Known endpoints, used as label values. */
    public static final String[] ENDPOINTS = {"/v1/embeddings", "/FaceClassifyService/inference", "/healthz",
        "/v1/model", "/metrics"};

    private final Map<String, LongAdder> requests = new ConcurrentHashMap<>();
    private final LongAdder images = new LongAdder();
    private final Histogram latency = new Histogram("plsc4j_serving_request_duration_seconds",
            "Time from a complete request to its response being written.",
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10);
    private final Histogram batchImages = new Histogram("plsc4j_serving_batch_images",
            "Images per forward pass.", 1, 2, 4, 8, 16, 32, 64, 128, 256, 512);
    private final Histogram batchRequests = new Histogram("plsc4j_serving_batch_requests",
            "Requests merged into one forward pass.", 1, 2, 4, 8, 16, 32, 64, 128);
    private final Histogram forward = new Histogram("plsc4j_serving_forward_seconds",
            "Duration of one forward pass.", 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10);

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
        requests.computeIfAbsent(endpoint + '\u0000' + status, k -> new LongAdder()).increment();
        latency.observe(seconds);
    }

    /** Records one forward pass. */
    public void batch(int nImages, int nRequests, double seconds) {
        images.add(nImages);
        batchImages.observe(nImages);
        batchRequests.observe(nRequests);
        forward.observe(seconds);
    }

    /** The exposition text. */
    public String render() {
        StringBuilder sb = new StringBuilder(4096);
        sb.append("# HELP plsc4j_serving_requests_total Requests answered, by endpoint and status code.\n");
        sb.append("# TYPE plsc4j_serving_requests_total counter\n");
        for (Map.Entry<String, LongAdder> e : new TreeMap<>(requests).entrySet()) {
            String[] k = e.getKey().split("\u0000", 2);
            sb.append("plsc4j_serving_requests_total{endpoint=\"").append(k[0]).append("\",code=\"").append(k[1])
                    .append("\"} ").append(e.getValue().sum()).append('\n');
        }
        sb.append("# HELP plsc4j_serving_images_total Images embedded.\n");
        sb.append("# TYPE plsc4j_serving_images_total counter\n");
        sb.append("plsc4j_serving_images_total ").append(images.sum()).append('\n');
        latency.writeTo(sb);
        batchImages.writeTo(sb);
        batchRequests.writeTo(sb);
        forward.writeTo(sb);
        return sb.toString();
    }
}
