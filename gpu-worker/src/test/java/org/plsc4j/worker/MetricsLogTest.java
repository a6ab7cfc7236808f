package org.plsc4j.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.plsc4j.worker.internal.CurvePlot;

class MetricsLogTest {

    @TempDir
    Path dir;

    @Test
    void writesOneJsonObjectPerLineWithTheContractNames() throws Exception {
        try (MetricsLog log = MetricsLog.open(dir)) {
            log.train(10, 0, 5.5, 0.01, 123.4, 2, Double.NaN, Double.NaN);
            log.train(20, 1, 4.5, 0.02, 130.0, 2, 0.25, 0.5);
            Map<String, MetricsLog.EvalResult> r = new LinkedHashMap<>();
            r.put("lfw", new MetricsLog.EvalResult(0.9, 0.01, 0.5, 0.02, 0.001, 3000));
            log.eval(20, 1, r);
        }
        List<String> lines = Files.readAllLines(dir.resolve("metrics.jsonl"));
        assertEquals(3, lines.size());
        ObjectMapper m = new ObjectMapper();
        JsonNode a = m.readTree(lines.get(0));
        assertEquals("train", a.get("event").asText());
        assertEquals(10, a.get("step").asLong());
        assertEquals(5.5, a.get("loss").asDouble());
        assertEquals(2, a.get("world_size").asInt());
        assertEquals(123.4, a.get("samples_per_sec").asDouble());
        assertFalse(a.has("acc1"), "acc1 only with calc_acc");
        assertEquals(0.25, m.readTree(lines.get(1)).get("acc1").asDouble());
        JsonNode e = m.readTree(lines.get(2));
        assertEquals("eval", e.get("event").asText());
        assertEquals(0.9, e.get("targets").get("lfw").get("accuracy").asDouble());
        assertEquals(0.01, e.get("targets").get("lfw").get("accuracy_std").asDouble());
        assertEquals(0.5, e.get("targets").get("lfw").get("val").asDouble());
        // a reopened log appends
        try (MetricsLog log = MetricsLog.open(dir)) {
            log.event("checkpoint", Map.of("epoch", 1));
        }
        assertEquals(4, Files.readAllLines(dir.resolve("metrics.jsonl")).size());
    }

    @Test
    void plotDrawsTheCurves() throws Exception {
        Path png = dir.resolve("curves.png");
        List<MetricsLog.TrainPoint> train = List.of(new MetricsLog.TrainPoint(0, 10, 0.0),
                new MetricsLog.TrainPoint(50, 6, 0.3), new MetricsLog.TrainPoint(100, 2, 0.8));
        List<MetricsLog.EvalPoint> evals = List.of(new MetricsLog.EvalPoint(100, Map.of("lfw", 0.7)));
        CurvePlot.write(train, evals, png);
        BufferedImage img = ImageIO.read(png.toFile());
        assertEquals(1000, img.getWidth());
        // the loss line (blue, 0x1f77b4) is drawn inside the left panel
        int blue = 0;
        for (int x = 70; x < 480; x++) {
            for (int y = 40; y < 370; y++) {
                int rgb = img.getRGB(x, y) & 0xffffff;
                int r = rgb >> 16;
                int b = rgb & 0xff;
                if (b > 150 && r < 100) {
                    blue++;
                }
            }
        }
        assertTrue(blue > 100, "blue pixels of the loss curve: " + blue);
    }

    @Test
    void progressBarPrintsTenthsWhenNotATerminal() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try (org.plsc4j.worker.internal.ProgressBarProbe p = new org.plsc4j.worker.internal.ProgressBarProbe(
                "epoch 1", 100, new PrintStream(buf, true, StandardCharsets.UTF_8))) {
            for (int i = 0; i < 100; i++) {
                p.step(1, "loss 1.0");
            }
        }
        String text = buf.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("epoch 1 [") && text.contains("100/100"), text);
        assertTrue(text.lines().count() <= 11, text);
    }
}
