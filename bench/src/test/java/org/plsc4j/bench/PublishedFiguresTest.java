package org.plsc4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * BENCHMARKS.md's "Current figures" against the JSON they claim to come from: every run a table names
 * has its saved {@code --json} output, and every checked column shows that JSON's numbers, rounded as
 * printed. Why: issue 13's promise is that each published figure comes from one command's own JSON;
 * this makes a hand-edited or stale cell fail the build instead of waiting for a skeptic.
 */
class PublishedFiguresTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern RUN = Pattern.compile("^`([a-z0-9_]+)`");
    private static final Pattern NUMBER = Pattern.compile("\\d[\\d,]*(?:\\.\\d+)?");
    private static final Pattern RESULTS = Pattern.compile("bench/results/(\\d{4}-\\d{2}-\\d{2})/");

    /** The expected numbers of a column, in the order the cell prints them; a null is not checked. */
    private static final Map<String, BiFunction<JsonNode, Map<String, String>, List<Double>>> COLUMNS = columns();

    private static Map<String, BiFunction<JsonNode, Map<String, String>, List<Double>>> columns() {
        Map<String, BiFunction<JsonNode, Map<String, String>, List<Double>>> c = new LinkedHashMap<>();
        c.put("fc_step_ms median (min–max)", (j, row) -> of(j, "fc_step_ms", "fc_step_ms_min", "fc_step_ms_max"));
        c.put("torch_step_ms median (min–max)",
                (j, row) -> of(j, "torch_step_ms", "torch_step_ms_min", "torch_step_ms_max"));
        c.put("speedup_vs_torch", (j, row) -> of(j, "speedup_vs_torch"));
        c.put("dl4j_step_ms median (min–max)",
                (j, row) -> of(j, "dl4j_step_ms", "dl4j_step_ms_min", "dl4j_step_ms_max"));
        c.put("speedup_vs_dl4j", (j, row) -> of(j, "speedup_vs_dl4j"));
        c.put("netty GB/s", (j, row) -> of(j, "netty_gbps"));
        c.put("nio GB/s", (j, row) -> of(j, "nio_gbps"));
        c.put("netty_ms median (min–max)", (j, row) -> spreadOrAll(j, "netty"));
        c.put("nio_ms median (min–max)", (j, row) -> spreadOrAll(j, "nio"));
        c.put("ratio", (j, row) -> j.has("runs") ? of(serveRun(j, row), "ratio") : of(j, "ratio"));
        c.put("emb/s", (j, row) -> of(serveRun(j, row), "embeddings_per_s"));
        c.put("ratio_vs_max_batch", (j, row) -> of(serveRun(j, row), "ratio_vs_max_batch"));
        c.put("best bare at max batch 64 emb/s (median, min–max of 3)", (j, row) -> {
            JsonNode r = serveRun(j, row);
            List<Double> out = new ArrayList<>(of(r, "bare_max_batch_embeddings_per_s"));
            out.addAll(of(r.get("bare_max_batch_spread"), "median", "min", "max"));
            return out;
        });
        c.put("ratio (tool / baseline)", (j, row) -> of(j, "ratio_vs_shuf_split"));
        c.put("tool s median (min–max)", (j, row) -> j.has("tool_spread")
                ? of(j.get("tool_spread"), "median", "min", "max") : of(j, "tool_s"));
        c.put("ratio_vs_backbone", (j, row) -> of(trainRun(j, row), "ratio_vs_backbone"));
        c.put("trainer img/s median (min–max of windows)",
                (j, row) -> of(trainRun(j, row).get("spread"), "median", "min", "max"));
        c.put("bare backbone img/s median (min–max)", (j, row) -> of(j.get("backbone_spread"), "median", "min", "max"));
        c.put("baseline minor faults / step", (j, row) -> of(j, "baseline_minor_faults_per_step"));
        c.put("kill → first step s, median (min–max)",
                (j, row) -> of(j.get("failover_spread"), "median", "min", "max"));
        c.put("kill → new generation s", (j, row) -> of(j.get("generation_spread"), "median", "min", "max"));
        c.put("resync_s (restore event)", (j, row) -> {
            List<Double> out = new ArrayList<>();
            j.get("resync_s").forEach(x -> out.add(x.asDouble()));
            return out;
        });
        c.put("ratio (low–high)", (j, row) -> of(row.get("run").contains("float32 row") ? j.get("float32_row") : j,
                "ratio", "ratio_low", "ratio_high"));
        c.put("train_ratio_vs_torch", (j, row) -> of(j, "train_ratio_vs_torch"));
        c.put("inference_ratio_vs_torch", (j, row) -> of(j, "inference_ratio_vs_torch"));
        c.put("train img/s (spread)", (j, row) -> of(j, "train_images_per_sec", "train_spread"));
        c.put("torch train img/s (spread)", (j, row) -> of(j, "torch_train_images_per_sec", "torch_train_spread"));
        c.put("inference img/s (spread)", (j, row) -> of(j, "inference_images_per_sec", "inference_spread"));
        c.put("torch inference img/s (spread)",
                (j, row) -> of(j, "torch_inference_images_per_sec", "torch_inference_spread"));
        return c;
    }

    private static List<Double> of(JsonNode j, String... fields) {
        List<Double> out = new ArrayList<>();
        for (String f : fields) {
            JsonNode v = j.get(f);
            out.add(v == null || v.isNull() ? null : v.asDouble());
        }
        return out;
    }

    /** The old allgather JSON has no spread objects: then min and max come from the timed iterations. */
    private static List<Double> spreadOrAll(JsonNode j, String side) {
        if (j.has(side + "_spread")) {
            return of(j.get(side + "_spread"), "median", "min", "max");
        }
        double min = Double.MAX_VALUE;
        double max = -Double.MAX_VALUE;
        for (JsonNode x : j.get(side + "_ms_all")) {
            min = Math.min(min, x.asDouble());
            max = Math.max(max, x.asDouble());
        }
        return List.of(j.get(side + "_ms").asDouble(), min, max);
    }

    private static JsonNode serveRun(JsonNode j, Map<String, String> row) {
        for (JsonNode r : j.get("runs")) {
            if (r.get("engine").asText().equals(row.get("engine")) && r.get("round").asText().equals(row.get("round"))
                    && r.get("clients").asText().equals(row.get("clients"))) {
                return r;
            }
        }
        throw new AssertionError("no run of " + row + " in its JSON");
    }

    private static JsonNode trainRun(JsonNode j, Map<String, String> row) {
        for (JsonNode r : j.get("runs")) {
            if (r.get("workers").asText().equals(row.get("workers"))) {
                return r;
            }
        }
        throw new AssertionError("no run with " + row.get("workers") + " workers in its JSON: " + row);
    }

    private static String currentSection() throws IOException {
        Path md = Path.of("..", "BENCHMARKS.md");
        assertTrue(Files.isRegularFile(md), "BENCHMARKS.md next to the bench module: " + md.toAbsolutePath());
        String s = Files.readString(md);
        int from = s.indexOf("## Current figures");
        int to = s.indexOf("\n# History", from);
        assertTrue(from >= 0 && to > from, "BENCHMARKS.md has a 'Current figures' section before '# History'");
        return s.substring(from, to);
    }

    private static Path resultsDir(String section) {
        Matcher m = RESULTS.matcher(section);
        assertTrue(m.find(), "the section names its results directory");
        return Path.of("..", "bench", "results", m.group(1));
    }

    private static List<String> cells(String line) {
        String inner = line.strip();
        inner = inner.substring(1, inner.length() - 1);
        List<String> out = new ArrayList<>();
        for (String c : inner.split("\\|", -1)) {
            out.add(c.strip().replace("**", ""));
        }
        return out;
    }

    private static List<Double> numbers(String cell) {
        List<Double> out = new ArrayList<>();
        Matcher m = NUMBER.matcher(cell);
        while (m.find()) {
            out.add(Double.parseDouble(m.group().replace(",", "")));
        }
        return out;
    }

    private static int decimals(String cell, int index) {
        Matcher m = NUMBER.matcher(cell);
        for (int i = 0; i <= index; i++) {
            m.find();
        }
        String n = m.group();
        int dot = n.indexOf('.');
        return dot < 0 ? 0 : n.length() - dot - 1;
    }

    @Test
    void everyCheckedCellIsItsRunsJsonAsPrinted() throws IOException {
        String section = currentSection();
        Path results = resultsDir(section);
        Map<String, JsonNode> json = new LinkedHashMap<>();
        List<String> header = null;
        int checked = 0;
        List<String> problems = new ArrayList<>();
        for (String line : section.split("\n")) {
            if (!line.startsWith("|")) {
                header = null;
                continue;
            }
            List<String> cells = cells(line);
            if (header == null) {
                header = cells;
                continue;
            }
            Matcher run = RUN.matcher(line.substring(1).strip());
            if (!run.find()) {
                continue; // the separator line, or a table of another kind
            }
            String name = run.group(1);
            Path file = results.resolve(name + ".json");
            assertTrue(Files.isRegularFile(file), "the run " + name + " published in BENCHMARKS.md has no " + file);
            JsonNode j = json.computeIfAbsent(name, n -> {
                try {
                    return JSON.readTree(file.toFile());
                } catch (IOException e) {
                    throw new AssertionError(file + ": " + e.getMessage(), e);
                }
            });
            Map<String, String> row = new LinkedHashMap<>();
            for (int i = 0; i < Math.min(header.size(), cells.size()); i++) {
                row.put(header.get(i), cells.get(i));
            }
            for (Map.Entry<String, String> cell : row.entrySet()) {
                BiFunction<JsonNode, Map<String, String>, List<Double>> column = COLUMNS.get(cell.getKey());
                if (column == null || cell.getValue().equals("—") || cell.getValue().equals("same run")) {
                    continue;
                }
                List<Double> want = column.apply(j, row);
                List<Double> shown = numbers(cell.getValue());
                if (shown.isEmpty()) {
                    problems.add(name + " / " + cell.getKey() + ": no number in '" + cell.getValue() + "'");
                    continue;
                }
                for (int i = 0; i < Math.min(shown.size(), want.size()); i++) {
                    if (want.get(i) == null) {
                        continue;
                    }
                    double half = 0.5 * Math.pow(10, -decimals(cell.getValue(), i)) + 1e-9;
                    if (Math.abs(shown.get(i) - want.get(i)) > half) {
                        problems.add(name + " / " + cell.getKey() + ": shows " + shown.get(i) + ", its JSON "
                                + want.get(i));
                    }
                    checked++;
                }
            }
        }
        if (!problems.isEmpty()) {
            fail(problems.size() + " published figures differ from their JSON:\n" + String.join("\n", problems));
        }
        assertTrue(json.size() >= 25, "runs found in the current tables: " + json.keySet());
        assertTrue(checked >= 150, "numbers checked: " + checked);
    }

    @Test
    void theSpeedupSentenceIsTheFcRunsJsonRounded() throws IOException {
        String section = currentSection();
        Path results = resultsDir(section);
        Matcher m = Pattern.compile("speedup_vs_torch: ([\\d.]+) \\(200k, r = 0\\.1\\),\\s+([\\d.]+) \\(200k, r = 1\\.0\\),"
                + "\\s+([\\d.]+) \\(1M, r = 0\\.1\\),\\s+([\\d.]+) \\(1M, r = 1\\.0\\)").matcher(section);
        assertTrue(m.find(), "the section states speedup_vs_torch at 200k and 1M, r = 0.1 and 1.0");
        String[] runs = {"fc200k_r01", "fc200k_r10", "fc1m_r01", "fc1m_r10"};
        for (int i = 0; i < runs.length; i++) {
            double want = JSON.readTree(results.resolve(runs[i] + ".json").toFile()).get("speedup_vs_torch").asDouble();
            assertEquals(Math.round(want * 10) / 10.0, Double.parseDouble(m.group(i + 1)), 1e-9, runs[i]);
        }
    }
}
