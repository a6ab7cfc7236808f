package org.plsc4j.serving;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.plsc4j.core.TestSeed;

/**
 * Every refusal of a server with a token and small limits: the status, a message naming the culprit,
 * and after each one the next good request is answered normally (checked after every test).
 */
@ExtendWith(TestSeed.class)
class BadInputTest {

    private static final String TOKEN = "s3cr3t-token";

    @TempDir
    static Path tmp;

    static Path model;
    static EmbeddingServer server;
    static int port;
    static List<byte[]> good;
    static float[][] expected;

    @BeforeAll
    static void start() throws Exception {
        model = TinyExport.write(tmp.resolve("export"), TestSeed.of("model"));
        Path tokenFile = tmp.resolve("token");
        Files.writeString(tokenFile, TOKEN + "\n");
        server = EmbeddingServer.builder().withModel(model).tokenFile(tokenFile).maxBodyBytes(64 * 1024)
                .maxImages(4).maxImageSide(64).build();
        port = server.start(0);
        good = TinyExport.images(2, TestSeed.of("good"));
        expected = TinyExport.reference(model, good, true);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @AfterEach
    void nextGoodRequestSucceeds() throws Exception {
        try (EmbeddingClient client = EmbeddingClient.connect("127.0.0.1:" + port, TOKEN)) {
            EmbeddingServerTest.assertClose(expected, client.encode(good));
        }
        assertEquals(200, Http.get(port, "/healthz", TOKEN).status());
    }

    @Test
    void withoutOrWithAWrongTokenEveryEndpointIs401() throws Exception {
        String body = Http.request("images", good);
        for (String token : new String[] {null, "wrong", TOKEN + "x", "", TOKEN.substring(1)}) {
            Http.Reply r = Http.post(port, "/v1/embeddings", body, token);
            assertEquals(401, r.status(), "token " + token + ": " + r.body());
            assertTrue(r.json().get("error").asText().contains("Authorization"), r.body());
            assertEquals(401, Http.get(port, "/healthz", token).status());
            assertEquals(401, Http.get(port, "/metrics", token).status());
            assertEquals(401, Http.get(port, "/v1/model", token).status());
        }
        try (EmbeddingClient wrong = EmbeddingClient.connect("127.0.0.1:" + port, "nope")) {
            ServingException e = assertThrows(ServingException.class, () -> wrong.encode(good));
            assertEquals(401, e.status());
        }
    }

    @Test
    void aBodyOverTheLimitIs413() throws Exception {
        byte[] big = new byte[100 * 1024];
        Arrays.fill(big, (byte) 'A');
        String body = "{\"images\": [\"" + new String(big, java.nio.charset.StandardCharsets.US_ASCII) + "\"]}";
        Http.Reply r;
        try {
            r = Http.post(port, "/v1/embeddings", body, TOKEN);
        } catch (IOException e) {
            // the server may close the connection while the client still writes: then there is no status to check
            String metrics = Http.get(port, "/metrics", TOKEN).body();
            assertEquals(1.0, Http.metric(metrics, "plsc4j_serving_requests_total{code=\"413\",endpoint=\"/v1/embeddings\"}"));
            return;
        }
        assertEquals(413, r.status(), r.body());
    }

    @Test
    void tooManyImagesIs413() throws Exception {
        List<byte[]> five = TinyExport.images(5, TestSeed.of("five"));
        Http.Reply r = Http.post(port, "/v1/embeddings", Http.request("images", five), TOKEN);
        assertEquals(413, r.status(), r.body());
        assertEquals("images : 5 images (expected: at most 4 per request)", r.json().get("error").asText());
    }

    @Test
    void anImageOverTheSideLimitIs413NamingItsIndex() throws Exception {
        List<byte[]> imgs = new ArrayList<>(good);
        imgs.add(TinyExport.image(65, 10, "png", 1));
        Http.Reply r = Http.post(port, "/v1/embeddings", Http.request("images", imgs), TOKEN);
        assertEquals(413, r.status(), r.body());
        assertEquals("images[2] : 65x10 pixels (expected: 1 <= width, height <= 64)", r.json().get("error").asText());
    }

    @Test
    void anUndecodableImageIs400NamingItsIndex() throws Exception {
        byte[] jpeg = TinyExport.image(20, 20, "jpg", 2);
        byte[] truncated = Arrays.copyOf(jpeg, jpeg.length / 2);
        byte[] garbage = "this is not an image".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        for (byte[] bad : new byte[][] {garbage, truncated, new byte[0]}) {
            List<byte[]> imgs = new ArrayList<>(good);
            imgs.add(1, bad);
            Http.Reply r = Http.post(port, "/v1/embeddings", Http.request("images", imgs), TOKEN);
            assertEquals(400, r.status(), r.body());
            assertTrue(r.json().get("error").asText().startsWith("images[1]"), r.body());
        }
        Http.Reply p = Http.post(port, "/FaceClassifyService/inference",
                "{\"base64_string\": [\"" + java.util.Base64.getEncoder().encodeToString(good.get(0)) + "\", \"%%%\"]}",
                TOKEN);
        assertEquals(400, p.status(), p.body());
        assertTrue(p.json().get("error").asText().startsWith("base64_string[1]"), p.body());
    }

    @Test
    void malformedJsonAndWrongShapesAre400() throws Exception {
        String[][] cases = {
            {"{\"images\": [", "body : malformed JSON"},
            {"not json at all", "body : malformed JSON"},
            {"", "body : empty"},
            {"[1, 2]", "body : ARRAY"},
            {"{}", "images : missing"},
            {"{\"images\": []}", "images : []"},
            {"{\"images\": \"abc\"}", "images : \"abc\""},
            {"{\"images\": [42]}", "images[0] : NUMBER"},
            {"{\"images\": [\"" + java.util.Base64.getEncoder().encodeToString(good.get(0)) + "\"], \"normalize\": 1}",
                "normalize : 1"},
        };
        for (String[] c : cases) {
            Http.Reply r = Http.post(port, "/v1/embeddings", c[0], TOKEN);
            assertEquals(400, r.status(), c[0] + " -> " + r.body());
            assertTrue(r.json().get("error").asText().startsWith(c[1]), c[0] + " -> " + r.body());
        }
    }

    @Test
    void garbageInsteadOfHttpIs400AndTheConnectionIsClosed() throws Exception {
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", port)) {
            socket.setSoTimeout(30_000);
            socket.getOutputStream().write("NOT HTTP AT ALL\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
            String reply = new String(socket.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII);
            assertTrue(reply.startsWith("HTTP/1.1 400 "), reply);
            assertTrue(reply.contains("malformed HTTP"), reply);
        }
    }

    @Test
    void unknownPathsAndWrongMethods() throws Exception {
        assertEquals(404, Http.get(port, "/nope", TOKEN).status());
        assertEquals(405, Http.get(port, "/v1/embeddings", TOKEN).status());
        assertEquals(405, Http.post(port, "/healthz", "{}", TOKEN).status());
    }

    @Test
    void serverWithoutTokenFileNeedsNoAuthorization() throws Exception {
        try (EmbeddingServer open = EmbeddingServer.builder().withModel(model).build()) {
            int p = open.start(0);
            assertEquals(200, Http.get(p, "/healthz", null).status());
            assertEquals(200, Http.get(p, "/healthz", "anything").status());
            assertEquals(200, Http.post(p, "/v1/embeddings", Http.request("images", good), null).status());
        }
    }

    @Test
    void anEmptyTokenFileIsRefusedAtStart() throws Exception {
        Path empty = Files.writeString(tmp.resolve("empty-token"), "  \n");
        var e = assertThrows(IllegalArgumentException.class,
                () -> EmbeddingServer.builder().withModel(model).tokenFile(empty).build().start(0));
        assertTrue(e.getMessage().startsWith("token_file : "), e.getMessage());
    }
}
