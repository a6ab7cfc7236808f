package org.plsc4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.plsc4j.core.NativeBuild;
import picocli.CommandLine;

/** Runs {@code bench backbone} with tiny models for one iteration: the JSON contract, with and without torch. */
class BackboneBenchTest {

    private static final List<String> FIELDS = List.of("version", "model", "image_size", "batch", "emb_size",
            "threads", "warmup", "iterations", "rounds", "native_build", "params", "train_images_per_sec",
            "train_spread", "inference_images_per_sec", "inference_spread", "peak_rss_mb", "torch_version",
            "torch_params", "torch_train_images_per_sec", "torch_train_spread", "torch_inference_images_per_sec",
            "torch_inference_spread", "torch_peak_rss_mb", "train_ratio_vs_torch", "inference_ratio_vs_torch",
            "load_before", "load_after");

    private static JsonNode run(String... args) throws Exception {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new BackboneBench());
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        assertEquals(0, code, err.toString());
        JsonNode j = new ObjectMapper().readTree(out.toString());
        List<String> names = new java.util.ArrayList<>();
        j.fieldNames().forEachRemaining(names::add);
        assertEquals(FIELDS, names);
        assertEquals(NativeBuild.select().key(), j.get("native_build").asText(), "the child loads this JVM's build");
        assertTrue(j.get("params").asLong() > 0, out.toString());
        assertTrue(j.get("train_images_per_sec").asDouble() > 0, out.toString());
        assertTrue(j.get("inference_images_per_sec").asDouble() > 0, out.toString());
        assertTrue(j.get("peak_rss_mb").asDouble() > 50, out.toString());
        assertTrue(j.get("load_before").asDouble() >= 0 && j.get("load_after").asDouble() >= 0, out.toString());
        return j;
    }

    @Test
    void measuresBothSidesWithTheSameParameterCount() throws Exception {
        // the machines this runs on have python3-torch (DEPENDENCIES.md); the small CNN has BN and convs
        JsonNode j = run("--model", "small", "--image-size", "16", "--batch", "4", "--emb-size", "8", "--warmup", "0",
                "--iterations", "1", "--rounds", "1", "--threads", "1", "--json");
        assertEquals(j.get("params").asLong(), j.get("torch_params").asLong());
        double tt = j.get("torch_train_images_per_sec").asDouble();
        double ti = j.get("torch_inference_images_per_sec").asDouble();
        assertTrue(tt > 0 && ti > 0 && j.get("torch_peak_rss_mb").asDouble() > 50, j.toString());
        assertEquals(j.get("train_images_per_sec").asDouble() / tt, j.get("train_ratio_vs_torch").asDouble(),
                2e-3 * j.get("train_ratio_vs_torch").asDouble() + 2e-3, j.toString());
        assertEquals(j.get("inference_images_per_sec").asDouble() / ti, j.get("inference_ratio_vs_torch").asDouble(),
                2e-3 * j.get("inference_ratio_vs_torch").asDouble() + 2e-3, j.toString());
        assertEquals(0.0, j.get("train_spread").asDouble(), "one timed iteration has no spread");
    }

    @Test
    void withoutTorchTheTorchFieldsAreNull() throws Exception {
        JsonNode j = run("--model", "mlp", "--image-size", "8", "--batch", "2", "--emb-size", "4", "--warmup", "0",
                "--iterations", "2", "--rounds", "1", "--threads", "1", "--python", "/nonexistent/python3", "--json");
        for (String f : FIELDS) {
            if (f.startsWith("torch_") || f.endsWith("_vs_torch")) {
                assertTrue(j.get(f).isNull(), f + " : " + j.get(f));
            }
        }
    }
}
