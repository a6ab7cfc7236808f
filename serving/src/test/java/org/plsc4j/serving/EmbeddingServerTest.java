package org.plsc4j.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.plsc4j.core.TestSeed;

/**
 * The server against the exported model called in-process: same embeddings (1e-6) through the
 * client, the plain HTTP API and the PLSC-compatible endpoint; concurrent clients batched together
 * get what they get alone; health, model and metrics endpoints; lifecycle.
 */
@ExtendWith(TestSeed.class)
class EmbeddingServerTest {

    private static final double TOL = 1e-6;

    @TempDir
    static Path tmp;

    static Path model;
    static EmbeddingServer server;
    static int port;

    @BeforeAll
    static void start() throws Exception {
        model = TinyExport.write(tmp.resolve("export"), TestSeed.of("model"));
        server = EmbeddingServer.builder().withModel(model).maxWaitMs(0).build();
        port = server.start(0);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void clientEmbeddingsEqualTheExportedModelInProcess() throws Exception {
        List<byte[]> images = TinyExport.images(7, TestSeed.of("images"));
        try (EmbeddingClient client = EmbeddingClient.connect("127.0.0.1:" + port)) {
            assertClose(TinyExport.reference(model, images, true), client.encode(images));
            assertClose(TinyExport.reference(model, images, false), client.encode(images, false));
            float[][] normalized = client.encode(images);
            for (float[] row : normalized) {
                double s = 0;
                for (float x : row) {
                    s += x * x;
                }
                assertEquals(1.0, s, 1e-5);
            }
        }
    }

    @Test
    void embeddingsEndpointAndPlscEndpointAnswerWithTheDocumentedJson() throws Exception {
        List<byte[]> images = TinyExport.images(3, TestSeed.of("plsc"));
        Http.Reply r = Http.post(port, "/v1/embeddings", Http.request("images", images), null);
        assertEquals(200, r.status(), r.body());
        JsonNode j = r.json();
        assertEquals("small", j.get("model").asText());
        assertEquals(TinyExport.DIM, j.get("dim").asInt());
        assertClose(TinyExport.reference(model, images, true), rows(j.get("embeddings")));

        Http.Reply p = Http.post(port, "/FaceClassifyService/inference", Http.request("base64_string", images), null);
        assertEquals(200, p.status(), p.body());
        JsonNode inst = p.json().get("instance");
        float[][] plsc = new float[inst.size()][];
        for (int i = 0; i < plsc.length; i++) {
            plsc[i] = rows(Http.JSON.createArrayNode().add(inst.get(i).get("embedding")))[0];
        }
        assertClose(TinyExport.reference(model, images, false), plsc); // PLSC returns the raw output
    }

    @Test
    void concurrentClientsAreBatchedAndGetWhatTheyGetAlone() throws Exception {
        int clients = 6;
        int perClient = 3;
        List<List<byte[]>> work = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            work.add(TinyExport.images(perClient, TestSeed.of("client-" + c)));
        }
        float[][][] serial = new float[clients][][];
        try (EmbeddingClient client = EmbeddingClient.connect("127.0.0.1:" + port)) {
            for (int c = 0; c < clients; c++) {
                serial[c] = client.encode(work.get(c), false);
            }
        }
        // a batch is full only when all requests are in: the wait limit is long, the batch exactly their size
        try (EmbeddingServer batching = EmbeddingServer.builder().withModel(model).maxBatch(clients * perClient)
                .maxWaitMs(30_000).build()) {
            int p = batching.start(0);
            CyclicBarrier go = new CyclicBarrier(clients);
            ExecutorService pool = Executors.newFixedThreadPool(clients);
            try {
                List<Future<float[][]>> results = new ArrayList<>();
                for (int c = 0; c < clients; c++) {
                    List<byte[]> mine = work.get(c);
                    results.add(pool.submit(() -> {
                        try (EmbeddingClient client = EmbeddingClient.connect("127.0.0.1:" + p)) {
                            go.await();
                            return client.encode(mine, false);
                        }
                    }));
                }
                for (int c = 0; c < clients; c++) {
                    float[][] got = results.get(c).get();
                    assertClose(serial[c], got);
                }
            } finally {
                pool.shutdownNow();
            }
            String metrics = Http.get(p, "/metrics", null).body();
            double batches = Http.metric(metrics, "plsc4j_serving_batch_requests_count");
            double single = Http.metric(metrics, "plsc4j_serving_batch_requests_bucket{le=\"1.0\"}");
            assertTrue(batches - single >= 1, "no forward pass merged requests:\n" + metrics);
            assertEquals(clients * perClient, Http.metric(metrics, "plsc4j_serving_images_total"));
            assertEquals(clients, Http.metric(metrics,
                    "plsc4j_serving_requests_total{code=\"200\",endpoint=\"/v1/embeddings\"}"));
        }
    }

    @Test
    void requestsLargerThanMaxBatchRunInChunksWithTheSameResult() throws Exception {
        List<byte[]> images = TinyExport.images(5, TestSeed.of("chunks"));
        try (EmbeddingServer small = EmbeddingServer.builder().withModel(model).maxBatch(2).build();
                EmbeddingClient client = EmbeddingClient.connect("127.0.0.1:" + small.start(0))) {
            assertClose(TinyExport.reference(model, images, false), client.encode(images, false));
            String metrics = small.metricsText();
            assertEquals(0, Http.metric(metrics, "plsc4j_serving_batch_images_count")
                    - Http.metric(metrics, "plsc4j_serving_batch_images_bucket{le=\"2.0\"}"), metrics);
        }
    }

    @Test
    void healthModelAndMetricsEndpoints() throws Exception {
        Http.Reply h = Http.get(port, "/healthz", null);
        assertEquals(200, h.status());
        assertEquals("ok", h.json().get("status").asText());

        JsonNode m = Http.get(port, "/v1/model", null).json();
        assertEquals("small", m.get("model").asText());
        assertEquals(TinyExport.DIM, m.get("dim").asInt());
        assertEquals(16, m.get("image_shape").get(1).asInt());
        assertEquals(1, m.get("export").get("format_version").asInt());
        assertEquals(64, m.get("serving").get("max_batch").asInt());

        Http.Reply met = Http.get(port, "/metrics", null);
        assertEquals(200, met.status());
        assertTrue(met.body().contains("# TYPE plsc4j_serving_request_duration_seconds histogram"), met.body());
        assertTrue(Http.metric(met.body(), "plsc4j_serving_requests_total{code=\"200\",endpoint=\"/healthz\"}") >= 1);
        assertTrue(met.body().contains("plsc4j_serving_batch_images_bucket{le=\"+Inf\"}"), met.body());
    }

    @Test
    void lifecycleStartOnceCloseIdempotentAndRunBlocksUntilClosed() throws Exception {
        EmbeddingServer s = EmbeddingServer.builder().withModel(model).build();
        int p = s.start(0);
        assertEquals(p, s.address().getPort());
        assertTrue(s.address().getAddress().isLoopbackAddress(), "default bind: " + s.address());
        assertThrows(IllegalStateException.class, () -> s.start(0));
        s.close();
        s.close();
        assertThrows(java.io.IOException.class, () -> Http.get(p, "/healthz", null));

        EmbeddingServer r = EmbeddingServer.builder().withModel(model).port(0).build();
        Thread runner = new Thread(() -> {
            try {
                r.run(0);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, "test-run");
        runner.start();
        r.close(); // whether before or after run() bound: run returns
        runner.join(30_000);
        assertTrue(!runner.isAlive(), "run() did not return after close()");
    }

    @Test
    void aDirectoryThatIsNotAnExportIsRefusedNamingTheFile() {
        var e = assertThrows(java.io.IOException.class,
                () -> EmbeddingServer.builder().withModel(tmp.resolve("nowhere")).build().start(0));
        assertTrue(e.getMessage().contains("model.json"), e.getMessage());
        var v = assertThrows(IllegalArgumentException.class, () -> EmbeddingServer.builder().maxBatch(0));
        assertEquals("max_batch : 0 (expected: 1 <= x <= 65536)", v.getMessage());
    }

    @Test
    void aPortInUseIsAnIOExceptionNamingTheAddressAndTheServerCanBeClosed() {
        EmbeddingServer second = EmbeddingServer.builder().withModel(model).build();
        var e = assertThrows(java.io.IOException.class, () -> second.start(port));
        assertTrue(e.getMessage().startsWith("bind : 127.0.0.1:" + port), e.getMessage());
        second.close();
    }

    static float[][] rows(JsonNode arr) {
        float[][] out = new float[arr.size()][];
        for (int i = 0; i < out.length; i++) {
            out[i] = new float[arr.get(i).size()];
            for (int j = 0; j < out[i].length; j++) {
                out[i][j] = arr.get(i).get(j).floatValue();
            }
        }
        return out;
    }

    static void assertClose(float[][] expected, float[][] actual) {
        assertEquals(expected.length, actual.length, "rows");
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i].length, actual[i].length, "row " + i + " length");
            for (int j = 0; j < expected[i].length; j++) {
                assertEquals(expected[i][j], actual[i][j], TOL, "[" + i + "][" + j + "]");
            }
        }
    }
}
