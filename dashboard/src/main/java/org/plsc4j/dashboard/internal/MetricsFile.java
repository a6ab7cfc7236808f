package org.plsc4j.dashboard.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows a job's {@code metrics.jsonl} (the trainer's public log, README "metrics.jsonl"): every
 * {@link #poll} reads the lines appended since the last one, so a page refreshing every second costs
 * only the new bytes. A line still being written (no newline yet) is read at the next poll; a line
 * that is not JSON is skipped and logged once.
 *
 * <p>Train lines become curve points, eval lines accuracy points, and the other event kinds
 * (generation, generation_end, checkpoint, hdfs_upload, restore, …) the event list. Every point gets
 * {@code t_ms}, the line's time in epoch milliseconds.
 */
public final class MetricsFile {

    private static final Logger LOG = LoggerFactory.getLogger(MetricsFile.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private long offset;
    private final StringBuilder partial = new StringBuilder();
    private final List<ObjectNode> train = new ArrayList<>();
    private final List<ObjectNode> evals = new ArrayList<>();
    private final List<ObjectNode> events = new ArrayList<>();
    private boolean warned;

    /** Follows {@code file} (it may not exist yet). */
    public MetricsFile(Path file) {
        this.file = file;
    }

    /** The file followed. */
    public Path file() {
        return file;
    }

    /** Reads what was appended since the last poll. */
    public synchronized void poll() {
        if (!Files.isRegularFile(file)) {
            return;
        }
        try (RandomAccessFile in = new RandomAccessFile(file.toFile(), "r")) {
            long length = in.length();
            if (length < offset) { // truncated or replaced: start over
                offset = 0;
                partial.setLength(0);
                train.clear();
                evals.clear();
                events.clear();
            }
            if (length == offset) {
                return;
            }
            byte[] buf = new byte[(int) Math.min(length - offset, 64L << 20)];
            in.seek(offset);
            in.readFully(buf);
            int lastNewline = -1;
            for (int i = buf.length - 1; i >= 0; i--) {
                if (buf[i] == '\n') {
                    lastNewline = i;
                    break;
                }
            }
            if (lastNewline < 0) {
                return; // no complete line yet
            }
            offset += lastNewline + 1;
            String text = new String(buf, 0, lastNewline + 1, StandardCharsets.UTF_8);
            for (String line : text.split("\n")) {
                if (!line.isBlank()) {
                    add(line);
                }
            }
        } catch (IOException e) {
            LOG.debug("cannot read {}: {}", file, e.toString());
        }
    }

    private void add(String line) {
        JsonNode n;
        try {
            n = JSON.readTree(line);
        } catch (IOException e) {
            if (!warned) {
                LOG.warn("{}: a line that is not JSON is skipped: {}", file, line.length() > 80 ? line.substring(0, 80)
                        : line);
                warned = true;
            }
            return;
        }
        if (!(n instanceof ObjectNode o) || !o.hasNonNull("event")) {
            return;
        }
        o.put("t_ms", millis(o.path("time").asText("")));
        switch (o.get("event").asText()) {
            case "train" -> train.add(o);
            case "eval" -> evals.add(o);
            default -> events.add(o);
        }
    }

    /** Epoch milliseconds of an ISO-8601 instant; 0 when unreadable. */
    static long millis(String iso) {
        try {
            return Instant.parse(iso).toEpochMilli();
        } catch (DateTimeParseException e) {
            return 0;
        }
    }

    /** The train lines read so far (a copy). */
    public synchronized List<ObjectNode> train() {
        return List.copyOf(train);
    }

    /** The number of train lines read so far. */
    public synchronized int trainCount() {
        return train.size();
    }

    /** The train lines from index {@code from} (a copy). */
    public synchronized List<ObjectNode> trainFrom(int from) {
        return List.copyOf(train.subList(Math.max(0, Math.min(from, train.size())), train.size()));
    }

    /** The eval lines read so far (a copy). */
    public synchronized List<ObjectNode> evals() {
        return List.copyOf(evals);
    }

    /** The other events read so far, in file order (a copy). */
    public synchronized List<ObjectNode> events() {
        return List.copyOf(events);
    }
}
