package org.plsc4j.metrics;

import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * One scrape of a registry in the Prometheus text format (0.0.4), for whichever HTTP server answers
 * {@code GET /metrics}.
 *
 * <p>Why a routine and not an HTTP server: every plsc4j process that serves metrics already runs a
 * Netty HTTP server (workers, the dashboard, serving); they all call this, so the format is the
 * client library's and written in one place.
 */
public final class Exposition {

    /** The content type of {@link #scrape}'s bytes. */
    public static final String CONTENT_TYPE = PrometheusTextFormatWriter.CONTENT_TYPE;

    private static final PrometheusTextFormatWriter WRITER = PrometheusTextFormatWriter.create();

    private Exposition() {
    }

    /** The default registry's metrics (the process's), in the text format. */
    public static byte[] scrape() {
        return scrape(PlscMetrics.registry());
    }

    /** {@code registry}'s metrics in the text format. */
    public static byte[] scrape(PrometheusRegistry registry) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(16 * 1024);
        try {
            WRITER.write(out, registry.scrape());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the metrics", e);
        }
        return out.toByteArray();
    }
}
