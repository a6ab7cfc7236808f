package org.plsc4j.dashboard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A finished job's directory through the dashboard's HTTP routes, token checks included. */
class DirViewAndServerTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private static String line(String event, String time, String fields) {
        return "{\"event\":\"" + event + "\",\"time\":\"" + time + "\"" + (fields.isEmpty() ? "" : "," + fields) + "}\n";
    }

    @Test
    void curvesEventsAndGenerationsOfAFinishedJobAreServedToTokenHoldersOnly() throws Exception {
        Path m = dir.resolve("metrics.jsonl");
        String t = "2026-12-04T05:00:";
        StringBuilder sb = new StringBuilder();
        sb.append(line("generation", t + "00Z", "\"generation\":1,\"world_size\":2,\"epoch\":0,\"step\":0"));
        for (int s = 0; s < 3; s++) {
            sb.append(line("train", t + "0" + (s + 1) + "Z", "\"step\":" + s + ",\"epoch\":0,\"loss\":" + (5 - s)
                    + ",\"lr\":0.1,\"samples_per_sec\":100.0,\"world_size\":2,\"acc1\":0.1,\"acc5\":0.3"));
        }
        sb.append(line("checkpoint", t + "05Z", "\"epoch\":0,\"step\":3,\"dir\":\"/x/0\""));
        sb.append(line("hdfs_upload", t + "06Z", "\"epoch\":0,\"bytes\":3145728,\"seconds\":1.5,\"local\":\"/x/0\","
                + "\"remote\":\"hdfs://nn/x/0\",\"pruned\":0"));
        sb.append("not json\n");
        sb.append(line("generation", t + "10Z", "\"generation\":2,\"world_size\":1,\"epoch\":1,\"step\":3"));
        sb.append(line("restore", t + "11Z", "\"generation\":2,\"step\":3,\"missing_rows\":0,\"min_version\":2,"
                + "\"max_version\":3"));
        sb.append(line("train", t + "12Z", "\"step\":3,\"epoch\":1,\"loss\":1.5,\"lr\":0.1,\"samples_per_sec\":50.0,"
                + "\"world_size\":1"));
        String last = line("eval", t + "13Z", "\"step\":4,\"epoch\":1,\"targets\":{\"lfw\":{\"accuracy\":0.9}}");
        sb.append(last, 0, 20); // a line still being written
        Files.writeString(m, sb.toString());

        JobView view = JobView.directory(dir);
        JsonNode s = view.snapshot(0);
        assertEquals(4, s.at("/train/total").asInt(), s.toString());
        assertEquals(4, s.at("/train/points").size());
        assertEquals(5.0, s.at("/train/points/0/loss").asDouble());
        assertEquals(0.3, s.at("/train/points/0/acc5").asDouble());
        assertEquals(0, s.at("/eval").size(), "the unfinished eval line is not read yet");
        assertEquals(2, s.at("/job/generation").asLong());
        assertEquals(1, s.at("/job/world_size").asInt());
        assertEquals(1, s.at("/job/restarts").asInt());
        assertEquals(12.0, s.at("/job/elapsed_s").asDouble(), 1e-9, "first to last line: 00 s .. 12 s");
        assertEquals(2, s.at("/generations").size());
        List<String> texts = new ArrayList<>();
        s.at("/events").forEach(e -> texts.add(e.path("kind").asText() + ": " + e.path("text").asText()));
        assertTrue(texts.contains("hdfs_upload: HDFS upload of epoch 0: 3.0 MiB in 1.50 s (hdfs://nn/x/0)"), texts.toString());
        assertTrue(texts.stream().anyMatch(x -> x.startsWith("restore: generation 2") && x.contains("0 missing, versions 2..3")),
                texts.toString());
        assertTrue(texts.stream().anyMatch(x -> x.startsWith("checkpoint: checkpoint of epoch 0 at step 3")), texts.toString());

        Files.writeString(m, last.substring(20), StandardOpenOption.APPEND);
        JsonNode s2 = view.snapshot(4);
        assertEquals(0, s2.at("/train/points").size(), "only points after the 4 the page has");
        assertEquals(4, s2.at("/train/offset").asInt());
        assertEquals(0.9, s2.at("/eval/0/accuracy/lfw").asDouble(), "the eval line, once complete");

        try (DashboardServer server = DashboardServer.builder().port(0).token("s3cret").view(view).build().start()) {
            HttpClient http = HttpClient.newHttpClient();
            String base = server.url();
            assertTrue(base.startsWith("http://127.0.0.1:"), base);
            HttpResponse<String> page = get(http, base, null);
            assertEquals(200, page.statusCode());
            assertTrue(page.body().contains("dashboard.js") && !page.body().contains("http"), "no asset from elsewhere");
            assertEquals(200, get(http, base + "dashboard.js", null).statusCode());
            assertEquals(401, get(http, base + "api/state", null).statusCode());
            assertEquals(401, get(http, base + "api/state", "wrong").statusCode());
            assertEquals(401, get(http, base + "metrics", null).statusCode());
            HttpResponse<String> state = get(http, base + "api/state?since=2", "s3cret");
            assertEquals(200, state.statusCode());
            JsonNode j = JSON.readTree(state.body());
            assertEquals(2, j.at("/train/points").size(), "the 2 of 4 points after index 2: " + j.at("/train"));
            assertEquals(2, j.at("/train/offset").asInt());
            HttpResponse<String> metrics = get(http, base + "metrics", "s3cret");
            assertEquals(200, metrics.statusCode());
            assertTrue(metrics.body().contains("jvm_memory_used_bytes"), metrics.body());
            assertEquals(404, get(http, base + "nope", "s3cret").statusCode());
            HttpResponse<String> post = http.send(HttpRequest.newBuilder(URI.create(base + "api/state"))
                    .POST(HttpRequest.BodyPublishers.ofString("x")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(405, post.statusCode());
        }
    }

    private static HttpResponse<String> get(HttpClient http, String url, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }
}
