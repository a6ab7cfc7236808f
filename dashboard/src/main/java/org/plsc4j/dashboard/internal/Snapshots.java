package org.plsc4j.dashboard.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Locale;

/**
 * The parts of a dashboard snapshot that come from {@code metrics.jsonl}, shared by the live and the
 * directory views: curve points (incrementally, from the index the page already has), evaluation
 * points and the event list with a one-line text per event.
 */
final class Snapshots {

    static final ObjectMapper JSON = new ObjectMapper();
    /** The most recent events a snapshot carries. */
    static final int MAX_EVENTS = 300;

    private Snapshots() {
    }

    /** Adds {@code train} (points from index {@code since}), {@code eval}. */
    static void curves(ObjectNode out, MetricsFile m, long since) {
        curves(out, m.train(), m.evals(), since);
    }

    /** Adds {@code train} (of {@code trainLines}, from index {@code since}) and {@code eval}. */
    static void curves(ObjectNode out, List<ObjectNode> trainLines, List<ObjectNode> evalLines, long since) {
        int total = trainLines.size();
        int from = since < 0 || since > total ? 0 : (int) since;
        ObjectNode train = out.putObject("train");
        train.put("offset", from);
        train.put("total", total);
        ArrayNode pts = train.putArray("points");
        for (ObjectNode o : trainLines.subList(from, total)) {
            ObjectNode p = pts.addObject();
            p.put("t_ms", o.path("t_ms").asLong());
            copy(o, p, "step", "epoch", "loss", "lr", "samples_per_sec", "world_size", "acc1", "acc5", "loss_scale",
                    "skipped_steps");
        }
        ArrayNode ev = out.putArray("eval");
        for (ObjectNode o : evalLines) {
            ObjectNode p = ev.addObject();
            p.put("t_ms", o.path("t_ms").asLong());
            copy(o, p, "step", "epoch");
            ObjectNode acc = p.putObject("accuracy");
            o.path("targets").fields().forEachRemaining(e -> acc.put(e.getKey(), e.getValue().path("accuracy")
                    .asDouble()));
        }
    }

    private static void copy(JsonNode from, ObjectNode to, String... fields) {
        for (String f : fields) {
            JsonNode v = from.get(f);
            if (v != null && !v.isNull()) {
                to.set(f, v);
            }
        }
    }

    /** The events of {@code m} (without "generation" lines when {@code withGenerations} is false). */
    static void events(ArrayNode out, List<ObjectNode> events, boolean withGenerations) {
        for (ObjectNode o : events) {
            String kind = o.path("event").asText();
            if (!withGenerations && kind.equals("generation")) {
                continue;
            }
            ObjectNode e = out.addObject();
            e.put("t_ms", o.path("t_ms").asLong());
            e.put("kind", kind);
            e.put("text", text(kind, o));
            if (o.hasNonNull("error")) {
                e.put("error", true);
            }
        }
    }

    /** A one-line description of a metrics.jsonl event. */
    static String text(String kind, JsonNode o) {
        return switch (kind) {
            case "checkpoint" -> String.format(Locale.ROOT, "checkpoint of epoch %d at step %d: %s",
                    o.path("epoch").asInt(), o.path("step").asLong(), o.path("dir").asText());
            case "hdfs_upload" -> o.hasNonNull("error")
                    ? String.format(Locale.ROOT, "HDFS upload of epoch %d failed: %s", o.path("epoch").asInt(),
                            o.path("error").asText())
                    : String.format(Locale.ROOT, "HDFS upload of epoch %d: %s in %.2f s (%s)%s", o.path("epoch").asInt(),
                            bytes(o.path("bytes").asLong()), o.path("seconds").asDouble(), o.path("remote").asText(),
                            o.path("pruned").asInt() > 0 ? ", pruned " + o.path("pruned").asInt() : "");
            case "restore" -> String.format(Locale.ROOT,
                    "generation %d restored its rows from the shard store at step %d: %d missing, versions %d..%d",
                    o.path("generation").asLong(), o.path("step").asLong(), o.path("missing_rows").asLong(),
                    o.path("min_version").asLong(), o.path("max_version").asLong());
            case "generation_end" -> String.format(Locale.ROOT,
                    "generation %d ended at step %d (%d flushes, %d skipped)", o.path("generation").asLong(),
                    o.path("step").asLong(), o.path("flushes").asLong(), o.path("flushes_skipped").asLong());
            case "generation" -> String.format(Locale.ROOT, "generation %d: %d worker(s), from epoch %d step %d",
                    o.path("generation").asLong(), o.path("world_size").asInt(), o.path("epoch").asInt(),
                    o.path("step").asLong());
            default -> {
                ObjectNode rest = o.deepCopy();
                rest.remove(List.of("event", "time", "t_ms"));
                yield kind + " " + rest;
            }
        };
    }

    static String bytes(long b) {
        if (b < 1024) {
            return b + " B";
        }
        if (b < 1024 * 1024) {
            return String.format(Locale.ROOT, "%.1f KiB", b / 1024.0);
        }
        if (b < 1024L * 1024 * 1024) {
            return String.format(Locale.ROOT, "%.1f MiB", b / 1048576.0);
        }
        return String.format(Locale.ROOT, "%.2f GiB", b / 1073741824.0);
    }

    /** Puts {@code v} or null when it is not finite (JSON has no NaN). */
    static void putFinite(ObjectNode o, String field, double v) {
        if (Double.isFinite(v)) {
            o.put(field, v);
        } else {
            o.putNull(field);
        }
    }
}
