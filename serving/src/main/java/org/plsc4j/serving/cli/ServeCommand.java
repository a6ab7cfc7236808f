package org.plsc4j.serving.cli;

import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.plsc4j.serving.EmbeddingServer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code plsc4j serve}: serves an exported model over HTTP until interrupted (Ctrl-C or SIGTERM
 * close it cleanly: queued requests are answered 503, the port is released). Prints the bound
 * address on stdout once it accepts requests.
 */
@Command(name = "serve", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Serve an exported model: JPEG/PNG images in, embeddings out (HTTP, dynamic batching).",
        description = {
            "Endpoints: POST /v1/embeddings {\"images\": [base64...]}, POST /FaceClassifyService/inference "
                + "(PLSC's), GET /healthz, GET /v1/model, GET /metrics (Prometheus). Binds 127.0.0.1 unless --host "
                + "says otherwise; with --token-file every request needs 'Authorization: Bearer <token>'.",
            ""})
public final class ServeCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, description = "Exported model directory (plsc4j export's --out).")
    Path model;

    @Option(names = "--engine", defaultValue = "samediff", paramLabel = "samediff|onnxruntime",
            description = "What runs the forward pass: samediff (model.fb) or onnxruntime (model.onnx, from "
                + "plsc4j export --format onnx); default: ${DEFAULT-VALUE}.")
    String engine;

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to bind (default: ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--port", defaultValue = "8866", description = "Port; 0 for any free one (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--max-batch", defaultValue = "64",
            description = "Most images merged into one forward pass (default: ${DEFAULT-VALUE}).")
    int maxBatch;

    @Option(names = "--max-wait-ms", defaultValue = "5",
            description = "Longest wait for more requests after the first of a batch, ms (default: ${DEFAULT-VALUE}).")
    double maxWaitMs;

    @Option(names = "--threads", description = "Request decoding threads (default: number of cores).")
    Integer threads;

    @Option(names = "--token-file", description = "File holding the bearer token every request must carry.")
    Path tokenFile;

    @Option(names = "--max-body-mb", defaultValue = "64",
            description = "Largest request body in MiB, larger gets 413 (default: ${DEFAULT-VALUE}).")
    int maxBodyMb;

    @Option(names = "--max-images", defaultValue = "256",
            description = "Most images in one request, more gets 413 (default: ${DEFAULT-VALUE}).")
    int maxImages;

    @Option(names = "--max-image-side", defaultValue = "4096",
            description = "Largest image width or height in pixels, larger gets 413 (default: ${DEFAULT-VALUE}).")
    int maxImageSide;

    @Override
    public Integer call() throws Exception {
        EmbeddingServer server;
        try {
            if (maxBodyMb < 1 || maxBodyMb > 2047) {
                throw new IllegalArgumentException("max-body-mb : " + maxBodyMb + " (expected: 1 <= x <= 2047)");
            }
            EmbeddingServer.Builder b = EmbeddingServer.builder().withModel(model).engine(engine).host(host).port(port)
                    .maxBatch(maxBatch).maxWaitMs(maxWaitMs).tokenFile(tokenFile).maxBodyBytes(maxBodyMb << 20)
                    .maxImages(maxImages).maxImageSide(maxImageSide);
            if (threads != null) {
                b.threads(threads);
            }
            server = b.build();
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--" + e.getMessage().replace('_', '-'));
        }
        Thread hook = new Thread(server::close, "plsc4j-serve-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            server.start(port);
            InetSocketAddress a = server.address();
            PrintWriter out = spec.commandLine().getOut();
            out.println("serving " + model + " on http://" + a.getHostString() + ":" + a.getPort());
            out.flush();
            server.awaitClosed();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            server.close();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // the JVM is shutting down: the hook is running or has run
            }
        }
        return 0;
    }
}
