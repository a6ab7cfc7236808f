package org.plsc4j.dashboard.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.plsc4j.checkpoint.Checkpoint;
import org.plsc4j.checkpoint.Checkpoints;
import org.plsc4j.core.ClassLayout;
import org.plsc4j.dashboard.JobView;

/**
 * A job seen through its {@code model_save_dir} alone (no ZooKeeper): curves and events from
 * {@code metrics.jsonl}, generations from its "generation" lines (world size and step; which workers
 * joined or left is known only to ZooKeeper), the ranks and class ranges of the newest checkpoint,
 * and the number of epochs from the configuration that checkpoint carries.
 */
public final class DirView implements JobView {

    private final Path dir;
    private final MetricsFile metrics;

    /** The view of {@code dir}. */
    public DirView(Path dir) {
        this.dir = dir;
        this.metrics = new MetricsFile(dir.resolve("metrics.jsonl"));
    }

    @Override
    public synchronized ObjectNode snapshot(long since) {
        metrics.poll();
        ObjectNode out = Snapshots.JSON.createObjectNode();
        out.put("now_ms", System.currentTimeMillis());
        out.put("source", "directory");
        Optional<Checkpoint> ck = latest();
        List<ObjectNode> train = metrics.train();
        List<ObjectNode> events = metrics.events();
        ObjectNode job = out.putObject("job");
        job.put("id", dir.getFileName() == null ? dir.toString() : dir.getFileName().toString());
        boolean plotted = Files.isRegularFile(dir.resolve("training_curves.png"));
        job.put("state", plotted ? "finished" : train.isEmpty() ? "empty" : "stopped");
        job.put("message", "read from " + dir.toAbsolutePath() + " (no ZooKeeper)");
        List<ObjectNode> gens = events.stream().filter(e -> e.path("event").asText().equals("generation")).toList();
        ObjectNode lastTrain = train.isEmpty() ? null : train.get(train.size() - 1);
        job.put("generation", gens.isEmpty() ? (train.isEmpty() ? 0 : 1) : gens.get(gens.size() - 1)
                .path("generation").asLong());
        int world = lastTrain != null ? lastTrain.path("world_size").asInt()
                : ck.map(c -> c.layout().worldSize()).orElse(0);
        job.put("world_size", world);
        job.put("restarts", Math.max(0, gens.size() - 1));
        job.putNull("max_restarts");
        long first = firstMillis(train, events);
        long last = Math.max(lastTrain == null ? 0 : lastTrain.path("t_ms").asLong(),
                events.isEmpty() ? 0 : events.get(events.size() - 1).path("t_ms").asLong());
        job.put("started_ms", first);
        job.put("elapsed_s", first == 0 ? 0 : (last - first) / 1000.0);
        if (lastTrain != null) {
            job.put("step", lastTrain.path("step").asLong() + 1);
            job.put("epoch", lastTrain.path("epoch").asInt());
        }
        job.putNull("eta_s");
        job.put("metrics_file", metrics.file().toString());
        ck.ifPresent(c -> {
            job.put("num_classes", c.numClasses());
            job.put("last_checkpoint", c.dir().toString());
        });

        ArrayNode workers = out.putArray("workers");
        ck.ifPresent(c -> {
            ClassLayout layout = c.layout();
            for (int r = 0; r < layout.worldSize(); r++) {
                ObjectNode w = workers.addObject();
                w.put("id", "rank " + r);
                w.put("host", "");
                w.put("device", "");
                w.put("state", plotted ? "finished" : "stopped");
                w.put("rank", r);
                w.put("class_start", layout.start(r));
                w.put("class_end", layout.end(r));
                w.put("step", c.step());
                w.put("flush_version", -1);
            }
        });

        ArrayNode g = out.putArray("generations");
        for (ObjectNode e : gens) {
            ObjectNode o = g.addObject();
            o.put("number", e.path("generation").asLong());
            o.put("t_ms", e.path("t_ms").asLong());
            o.put("world_size", e.path("world_size").asInt());
            o.put("text", Snapshots.text("generation", e));
        }
        ArrayNode ev = out.putArray("events");
        Snapshots.events(ev, events.subList(Math.max(0, events.size() - Snapshots.MAX_EVENTS), events.size()), true);
        out.put("curves_source", "metrics.jsonl");
        Snapshots.curves(out, metrics, since);
        return out;
    }

    private Optional<Checkpoint> latest() {
        try {
            Optional<Path> p = Checkpoints.latest(dir);
            return p.isEmpty() ? Optional.empty() : Optional.of(Checkpoint.open(p.get()));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    private static long firstMillis(List<ObjectNode> train, List<ObjectNode> events) {
        long t = Long.MAX_VALUE;
        if (!train.isEmpty()) {
            t = train.get(0).path("t_ms").asLong();
        }
        for (JsonNode e : events) {
            t = Math.min(t, e.path("t_ms").asLong());
            break;
        }
        return t == Long.MAX_VALUE ? 0 : t;
    }
}
