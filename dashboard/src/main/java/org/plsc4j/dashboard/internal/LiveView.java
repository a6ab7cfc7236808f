package org.plsc4j.dashboard.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.curator.framework.CuratorFramework;
import org.plsc4j.coordinator.CoordinatorException;
import org.plsc4j.coordinator.Generation;
import org.plsc4j.coordinator.JobSpec;
import org.plsc4j.coordinator.JobStatus;
import org.plsc4j.coordinator.JobStore;
import org.plsc4j.coordinator.RankAssignment;
import org.plsc4j.coordinator.RegisteredWorker;
import org.plsc4j.coordinator.WorkerInfo;
import org.plsc4j.coordinator.WorkerReport;
import org.plsc4j.dashboard.JobView;

/**
 * A running job seen through ZooKeeper: spec, status, every generation (with its publication time),
 * the registry and the workers' reports; curves and events from {@code metrics.jsonl} when the job's
 * {@code model_save_dir} is readable from here.
 *
 * <p>Workers are remembered once seen, so a worker killed mid-job stays in the table as "lost"
 * with its last report (ZooKeeper removes its nodes with its session).
 */
public final class LiveView implements JobView {

    private final JobStore store;
    private final Path givenDir;
    private MetricsFile metrics;
    private JobSpec spec;
    private long createdMs;
    private final Map<Long, Generation> generations = new LinkedHashMap<>();
    private final Map<Long, Long> generationTimes = new HashMap<>();
    private final Map<String, WorkerReport> lastReports = new HashMap<>();
    private final Map<String, WorkerInfo> lastInfo = new HashMap<>();
    /** Curve points from rank 0's reports, for when metrics.jsonl is not readable here. */
    private final List<ObjectNode> reported = new ArrayList<>();

    /** The view of {@code job}; {@code modelSaveDir} null to read it from the job's configuration. */
    public LiveView(CuratorFramework client, String job, Path modelSaveDir) {
        this.store = new JobStore(client, job);
        this.givenDir = modelSaveDir;
    }

    @Override
    public synchronized ObjectNode snapshot(long since) {
        long now = System.currentTimeMillis();
        ObjectNode out = Snapshots.JSON.createObjectNode();
        out.put("now_ms", now);
        out.put("source", "zookeeper");
        if (!store.exists()) {
            out.putObject("job").put("id", store.paths().jobId()).put("state", "unknown")
                    .put("message", "no such job in ZooKeeper (yet)");
            out.putArray("workers");
            out.putArray("generations");
            out.putArray("events");
            Snapshots.curves(out, new MetricsFile(Path.of("metrics.jsonl-absent")), since);
            return out;
        }
        if (spec == null) {
            spec = store.readSpec();
            createdMs = store.createdMillis(store.paths().root());
        }
        MetricsFile m = metrics();
        m.poll();
        Optional<JobStatus> status = store.readStatus();
        long current = store.currentGenerationNumber();
        for (long g = generations.size() + 1; g <= current; g++) {
            generations.put(g, store.readGeneration(g));
            generationTimes.put(g, store.createdMillis(store.paths().generation(g)));
        }
        List<RegisteredWorker> registered = store.registeredWorkers();
        Map<String, WorkerReport> reports = store.readReports();
        lastReports.putAll(reports);
        registered.forEach(w -> lastInfo.put(w.workerId(), w.info()));
        Set<String> live = new LinkedHashSet<>();
        registered.forEach(w -> live.add(w.workerId()));
        Generation gen = current == 0 ? null : generations.get(current);
        boolean terminal = status.map(JobStatus::isTerminal).orElse(false);

        // job
        ObjectNode job = out.putObject("job");
        job.put("id", store.paths().jobId());
        job.put("state", status.map(JobStatus::state).orElse("starting"));
        job.put("message", status.map(JobStatus::message).orElse(""));
        job.put("generation", current);
        job.put("world_size", gen == null ? 0 : gen.worldSize());
        job.put("num_classes", spec.numClasses());
        job.put("restarts", gen == null ? 0 : gen.restarts());
        job.put("max_restarts", spec.maxRestarts());
        job.put("min_workers", spec.minWorkers());
        job.put("max_workers", spec.maxWorkers());
        job.put("registered", registered.size());
        job.put("started_ms", createdMs);
        WorkerReport lead = lead(gen, reports);
        long lastSeen = Math.max(lastTrainMillis(m), lastReports.values().stream()
                .mapToLong(WorkerReport::timeMillis).max().orElse(createdMs));
        job.put("elapsed_s", ((terminal ? lastSeen : now) - createdMs) / 1000.0);
        if (lead != null) {
            job.put("step", lead.step());
            job.put("total_steps", lead.totalSteps());
            job.put("epoch", lead.epoch());
            Snapshots.putFinite(job, "steps_per_sec", lead.stepsPerSec());
            double eta = lead.stepsPerSec() > 0 ? (lead.totalSteps() - lead.step()) / lead.stepsPerSec() : Double.NaN;
            Snapshots.putFinite(job, "eta_s", terminal ? Double.NaN : eta);
        }
        job.put("metrics_file", m.file().toString());

        // workers: every worker ever seen, current ranks first
        Set<String> seen = new LinkedHashSet<>();
        if (gen != null) {
            seen.addAll(gen.workerIds());
        }
        live.forEach(seen::add);
        List<String> others = new ArrayList<>(lastInfo.keySet());
        generations.values().forEach(g -> others.addAll(g.workerIds()));
        others.addAll(lastReports.keySet());
        others.stream().distinct().sorted(Comparator.comparingLong(RegisteredWorker::sequenceOf)).forEach(seen::add);
        ArrayNode workers = out.putArray("workers");
        for (String id : seen) {
            workers.add(worker(id, gen, live, terminal, status.map(JobStatus::state).orElse("")));
        }

        // generations, with who joined and who left
        ArrayNode gens = out.putArray("generations");
        Generation prev = null;
        for (Generation g : generations.values()) {
            gens.add(generation(g, prev));
            prev = g;
        }

        // events: generations from ZooKeeper, the rest from metrics.jsonl, in time order
        List<ObjectNode> evs = new ArrayList<>();
        for (JsonNode g : gens) {
            ObjectNode e = Snapshots.JSON.createObjectNode();
            e.put("t_ms", g.path("t_ms").asLong());
            e.put("kind", "generation");
            e.put("text", g.path("text").asText());
            evs.add(e);
        }
        ArrayNode fromFile = Snapshots.JSON.createArrayNode();
        Snapshots.events(fromFile, m.events(), false);
        fromFile.forEach(e -> evs.add((ObjectNode) e));
        evs.sort(Comparator.comparingLong(e -> e.path("t_ms").asLong()));
        ArrayNode events = out.putArray("events");
        evs.subList(Math.max(0, evs.size() - Snapshots.MAX_EVENTS), evs.size()).forEach(events::add);

        if (lead != null && (reported.isEmpty()
                || reported.get(reported.size() - 1).path("step").asLong() != lead.step() - 1)
                && Double.isFinite(lead.loss()) && lead.step() > 0) {
            ObjectNode p = Snapshots.JSON.createObjectNode();
            p.put("t_ms", lead.timeMillis());
            p.put("step", lead.step() - 1);
            p.put("epoch", lead.epoch());
            p.put("loss", lead.loss());
            Snapshots.putFinite(p, "lr", lead.lr());
            Snapshots.putFinite(p, "samples_per_sec", lead.samplesPerSec());
            p.put("world_size", gen == null ? 0 : gen.worldSize());
            reported.add(p);
        }
        if (m.trainCount() > 0 || reported.isEmpty()) {
            out.put("curves_source", "metrics.jsonl");
            Snapshots.curves(out, m, since);
        } else {
            // metrics.jsonl is not readable from here (another machine): the points rank 0 reported
            // while this dashboard watched
            out.put("curves_source", "reports");
            Snapshots.curves(out, reported, List.of(), since);
        }
        return out;
    }

    private MetricsFile metrics() {
        if (metrics == null) {
            Path dir = givenDir;
            if (dir == null) {
                try {
                    JsonNode cfg = Snapshots.JSON.readTree(store.readConfig());
                    dir = Path.of(cfg.path("model_save_dir").asText("."));
                } catch (java.io.IOException | CoordinatorException e) {
                    dir = Path.of(".");
                }
            }
            metrics = new MetricsFile(dir.resolve("metrics.jsonl"));
        }
        return metrics;
    }

    private static long lastTrainMillis(MetricsFile m) {
        List<ObjectNode> t = m.trainFrom(Math.max(0, m.trainCount() - 1));
        return t.isEmpty() ? 0 : t.get(0).path("t_ms").asLong();
    }

    /** Rank 0's report of the current generation, else the most advanced report. */
    private WorkerReport lead(Generation gen, Map<String, WorkerReport> reports) {
        if (gen != null) {
            WorkerReport r = reports.get(gen.ranks().get(0).workerId());
            if (r != null && r.generation() == gen.number()) {
                return r;
            }
        }
        return lastReports.values().stream().max(Comparator.comparingLong(WorkerReport::step)).orElse(null);
    }

    private ObjectNode worker(String id, Generation gen, Set<String> live, boolean terminal, String jobState) {
        ObjectNode w = Snapshots.JSON.createObjectNode();
        w.put("id", id);
        WorkerInfo info = lastInfo.get(id);
        WorkerReport r = lastReports.get(id);
        Optional<RankAssignment> a = gen == null ? Optional.empty() : gen.assignmentOf(id);
        w.put("host", info != null ? info.host() : r != null ? r.host() : a.map(RankAssignment::host).orElse(""));
        w.put("pid", info != null ? info.pid() : r != null ? r.pid() : 0);
        w.put("device", info != null ? info.device() : r != null ? r.device() : "");
        String state;
        if (terminal) {
            state = live.contains(id) ? jobState : "lost";
        } else if (!live.contains(id)) {
            state = "lost";
        } else if (a.isPresent()) {
            state = "training";
        } else {
            state = "standby";
        }
        if (terminal && a.isPresent() && live.contains(id)) {
            state = jobState;
        }
        w.put("state", state);
        if (a.isPresent() && !state.equals("lost")) {
            w.put("rank", a.get().rank());
            w.put("class_start", a.get().classStart());
            w.put("class_end", a.get().classEnd());
        } else {
            w.putNull("rank");
        }
        if (r != null) {
            w.put("generation", r.generation());
            w.put("epoch", r.epoch());
            w.put("step", r.step());
            Snapshots.putFinite(w, "steps_per_sec", r.stepsPerSec());
            Snapshots.putFinite(w, "samples_per_sec", r.samplesPerSec());
            Snapshots.putFinite(w, "loss", r.loss());
            w.put("flush_version", r.flushVersion());
            w.put("metrics_url", r.metricsUrl());
            w.put("report_ms", r.timeMillis());
            if (a.isEmpty() && r.rank() >= 0 && state.equals("lost")) {
                w.put("last_rank", r.rank());
                w.put("last_class_start", r.classStart());
                w.put("last_class_end", r.classEnd());
            }
        }
        return w;
    }

    private ObjectNode generation(Generation g, Generation prev) {
        ObjectNode o = Snapshots.JSON.createObjectNode();
        o.put("number", g.number());
        o.put("t_ms", generationTimes.getOrDefault(g.number(), 0L));
        o.put("world_size", g.worldSize());
        o.put("restarts", g.restarts());
        List<String> before = prev == null ? List.of() : prev.workerIds();
        List<String> joined = g.workerIds().stream().filter(x -> !before.contains(x)).toList();
        List<String> left = before.stream().filter(x -> !g.workerIds().contains(x)).toList();
        ArrayNode j = o.putArray("joined");
        joined.forEach(j::add);
        ArrayNode l = o.putArray("left");
        left.forEach(l::add);
        String reason = prev == null ? "job start"
                : g.restarts() > prev.restarts() ? "restart " + g.restarts() + ": a worker was lost"
                : !joined.isEmpty() ? "workers joined" : "membership changed";
        o.put("reason", reason);
        ArrayNode ranks = o.putArray("ranks");
        for (RankAssignment a : g.ranks()) {
            ranks.addObject().put("rank", a.rank()).put("worker", a.workerId()).put("host", a.host())
                    .put("class_start", a.classStart()).put("class_end", a.classEnd());
        }
        StringBuilder text = new StringBuilder("generation ").append(g.number()).append(": ").append(g.worldSize())
                .append(" worker(s), ").append(reason);
        if (!left.isEmpty()) {
            text.append("; left ").append(String.join(", ", left));
        }
        if (!joined.isEmpty()) {
            text.append("; joined ").append(String.join(", ", joined));
        }
        o.put("text", text.toString());
        return o;
    }
}
