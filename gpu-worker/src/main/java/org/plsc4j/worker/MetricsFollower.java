package org.plsc4j.worker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A reader of {@link MetricsLog}'s {@code metrics.jsonl} while a job writes it, for tests and
 * benchmarks that wait for an event (a generation, a restore, a step after a fault).
 *
 * <p>Why here and why a WatchService: the format belongs to this module's {@link MetricsLog};
 * the waiter wakes on every change of a watched directory (no sleep-polling) and re-reads the small
 * files, ignoring a partly written last line. Why several directories: without a shared disk every
 * machine has its own {@code model_save_dir}, and rank 0 (the writer) may move to another machine
 * at a generation change, so the job's log is the union of the machines' files, ordered by
 * {@code time}.
 */
public final class MetricsFollower implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final List<Path> files = new ArrayList<>();
    private final WatchService watch;

    /** Follows {@code metrics.jsonl} in each of {@code saveDirs} (created when missing). */
    public MetricsFollower(List<Path> saveDirs) throws IOException {
        if (saveDirs.isEmpty()) {
            throw new IllegalArgumentException("saveDirs : [] (expected: at least one model_save_dir)");
        }
        this.watch = FileSystems.getDefault().newWatchService();
        try {
            for (Path d : saveDirs) {
                Files.createDirectories(d);
                files.add(d.resolve(MetricsLog.FILE_NAME));
                d.register(watch, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY);
            }
        } catch (IOException | RuntimeException e) {
            watch.close();
            throw e;
        }
    }

    /** Follows one {@code model_save_dir}'s {@code metrics.jsonl}. */
    public MetricsFollower(Path saveDir) throws IOException {
        this(List.of(saveDir));
    }

    /** The files followed. */
    public List<Path> files() {
        return List.copyOf(files);
    }

    /** Every complete event so far: one file's in its order, several merged by {@code time} (stable). */
    public List<JsonNode> events() throws IOException {
        List<JsonNode> out = new ArrayList<>();
        int present = 0;
        for (Path f : files) {
            List<JsonNode> lines = read(f);
            present += lines.isEmpty() ? 0 : 1;
            out.addAll(lines);
        }
        if (present > 1) {
            out.sort(Comparator.comparing(e -> Instant.parse(e.get("time").asText())));
        }
        return out;
    }

    /**
     * The first event matching {@code p}, or empty after {@code timeout}. In one call {@code p} sees
     * every event once, from the first line, each file's in its order (so a predicate may keep state).
     */
    public Optional<JsonNode> await(Predicate<JsonNode> p, Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        int[] shown = new int[files.size()];
        while (true) {
            for (int i = 0; i < files.size(); i++) {
                List<JsonNode> lines = read(files.get(i));
                for (int j = shown[i]; j < lines.size(); j++) {
                    shown[i] = j + 1;
                    if (p.test(lines.get(j))) {
                        return Optional.of(lines.get(j));
                    }
                }
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return Optional.empty();
            }
            WatchKey key;
            try {
                key = watch.poll(left, TimeUnit.NANOSECONDS);
            } catch (ClosedWatchServiceException e) {
                throw new IllegalStateException("metrics follower of " + files + " is closed", e);
            }
            if (key != null) {
                key.pollEvents();
                key.reset();
            }
        }
    }

    private static List<JsonNode> read(Path file) throws IOException {
        if (!Files.exists(file)) {
            return List.of();
        }
        String text = new String(Files.readAllBytes(file), StandardCharsets.UTF_8);
        int end = text.lastIndexOf('\n');
        List<JsonNode> out = new ArrayList<>();
        if (end < 0) {
            return out;
        }
        for (String line : text.substring(0, end).split("\n")) {
            if (!line.isBlank()) {
                try {
                    out.add(JSON.readTree(line));
                } catch (IOException e) {
                    throw new UncheckedIOException(file + ": not a JSON line: " + line, e);
                }
            }
        }
        return out;
    }

    @Override
    public void close() throws IOException {
        watch.close();
    }
}
