package org.plsc4j.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.plsc4j.data.Base64Preprocessor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code plsc4j bench preprocess}: {@code preprocess-base64} against coreutils {@code shuf} +
 * {@code split -n l/N} of the same generated data set in the same run. The baseline shuffles in
 * memory (shuf holds the whole data set) and neither validates lines nor equalises the files; the
 * tool validates every line (base64 decoded), shuffles out of core and pads. Both read the same
 * files from the page cache and write to the same disk.
 */
@Command(name = "preprocess", mixinStandardHelpOptions = true, sortOptions = false,
        header = "preprocess-base64 against shuf + split -n l/N of the same data (lines/s, MB/s, time ratio).",
        description = {
            "Generates --mb MB of base64 lines (random --image-bytes images, random labels) in --parts parts, then "
                + "runs preprocess-base64 and 'cat parts | shuf -o f; split -n l/N f' alternately --iterations times. "
                + "Reports medians; ratio = tool time / baseline time. With --json one JSON object on stdout.",
            ""})
public final class PreprocessBench implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--mb", defaultValue = "200", description = "Size of the data set in MB (default: ${DEFAULT-VALUE}).")
    int mb;

    @Option(names = "--nranks", defaultValue = "8", description = "Output files (default: ${DEFAULT-VALUE}).")
    int nranks;

    @Option(names = "--parts", defaultValue = "4", description = "Input part files (default: ${DEFAULT-VALUE}).")
    int parts;

    @Option(names = "--image-bytes", defaultValue = "4096",
            description = "Bytes of each random image before base64 (default: ${DEFAULT-VALUE}).")
    int imageBytes;

    @Option(names = "--memory-mb", description = "The tool's memory budget in MiB (default: a third of the heap).")
    Long memoryMb;

    @Option(names = "--iterations", defaultValue = "2", description = "Timed runs of each (default: ${DEFAULT-VALUE}).")
    int iterations;

    @Option(names = "--warmup", defaultValue = "1", description = "Untimed runs of each first (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--json", description = "Print one JSON object on stdout instead of a table.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (mb < 1 || nranks < 1 || parts < 1 || imageBytes < 1 || iterations < 1 || warmup < 0
                || (memoryMb != null && memoryMb < 1)) {
            throw new IllegalArgumentException("--mb " + mb + " --nranks " + nranks + " --parts " + parts
                    + " --image-bytes " + imageBytes + " --iterations " + iterations + " --memory-mb " + memoryMb
                    + " --warmup " + warmup + " (expected: all >= 1, warmup >= 0)");
        }
        Path tmp = Files.createTempDirectory("plsc4j-bench-preprocess-");
        try {
            Path data = tmp.resolve("data");
            List<Path> files = new ArrayList<>();
            long lines = generate(data, files);
            long bytes = 0;
            for (Path f : files) {
                bytes += Files.size(f);
            }
            Double loadBefore = LoadAverage.oneMinute();
            double[] tool = new double[iterations];
            double[] base = new double[iterations];
            Base64Preprocessor.Result last = null;
            // one untimed run of each first (page cache, JIT), then timed pairs whose order swaps every
            // iteration, so that neither side always reads the parts right after the other
            for (int i = -warmup; i < iterations; i++) {
                double t;
                double s;
                if (Math.floorMod(i, 2) == 0) {
                    t = toolRun(data, tmp.resolve("tool"), lines, Math.max(0, i));
                    s = shufSplit(files, tmp.resolve("base"));
                } else {
                    s = shufSplit(files, tmp.resolve("base"));
                    t = toolRun(data, tmp.resolve("tool"), lines, Math.max(0, i));
                }
                last = lastRun;
                if (i >= 0) {
                    tool[i] = t;
                    base[i] = s;
                }
            }
            Double loadAfter = LoadAverage.oneMinute();
            double toolS = Stats.median(tool);
            double baseS = Stats.median(base);
            double mbytes = bytes / 1e6;
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("bench", "preprocess");
            o.put("version", BenchVersion.get());
            o.put("mb", Stats.round(mbytes, 1));
            o.put("lines", lines);
            o.put("nranks", nranks);
            o.put("parts", parts);
            o.put("memory_mb", (last == null ? 0 : memoryMb == null
                    ? Base64Preprocessor.Options.defaultMemoryBytes() >> 20 : memoryMb));
            o.put("buckets", last == null ? 0 : last.buckets());
            o.put("tool_s", Stats.round(toolS, 4));
            o.put("tool_lines_per_s", Math.round(lines / toolS));
            o.put("tool_mb_per_s", Stats.round(mbytes / toolS, 1));
            o.put("shuf_split_s", Stats.round(baseS, 4));
            o.put("shuf_split_lines_per_s", Math.round(lines / baseS));
            o.put("shuf_split_mb_per_s", Stats.round(mbytes / baseS, 1));
            o.put("ratio_vs_shuf_split", Stats.round(toolS / baseS, 2));
            o.put("warmup", warmup);
            o.put("iterations", iterations);
            o.put("tool_spread", Spread.of(tool, 4));
            o.put("shuf_split_spread", Spread.of(base, 4));
            o.put("load_before", loadBefore);
            o.put("load_after", loadAfter);
            PrintWriter pw = spec.commandLine().getOut();
            if (json) {
                pw.println(new ObjectMapper().writeValueAsString(o));
            } else {
                pw.printf(Locale.ROOT, "preprocess-base64 of %.1f MB, %d lines, %d parts -> %d files, budget %d MiB "
                        + "(%s buckets)%n", mbytes, lines, parts, nranks, o.get("memory_mb"), o.get("buckets"));
                pw.printf(Locale.ROOT, "tool       %7.2f s  %10d lines/s  %7.1f MB/s%n", toolS, o.get("tool_lines_per_s"),
                        o.get("tool_mb_per_s"));
                pw.printf(Locale.ROOT, "shuf+split %7.2f s  %10d lines/s  %7.1f MB/s%n", baseS,
                        o.get("shuf_split_lines_per_s"), o.get("shuf_split_mb_per_s"));
                pw.printf(Locale.ROOT, "ratio (tool time / shuf+split time) %.2f%n", toolS / baseS);
            }
            pw.flush();
            return 0;
        } finally {
            deleteTree(tmp);
        }
    }

    private Base64Preprocessor.Result lastRun;

    /** One run of the tool into {@code out} (removed afterwards): seconds. */
    private double toolRun(Path data, Path out, long lines, int seed) throws IOException {
        Base64Preprocessor.Builder b = Base64Preprocessor.Options.builder().dataDir(data).outDir(out)
                .nranks(nranks).seed(seed);
        if (memoryMb != null) {
            b.memoryBytes(memoryMb << 20);
        }
        long t0 = System.nanoTime();
        lastRun = Base64Preprocessor.run(b.build());
        double s = (System.nanoTime() - t0) / 1e9;
        if (lastRun.lines() != lines) {
            throw new IllegalStateException("tool : " + lastRun.lines() + " lines (expected: " + lines + ")");
        }
        deleteTree(out);
        return s;
    }

    /** Writes the parts and file_list.txt; returns the number of lines. */
    private long generate(Path data, List<Path> files) throws IOException {
        Files.createDirectories(data);
        SplittableRandom rng = new SplittableRandom(42);
        Base64.Encoder enc = Base64.getEncoder();
        List<BufferedWriter> ws = new ArrayList<>();
        StringBuilder list = new StringBuilder();
        long target = (long) mb * 1_000_000;
        long written = 0;
        long lines = 0;
        try {
            for (int p = 0; p < parts; p++) {
                Path f = data.resolve("part-" + p);
                files.add(f);
                ws.add(Files.newBufferedWriter(f, StandardCharsets.ISO_8859_1));
                list.append(f.getFileName()).append('\n');
            }
            byte[] img = new byte[imageBytes];
            while (written < target) {
                rng.nextBytes(img);
                String line = enc.encodeToString(img) + "\t" + rng.nextInt(1_000_000);
                ws.get(rng.nextInt(parts)).append(line).append('\n');
                written += line.length() + 1;
                lines++;
            }
        } finally {
            for (BufferedWriter w : ws) {
                w.close();
            }
        }
        Files.writeString(data.resolve("file_list.txt"), list);
        return lines;
    }

    /** {@code cat parts | shuf -o shuffled; split -n l/N -d shuffled out/part_}: seconds. */
    private double shufSplit(List<Path> files, Path out) throws IOException, InterruptedException {
        Files.createDirectories(out);
        Path shuffled = out.resolve("shuffled");
        List<String> shuf = new ArrayList<>(List.of("sh", "-c", "cat \"$@\" | shuf -o \"$0\"", shuffled.toString()));
        files.forEach(f -> shuf.add(f.toString()));
        long t0 = System.nanoTime();
        run(shuf);
        run(List.of("split", "-n", "l/" + nranks, "-d", shuffled.toString(), out.resolve("part_").toString()));
        double s = (System.nanoTime() - t0) / 1e9;
        deleteTree(out);
        return s;
    }

    private static void run(List<String> cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        int code = p.waitFor();
        if (code != 0) {
            throw new IllegalStateException("baseline : '" + String.join(" ", cmd) + "' exited with " + code
                    + " (expected: 0; are coreutils shuf and split installed?)");
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) walk.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        }
    }
}
