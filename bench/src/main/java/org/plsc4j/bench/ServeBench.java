package org.plsc4j.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import javax.imageio.ImageIO;
import org.plsc4j.data.ImagePreprocessor;
import org.plsc4j.data.ImageShape;
import org.plsc4j.serving.EmbeddingEngine;
import org.plsc4j.serving.EmbeddingServer;
import org.plsc4j.serving.Engines;
import org.plsc4j.worker.OnnxExport;
import org.plsc4j.worker.BackboneConfig;
import org.plsc4j.worker.Backbones;
import org.plsc4j.worker.InferenceModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code plsc4j bench serve}: embeddings per second and request latency through the embedding
 * server (HTTP, JSON, base64, JPEG decode, dynamic batching) under N concurrent clients, against the
 * bare {@link InferenceModel#embed} in the same process at the batch size the server formed (the
 * baseline: the forward pass alone, images already decoded). The clients run in the same JVM and
 * share its cores with the server, as they would on one machine. {@code --engine both} measures the
 * SameDiff and ONNX Runtime engines on the same model in the same run, alternated round by round,
 * and reports their ratio with its spread.
 */
@Command(name = "serve", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Embedding server throughput and p50/p99 latency under N clients against the bare forward pass.",
        description = {
            "For each --clients value: N threads post --images-per-request JPEGs each to POST /v1/embeddings for "
                + "--seconds; then the bare InferenceModel.embed runs on decoded images at the mean batch size the "
                + "server formed, for as long. ratio = server embeddings/s / bare embeddings/s. "
                + "With --json one JSON object on stdout.",
            ""})
public final class ServeBench implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--clients", split = ",", defaultValue = "1,4,16",
            description = "Concurrent clients, one run each (default: ${DEFAULT-VALUE}).")
    List<Integer> clients;

    @Option(names = "--seconds", defaultValue = "10", description = "Measured seconds per run (default: ${DEFAULT-VALUE}).")
    double seconds;

    @Option(names = "--images-per-request", defaultValue = "1",
            description = "Images in each request (default: ${DEFAULT-VALUE}).")
    int perRequest;

    @Option(names = "--backbone", defaultValue = "small", description = "model_name (default: ${DEFAULT-VALUE}).")
    String backbone;

    @Option(names = "--image-size", defaultValue = "112", description = "Image side (default: ${DEFAULT-VALUE}).")
    int imageSize;

    @Option(names = "--emb-size", defaultValue = "512", description = "Embedding size (default: ${DEFAULT-VALUE}).")
    int embSize;

    @Option(names = "--max-batch", defaultValue = "64", description = "Server max batch (default: ${DEFAULT-VALUE}).")
    int maxBatch;

    @Option(names = "--max-wait-ms", defaultValue = "5", description = "Server max wait (default: ${DEFAULT-VALUE}).")
    double maxWaitMs;

    @Option(names = "--engine", defaultValue = "samediff", paramLabel = "samediff|onnxruntime|both",
            description = "Serving engine; both = SameDiff and ONNX Runtime alternated in the same run, compared by "
                + "their ratio (default: ${DEFAULT-VALUE}).")
    String engine;

    @Option(names = "--bare-repeats", defaultValue = "3",
            description = "Bare-forward windows per run at the server's mean batch and at --max-batch, alternated"
                + " (default: ${DEFAULT-VALUE}).")
    int bareRepeats;

    @Option(names = "--rounds", defaultValue = "1",
            description = "Measurements per engine and client count, engines alternated (default: ${DEFAULT-VALUE}).")
    int rounds;

    @Option(names = "--json", description = "Print one JSON object on stdout instead of a table.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (clients.isEmpty() || clients.stream().anyMatch(c -> c < 1) || !(seconds > 0) || perRequest < 1) {
            throw new ParameterException(spec.commandLine(), "--clients " + clients + " --seconds " + seconds
                    + " --images-per-request " + perRequest + " (expected: positive)");
        }
        List<String> engines = engine.equals("both") ? List.of("samediff", "onnxruntime") : List.of(engine);
        if (bareRepeats < 1) {
            throw new ParameterException(spec.commandLine(), "bare-repeats : " + bareRepeats + " (expected: >= 1)");
        }
        if (rounds < 1 || !Engines.names().containsAll(engines)) {
            throw new ParameterException(spec.commandLine(), "--engine " + engine + " --rounds " + rounds
                    + " (expected: one of " + Engines.names() + " or both, rounds >= 1)");
        }
        ImageShape shape = ImageShape.square(imageSize);
        InferenceModel model = Backbones.create(backbone, BackboneConfig.of(embSize, 3, imageSize, imageSize, 42))
                .inference();
        Path dir = Files.createTempDirectory("plsc4j-bench-serve");
        Map<String, EmbeddingEngine> opened = new LinkedHashMap<>();
        try {
            model.save(dir);
            if (engines.contains("onnxruntime")) {
                OnnxExport.write(model, dir);
            }
            for (String e : engines) {
                opened.put(e, Engines.open(e, dir));
            }
            return measure(shape, opened);
        } finally {
            for (EmbeddingEngine e : opened.values()) {
                e.close();
            }
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    Files.delete(f);
                }
            }
            Files.delete(dir);
        }
    }

    private int measure(ImageShape shape, Map<String, EmbeddingEngine> engines) throws Exception {
        List<byte[]> images = images(32, imageSize);
        List<byte[]> bodies = new ArrayList<>();
        for (int i = 0; i < images.size(); i++) {
            StringBuilder sb = new StringBuilder("{\"images\":[");
            for (int k = 0; k < perRequest; k++) {
                sb.append(k == 0 ? "\"" : ",\"").append(Base64.getEncoder().encodeToString(images.get((i + k) % images.size())))
                        .append('"');
            }
            bodies.add(sb.append("]}").toString().getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        }
        float[] decoded = decodeAll(images, shape);

        Map<String, Object> out = new LinkedHashMap<>();
        out.put("bench", "serve");
        out.put("version", BenchVersion.get());
        out.put("backbone", backbone);
        out.put("image_size", imageSize);
        out.put("emb_size", embSize);
        out.put("images_per_request", perRequest);
        out.put("max_batch", maxBatch);
        out.put("max_wait_ms", maxWaitMs);
        out.put("seconds", seconds);
        out.put("cores", Runtime.getRuntime().availableProcessors());
        out.put("engine", engine);
        out.put("rounds", rounds);
        out.put("bare_repeats", bareRepeats);
        out.put("load_before", LoadAverage.oneMinute());
        List<Map<String, Object>> rows = new ArrayList<>();
        List<String> names = new ArrayList<>(engines.keySet());
        for (int n : clients) {
            for (int round = 0; round < rounds; round++) {
                // alternate which engine goes first, so neither always gets the cooler machine
                for (int k = 0; k < names.size(); k++) {
                    String e = names.get((k + round) % names.size());
                    Map<String, Object> r = run(n, engines.get(e), shape, bodies, decoded, images.size());
                    r.put("engine", e);
                    r.put("round", round);
                    rows.add(r);
                }
            }
        }
        out.put("runs", rows);
        out.put("load_after", LoadAverage.oneMinute());
        if (names.size() == 2) {
            out.put("engine_comparison", compare(rows, names.get(1), names.get(0)));
        }
        PrintWriter pw = spec.commandLine().getOut();
        if (json) {
            pw.println(new ObjectMapper().writeValueAsString(out));
        } else {
            pw.printf(Locale.ROOT, "plsc4j bench serve (plsc4j %s): %s %dx%d -> %d, %d image(s)/request, max batch %d,"
                    + " max wait %.1f ms, %d cores%n", BenchVersion.get(), backbone, imageSize, imageSize, embSize,
                    perRequest, maxBatch, maxWaitMs, Runtime.getRuntime().availableProcessors());
            pw.printf(Locale.ROOT, "%8s %12s %9s %9s %10s %11s %14s %11s %7s%n", "clients", "emb/s", "p50 ms",
                    "p99 ms", "mean batch", "forward ms", "bare emb/s", "bare fwd ms", "ratio");
            for (Map<String, Object> r : rows) {
                pw.printf(Locale.ROOT, "%8d %12.1f %9.1f %9.1f %10.1f %11.1f %14.1f %11.1f %7.2f  %s%n", r.get("clients"),
                        r.get("embeddings_per_s"), r.get("p50_ms"), r.get("p99_ms"), r.get("mean_batch"),
                        r.get("server_forward_ms"), r.get("bare_embeddings_per_s"), r.get("bare_forward_ms"), r.get("ratio"),
                        r.get("engine"));
            }
            if (out.get("engine_comparison") instanceof List<?> cmp) {
                for (Object o : cmp) {
                    Map<?, ?> c = (Map<?, ?>) o;
                    pw.printf(Locale.ROOT, "clients %s: %s / %s server emb/s = %s (min %s, max %s over %d rounds);"
                            + " bare forward = %s (min %s, max %s)%n", c.get("clients"), names.get(1), names.get(0),
                            c.get("server_ratio_median"), c.get("server_ratio_min"), c.get("server_ratio_max"), rounds,
                            c.get("bare_ratio_median"), c.get("bare_ratio_min"), c.get("bare_ratio_max"));
                }
            }
        }
        pw.flush();
        return 0;
    }

    /** Per client count: {@code a}/{@code b} embeddings per second, server and bare, paired by round. */
    private List<Map<String, Object>> compare(List<Map<String, Object>> rows, String a, String b) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (int n : clients) {
            double[] server = new double[rounds];
            double[] bare = new double[rounds];
            for (int round = 0; round < rounds; round++) {
                Map<String, Object> ra = find(rows, n, round, a);
                Map<String, Object> rb = find(rows, n, round, b);
                server[round] = (double) ra.get("embeddings_per_s") / (double) rb.get("embeddings_per_s");
                bare[round] = (double) ra.get("bare_embeddings_per_s") / (double) rb.get("bare_embeddings_per_s");
            }
            Map<String, Object> c = new LinkedHashMap<>();
            c.put("clients", n);
            c.put("numerator", a);
            c.put("denominator", b);
            c.put("server_ratio_median", Stats.round(Stats.median(server), 3));
            c.put("server_ratio_min", Stats.round(Arrays.stream(server).min().orElseThrow(), 3));
            c.put("server_ratio_max", Stats.round(Arrays.stream(server).max().orElseThrow(), 3));
            c.put("bare_ratio_median", Stats.round(Stats.median(bare), 3));
            c.put("bare_ratio_min", Stats.round(Arrays.stream(bare).min().orElseThrow(), 3));
            c.put("bare_ratio_max", Stats.round(Arrays.stream(bare).max().orElseThrow(), 3));
            out.add(c);
        }
        return out;
    }

    private static Map<String, Object> find(List<Map<String, Object>> rows, int clients, int round, String engine) {
        for (Map<String, Object> r : rows) {
            if (r.get("clients").equals(clients) && r.get("round").equals(round) && r.get("engine").equals(engine)) {
                return r;
            }
        }
        throw new IllegalStateException("no run for " + clients + " clients, round " + round + ", " + engine);
    }

    private Map<String, Object> run(int n, EmbeddingEngine model, ImageShape shape, List<byte[]> bodies, float[] decoded,
            int nImages) throws Exception {
        double[] latencies;
        long served;
        double meanBatch;
        double elapsed;
        double forwardMs;
        try (EmbeddingServer server = EmbeddingServer.builder().withModel(model, shape, embSize, backbone)
                .maxBatch(maxBatch).maxWaitMs(maxWaitMs).maxImages(Math.max(256, perRequest)).build()) {
            int port = server.start(0);
            URI uri = URI.create("http://127.0.0.1:" + port + "/v1/embeddings");
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                    .executor(Executors.newFixedThreadPool(2, r -> {
                        Thread t = new Thread(r, "bench-serve-http");
                        t.setDaemon(true);
                        return t;
                    })).build();
            clientPhase(n, http, uri, bodies, Math.min(3, seconds), new CyclicBarrier(n)); // warm-up
            String before = server.metricsText();
            long t0 = System.nanoTime();
            List<double[]> perClient = clientPhase(n, http, uri, bodies, seconds, new CyclicBarrier(n));
            elapsed = (System.nanoTime() - t0) / 1e9;
            String after = server.metricsText();
            latencies = perClient.stream().flatMapToDouble(Arrays::stream).toArray();
            served = (long) latencies.length * perRequest;
            double images = metric(after, "plsc4j_serving_batch_images_sum") - metric(before, "plsc4j_serving_batch_images_sum");
            double batches = metric(after, "plsc4j_serving_batch_images_count")
                    - metric(before, "plsc4j_serving_batch_images_count");
            meanBatch = batches > 0 ? images / batches : 0;
            forwardMs = batches > 0 ? 1000 * (metric(after, "plsc4j_serving_forward_seconds_sum")
                    - metric(before, "plsc4j_serving_forward_seconds_sum")) / batches : 0;
        }
        Arrays.sort(latencies);
        int b = Math.max(1, (int) Math.round(meanBatch));
        // issue 13: the bare forward at the server's batch and at --max-batch, alternated, --bare-repeats each
        double[] bareEps = new double[bareRepeats];
        double[] bareMs = new double[bareRepeats];
        double[] maxEps = new double[bareRepeats];
        for (int k = 0; k < bareRepeats; k++) {
            boolean maxFirst = k % 2 == 1;
            double[] m1 = maxFirst ? bare(model, shape, decoded, nImages, maxBatch) : null;
            double[] at = bare(model, shape, decoded, nImages, b);
            double[] m2 = maxFirst ? m1 : bare(model, shape, decoded, nImages, maxBatch);
            bareEps[k] = at[0];
            bareMs[k] = at[1];
            maxEps[k] = m2[0];
        }
        double[] bare = {Stats.median(bareEps), Stats.median(bareMs)};
        double bestMax = Stats.max(maxEps);
        double eps = served / elapsed;
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("clients", n);
        r.put("requests", latencies.length);
        r.put("embeddings_per_s", Stats.round(eps, 1));
        r.put("p50_ms", Stats.round(percentile(latencies, 0.50), 2));
        r.put("p99_ms", Stats.round(percentile(latencies, 0.99), 2));
        r.put("mean_batch", Stats.round(meanBatch, 2));
        r.put("server_forward_ms", Stats.round(forwardMs, 2));
        r.put("bare_batch", b);
        r.put("bare_embeddings_per_s", Stats.round(bare[0], 1));
        r.put("bare_forward_ms", Stats.round(bare[1], 2));
        r.put("ratio", Stats.round(eps / bare[0], 3));
        r.put("bare_spread", Spread.of(bareEps, 1));
        r.put("bare_max_batch", maxBatch);
        r.put("bare_max_batch_embeddings_per_s", Stats.round(bestMax, 1));
        r.put("bare_max_batch_spread", Spread.of(maxEps, 1));
        r.put("ratio_vs_max_batch", Stats.round(eps / bestMax, 3));
        return r;
    }

    /** N clients posting back-to-back for {@code secs}; the latencies (ms) of each. */
    private static List<double[]> clientPhase(int n, HttpClient http, URI uri, List<byte[]> bodies, double secs,
            CyclicBarrier start) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(n, r -> {
            Thread t = new Thread(r, "bench-serve-client");
            t.setDaemon(true);
            return t;
        });
        try {
            List<Future<double[]>> fs = new ArrayList<>();
            for (int c = 0; c < n; c++) {
                int id = c;
                fs.add(pool.submit(() -> {
                    start.await();
                    long end = System.nanoTime() + (long) (secs * 1e9);
                    double[] lat = new double[1024];
                    int k = 0;
                    for (int i = id; System.nanoTime() < end; i++) {
                        HttpRequest req = HttpRequest.newBuilder(uri).header("Content-Type", "application/json")
                                .POST(HttpRequest.BodyPublishers.ofByteArray(bodies.get(i % bodies.size()))).build();
                        long t0 = System.nanoTime();
                        HttpResponse<byte[]> r = http.send(req, HttpResponse.BodyHandlers.ofByteArray());
                        if (r.statusCode() != 200) {
                            throw new IOException("HTTP " + r.statusCode() + ": " + new String(r.body(),
                                    java.nio.charset.StandardCharsets.UTF_8));
                        }
                        if (k == lat.length) {
                            lat = Arrays.copyOf(lat, k * 2);
                        }
                        lat[k++] = Stats.ms(t0, System.nanoTime());
                    }
                    return Arrays.copyOf(lat, k);
                }));
            }
            List<double[]> out = new ArrayList<>();
            for (Future<double[]> f : fs) {
                out.add(f.get());
            }
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    /** Embeddings/s and ms per call of the bare forward pass at batch {@code b} over already decoded images. */
    private double[] bare(EmbeddingEngine model, ImageShape shape, float[] decoded, int nImages, int b) {
        int per = shape.floatsPerImage();
        float[] batch = new float[b * per];
        for (int i = 0; i < b; i++) {
            System.arraycopy(decoded, (i % nImages) * per, batch, i * per, per);
        }
        model.embed(batch, b, 3, shape.height(), shape.width()); // warm-up
        long images = 0;
        long calls = 0;
        long t0 = System.nanoTime();
        long end = t0 + (long) (seconds * 1e9);
        while (System.nanoTime() < end) {
            model.embed(batch, b, 3, shape.height(), shape.width());
            images += b;
            calls++;
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        return new double[] {images / secs, 1000 * secs / calls};
    }

    private static float[] decodeAll(List<byte[]> images, ImageShape shape) {
        ImagePreprocessor pre = new ImagePreprocessor(shape);
        float[] out = new float[images.size() * shape.floatsPerImage()];
        for (int i = 0; i < images.size(); i++) {
            pre.toChw(images.get(i), "bench image " + i, false, out, i * shape.floatsPerImage());
        }
        return out;
    }

    /** Smooth random JPEGs (gradients and noise, quality default) of size×size. */
    private static List<byte[]> images(int n, int size) throws IOException {
        SplittableRandom rng = new SplittableRandom(42);
        List<byte[]> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            BufferedImage img = new BufferedImage(size, size, BufferedImage.TYPE_3BYTE_BGR);
            int r0 = rng.nextInt(256);
            int g0 = rng.nextInt(256);
            int b0 = rng.nextInt(256);
            for (int y = 0; y < size; y++) {
                for (int x = 0; x < size; x++) {
                    int r = (r0 + x + rng.nextInt(16)) & 0xff;
                    int g = (g0 + y + rng.nextInt(16)) & 0xff;
                    int b = (b0 + x + y) & 0xff;
                    img.setRGB(x, y, (r << 16) | (g << 8) | b);
                }
            }
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            ImageIO.write(img, "jpg", bytes);
            out.add(bytes.toByteArray());
        }
        return out;
    }

    private static double percentile(double[] sorted, double q) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int i = (int) Math.ceil(q * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }

    private static double metric(String text, String sample) {
        for (String line : text.split("\n")) {
            if (line.startsWith(sample + " ")) {
                return Double.parseDouble(line.substring(sample.length() + 1).trim());
            }
        }
        return 0;
    }
}
