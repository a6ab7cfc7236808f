package org.plsc4j.coordinator.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.plsc4j.coordinator.CoordinatorException;
import org.plsc4j.coordinator.Generation;
import org.plsc4j.coordinator.JobSpec;
import org.plsc4j.coordinator.JobStatus;
import org.plsc4j.coordinator.RankAssignment;
import org.plsc4j.coordinator.WorkerInfo;
import org.plsc4j.coordinator.WorkerReport;
import org.plsc4j.core.ClassLayout;

/** The JSON of the ZooKeeper nodes (field names are the public contract in the README). */
public final class Json {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private Json() {
    }

    /** JobSpec → JSON bytes. */
    public static byte[] spec(JobSpec s) {
        ObjectNode o = MAPPER.createObjectNode();
        o.put("format", 1);
        o.put("job", s.jobId());
        o.put("num_classes", s.numClasses());
        o.put("layout", s.layout().name().toLowerCase(java.util.Locale.ROOT));
        o.put("min_workers", s.minWorkers());
        o.put("max_workers", s.maxWorkers());
        o.put("settle_ms", s.settle().toMillis());
        o.put("max_restarts", s.maxRestarts());
        return bytes(o);
    }

    /** JSON bytes → JobSpec. */
    public static JobSpec spec(byte[] b, String where) {
        JsonNode o = tree(b, where);
        try {
            return new JobSpec(text(o, "job", where), integer(o, "num_classes", where),
                    ClassLayout.Kind.parse(text(o, "layout", where)), integer(o, "min_workers", where),
                    integer(o, "max_workers", where), Duration.ofMillis(number(o, "settle_ms", where)),
                    optionalInteger(o, "max_restarts", JobSpec.DEFAULT_MAX_RESTARTS, where));
        } catch (IllegalArgumentException e) {
            throw new CoordinatorException(where + ": " + e.getMessage(), e);
        }
    }

    /** WorkerInfo → JSON bytes. */
    public static byte[] worker(WorkerInfo w) {
        ObjectNode o = MAPPER.createObjectNode();
        o.put("host", w.host());
        o.put("port", w.port());
        o.put("pid", w.pid());
        o.put("device", w.device());
        return bytes(o);
    }

    /** JSON bytes → WorkerInfo. */
    public static WorkerInfo worker(byte[] b, String where) {
        JsonNode o = tree(b, where);
        try {
            return new WorkerInfo(text(o, "host", where), integer(o, "port", where), number(o, "pid", where),
                    text(o, "device", where));
        } catch (IllegalArgumentException e) {
            throw new CoordinatorException(where + ": " + e.getMessage(), e);
        }
    }

    /** WorkerReport → JSON bytes (NaN numbers as null). */
    public static byte[] report(WorkerReport r) {
        ObjectNode o = MAPPER.createObjectNode();
        o.put("worker", r.workerId());
        o.put("host", r.host());
        o.put("pid", r.pid());
        o.put("device", r.device());
        o.put("generation", r.generation());
        o.put("rank", r.rank());
        o.put("class_start", r.classStart());
        o.put("class_end", r.classEnd());
        o.put("epoch", r.epoch());
        o.put("step", r.step());
        o.put("total_steps", r.totalSteps());
        putFinite(o, "steps_per_sec", r.stepsPerSec());
        putFinite(o, "samples_per_sec", r.samplesPerSec());
        putFinite(o, "loss", r.loss());
        putFinite(o, "lr", r.lr());
        o.put("flush_version", r.flushVersion());
        o.put("metrics_url", r.metricsUrl());
        o.put("time_ms", r.timeMillis());
        return bytes(o);
    }

    /** JSON bytes → WorkerReport. */
    public static WorkerReport report(byte[] b, String where) {
        JsonNode o = tree(b, where);
        try {
            return new WorkerReport(text(o, "worker", where), text(o, "host", where), number(o, "pid", where),
                    text(o, "device", where), number(o, "generation", where), integer(o, "rank", where),
                    integer(o, "class_start", where), integer(o, "class_end", where), integer(o, "epoch", where),
                    number(o, "step", where), number(o, "total_steps", where), real(o, "steps_per_sec"),
                    real(o, "samples_per_sec"), real(o, "loss"), real(o, "lr"), number(o, "flush_version", where),
                    o.path("metrics_url").asText(""), number(o, "time_ms", where));
        } catch (IllegalArgumentException e) {
            throw new CoordinatorException(where + ": " + e.getMessage(), e);
        }
    }

    private static void putFinite(ObjectNode o, String field, double v) {
        if (Double.isFinite(v)) {
            o.put(field, v);
        } else {
            o.putNull(field);
        }
    }

    private static double real(JsonNode o, String field) {
        JsonNode v = o.get(field);
        return v == null || !v.isNumber() ? Double.NaN : v.asDouble();
    }

    /** Generation → JSON bytes. */
    public static byte[] generation(Generation g) {
        ObjectNode o = MAPPER.createObjectNode();
        o.put("format", 1);
        o.put("generation", g.number());
        o.put("num_classes", g.numClasses());
        o.put("layout", g.layout().name().toLowerCase(java.util.Locale.ROOT));
        o.put("world_size", g.worldSize());
        o.put("restarts", g.restarts());
        ArrayNode ranks = o.putArray("ranks");
        for (RankAssignment a : g.ranks()) {
            ObjectNode r = ranks.addObject();
            r.put("rank", a.rank());
            r.put("worker_id", a.workerId());
            r.put("host", a.host());
            r.put("port", a.port());
            r.put("class_start", a.classStart());
            r.put("class_end", a.classEnd());
        }
        return bytes(o);
    }

    /** JSON bytes → Generation (validated: complete or an exception). */
    public static Generation generation(byte[] b, String where) {
        JsonNode o = tree(b, where);
        JsonNode ranks = o.get("ranks");
        if (ranks == null || !ranks.isArray()) {
            throw new CoordinatorException(where + ": ranks missing (expected: an array)");
        }
        List<RankAssignment> list = new ArrayList<>();
        for (JsonNode r : ranks) {
            list.add(new RankAssignment(integer(r, "rank", where), text(r, "worker_id", where), text(r, "host", where),
                    integer(r, "port", where), integer(r, "class_start", where), integer(r, "class_end", where)));
        }
        int worldSize = integer(o, "world_size", where);
        if (worldSize != list.size()) {
            throw new CoordinatorException(where + ": world_size : " + worldSize + " (expected: " + list.size()
                    + ", the number of ranks)");
        }
        try {
            return new Generation(number(o, "generation", where), integer(o, "num_classes", where),
                    ClassLayout.Kind.parse(text(o, "layout", where)), list, optionalInteger(o, "restarts", 0, where));
        } catch (IllegalArgumentException e) {
            throw new CoordinatorException(where + ": " + e.getMessage(), e);
        }
    }

    /** JobStatus → JSON bytes. */
    public static byte[] status(JobStatus s) {
        ObjectNode o = MAPPER.createObjectNode();
        o.put("state", s.state());
        o.put("generation", s.generation());
        o.put("registered", s.registered());
        o.put("standbys", s.standbys());
        o.put("message", s.message());
        return bytes(o);
    }

    /** JSON bytes → JobStatus. */
    public static JobStatus status(byte[] b, String where) {
        JsonNode o = tree(b, where);
        return new JobStatus(text(o, "state", where), number(o, "generation", where), integer(o, "registered", where),
                integer(o, "standbys", where), text(o, "message", where));
    }

    private static byte[] bytes(JsonNode o) {
        try {
            return MAPPER.writeValueAsBytes(o);
        } catch (IOException e) {
            throw new IllegalStateException("cannot serialise " + o, e);
        }
    }

    private static JsonNode tree(byte[] b, String where) {
        if (b == null || b.length == 0) {
            throw new CoordinatorException(where + ": empty node (expected: a JSON object)");
        }
        try {
            JsonNode n = MAPPER.readTree(b);
            if (n == null || !n.isObject()) {
                throw new CoordinatorException(where + ": not a JSON object");
            }
            return n;
        } catch (IOException e) {
            throw new CoordinatorException(where + ": not JSON: " + e.getMessage(), e);
        }
    }

    private static String text(JsonNode o, String field, String where) {
        JsonNode v = o.get(field);
        if (v == null || !v.isTextual()) {
            throw new CoordinatorException(where + ": " + field + " : " + v + " (expected: a string)");
        }
        return v.asText();
    }

    private static long number(JsonNode o, String field, String where) {
        JsonNode v = o.get(field);
        if (v == null || !v.isIntegralNumber()) {
            throw new CoordinatorException(where + ": " + field + " : " + v + " (expected: an integer)");
        }
        return v.asLong();
    }

    /** An optional integer field (added after format 1 was published: absent in older nodes). */
    private static int optionalInteger(JsonNode o, String field, int absent, String where) {
        JsonNode v = o.get(field);
        return v == null || v.isNull() ? absent : integer(o, field, where);
    }

    private static int integer(JsonNode o, String field, String where) {
        long v = number(o, field, where);
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw new CoordinatorException(where + ": " + field + " : " + v + " (expected: a 32-bit integer)");
        }
        return (int) v;
    }
}
