package org.plsc4j.serving;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Java client of {@link EmbeddingServer}, the equivalent of PLSC's {@code FaceService}:
 * {@code connect("127.0.0.1:8866")}, {@link #encode(List)} JPEG/PNG bytes to embeddings,
 * {@link #close()}. Built on the JDK's {@link HttpClient} (HTTP/1.1, keep-alive), so it adds no
 * dependency to an application. Thread-safe: one client can be shared by many threads.
 */
public final class EmbeddingClient implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final URI base;
    private final String token;
    private final HttpClient http;
    private final Duration timeout;
    private final AtomicBoolean closed = new AtomicBoolean();

    private EmbeddingClient(URI base, String token, Duration timeout) {
        this.base = base;
        this.token = token;
        this.timeout = timeout;
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10)).build();
    }

    /** A client of the server at {@code hostPort} ({@code "127.0.0.1:8866"}), without a token. */
    public static EmbeddingClient connect(String hostPort) {
        return connect(hostPort, null);
    }

    /** A client of the server at {@code hostPort} sending {@code Authorization: Bearer token} (null: none). */
    public static EmbeddingClient connect(String hostPort, String token) {
        Objects.requireNonNull(hostPort, "server");
        URI uri;
        try {
            uri = URI.create(hostPort.contains("://") ? hostPort : "http://" + hostPort);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("server : " + hostPort + " (expected: host:port)", e);
        }
        if (uri.getHost() == null || uri.getPort() < 0) {
            throw new IllegalArgumentException("server : " + hostPort + " (expected: host:port)");
        }
        return new EmbeddingClient(URI.create(uri.getScheme() + "://" + uri.getHost() + ":" + uri.getPort()), token,
                Duration.ofMinutes(5));
    }

    /** L2-normalised embeddings [n][D] of the JPEG/PNG images, in order. */
    public float[][] encode(List<byte[]> images) throws IOException, InterruptedException {
        return encode(images, true);
    }

    /**
     * Embeddings [n][D] of the JPEG/PNG images, in order; raw model output when {@code normalize} is
     * false.
     *
     * @throws ServingException when the server refuses the request (e.g. 400 naming an undecodable image)
     */
    public float[][] encode(List<byte[]> images, boolean normalize) throws IOException, InterruptedException {
        if (closed.get()) {
            throw new IllegalStateException("client : closed (expected: an open client)");
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        try (JsonGenerator g = JSON.getFactory().createGenerator(body)) {
            g.writeStartObject();
            g.writeArrayFieldStart("images");
            Base64.Encoder b64 = Base64.getEncoder();
            for (byte[] img : images) {
                g.writeString(b64.encodeToString(img));
            }
            g.writeEndArray();
            g.writeBooleanField("normalize", normalize);
            g.writeEndObject();
        }
        JsonNode root = send(HttpRequest.newBuilder(base.resolve("/v1/embeddings"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())));
        JsonNode rows = root.path("embeddings");
        if (!rows.isArray() || rows.size() != images.size()) {
            throw new IOException("embeddings : " + rows.size() + " rows from " + base + " (expected: " + images.size() + ")");
        }
        float[][] out = new float[rows.size()][];
        for (int i = 0; i < out.length; i++) {
            JsonNode row = rows.get(i);
            out[i] = new float[row.size()];
            for (int j = 0; j < out[i].length; j++) {
                out[i][j] = row.get(j).floatValue();
            }
        }
        return out;
    }

    /** The server's {@code GET /v1/model}: model name, dim, image shape, export provenance, limits. */
    public JsonNode model() throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(base.resolve("/v1/model")).GET());
    }

    private JsonNode send(HttpRequest.Builder request) throws IOException, InterruptedException {
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        HttpResponse<byte[]> r = http.send(request.timeout(timeout).build(), HttpResponse.BodyHandlers.ofByteArray());
        if (r.statusCode() != 200) {
            String message;
            try {
                message = JSON.readTree(r.body()).path("error").asText(new String(r.body(), java.nio.charset.StandardCharsets.UTF_8));
            } catch (IOException e) {
                message = new String(r.body(), java.nio.charset.StandardCharsets.UTF_8);
            }
            throw new ServingException(r.statusCode(), message);
        }
        return JSON.readTree(r.body());
    }

    /** Closes the client (later calls fail); idempotent. The JDK's HTTP client releases its connections when collected. */
    @Override
    public void close() {
        closed.set(true);
    }
}
