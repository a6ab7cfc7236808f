package org.plsc4j.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The PyTorch baseline of {@code bench fc}: {@code torch_fc.py}, a Partial FC step written the way
 * insightface's arcface_torch writes it, running in its own python process that the JVM drives one step
 * at a time (a line "step" on its stdin, one JSON line back), so that its steps alternate with plsc4j's.
 *
 * <p>Same inputs: the features, labels and plsc4j's initial weights are handed over as raw little-endian
 * float32/int32 files ({@link #writeFloats}, {@link #writeInts}, {@link #writeRows}); the step's own
 * time is measured inside python (no pipe latency), as plsc4j's is measured inside the JVM.
 */
final class TorchFcBaseline implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(TorchFcBaseline.class);
    static final String SCRIPT = "torch_fc.py";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The settings the python side must share with plsc4j's step. */
    record Settings(int classes, int emb, int batch, double sampleRatio, double scale, double m2, double lr,
                    double momentum, double weightDecay, int threads, long seed) {
    }

    /** What {@link #probe} found: torch's version, or why it cannot be used. */
    record Probe(String version, String unavailableReason) {
    }

    private final Process process;
    private final Writer in;
    private final BufferedReader out;
    private final Path script;
    private final Path stderr;
    private String version;
    private int threads = -1;
    private final List<Double> losses = new ArrayList<>();
    private final List<Long> sampled = new ArrayList<>();
    private Double peakRssMb;
    private boolean closed;

    private TorchFcBaseline(Process process, Path script, Path stderr) {
        this.process = process;
        this.in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        this.out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        this.script = script;
        this.stderr = stderr;
    }

    /** Whether {@code python} can import torch: its version, or the reason (the first line python printed). */
    static Probe probe(String python) {
        try {
            Process p = new ProcessBuilder(python, "-c", "import torch; print(torch.__version__)")
                    .redirectErrorStream(true).start();
            String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new Probe(null, python + " -c 'import torch' did not finish within 120 s");
            }
            if (p.exitValue() == 0 && !text.isEmpty()) {
                return new Probe(text.lines().reduce((a, b) -> b).orElse(text), null);
            }
            String last = text.lines().reduce((a, b) -> b).orElse("");
            return new Probe(null, python + " cannot import torch (exit " + p.exitValue() + "): " + last);
        } catch (IOException e) {
            return new Probe(null, python + " cannot be run: " + FcBench.describe(e));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Probe(null, "interrupted while probing " + python);
        }
    }

    /**
     * Starts {@code python torch_fc.py} on the files and waits until it has loaded them; OMP_NUM_THREADS
     * and torch.set_num_threads are {@code s.threads()}.
     */
    static TorchFcBaseline start(String python, Path features, Path labels, Path weights, Settings s)
            throws IOException {
        Path script = Files.createTempFile("plsc4j-torch-fc-", ".py");
        try (InputStream res = TorchFcBaseline.class.getResourceAsStream(SCRIPT)) {
            Files.write(script, res.readAllBytes());
        }
        Path err = Files.createTempFile("plsc4j-torch-fc-", ".err");
        List<String> cmd = List.of(python, script.toString(), features.toString(), labels.toString(),
                weights.toString(), Integer.toString(s.classes()), Integer.toString(s.emb()),
                Integer.toString(s.batch()), Double.toString(s.sampleRatio()), Double.toString(s.scale()),
                Double.toString(s.m2()), Double.toString(s.lr()), Double.toString(s.momentum()),
                Double.toString(s.weightDecay()), Integer.toString(s.threads()), Long.toString(s.seed()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(err.toFile());
        pb.environment().put("OMP_NUM_THREADS", Integer.toString(s.threads()));
        pb.environment().put("MKL_NUM_THREADS", Integer.toString(s.threads()));
        Process p = pb.start();
        TorchFcBaseline t = new TorchFcBaseline(p, script, err);
        try {
            JsonNode ready = t.readLine("loading the inputs");
            t.version = ready.get("version").asText();
            t.threads = ready.get("threads").asInt();
            LOG.info("torch: {} ({} threads) loaded {} x {} in {} ms", t.version, t.threads, s.classes(), s.emb(),
                    Math.round(ready.get("load_ms").asDouble()));
            return t;
        } catch (IOException | RuntimeException e) {
            t.close();
            throw e;
        }
    }

    /** One step; returns its milliseconds as measured inside python. */
    double step() throws IOException {
        in.write("step\n");
        in.flush();
        JsonNode r = readLine("a step");
        losses.add(r.get("loss").asDouble());
        sampled.add(r.get("sampled").asLong());
        return r.get("ms").asDouble();
    }

    String version() {
        return version;
    }

    int threads() {
        return threads;
    }

    /** The loss of every step so far. */
    List<Double> losses() {
        return losses;
    }

    /** The class centers of every step so far. */
    List<Long> sampled() {
        return sampled;
    }

    /** The process's peak RSS, known after {@link #close}. */
    Double peakRssMb() {
        return peakRssMb;
    }

    private JsonNode readLine(String what) throws IOException {
        String line = out.readLine();
        if (line == null) {
            String err = "";
            try {
                process.waitFor(10, TimeUnit.SECONDS);
                List<String> lines = Files.readAllLines(stderr);
                err = String.join(" | ", lines.subList(Math.max(0, lines.size() - 3), lines.size()));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            throw new IOException("the torch process (" + SCRIPT + ") ended while " + what
                    + (process.isAlive() ? "" : " (exit " + process.exitValue() + ")") + ": " + err);
        }
        return JSON.readTree(line);
    }

    /** Asks the process to quit (reading its peak RSS), kills it if it does not, removes the script. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            if (process.isAlive()) {
                in.write("quit\n");
                in.flush();
                JsonNode last = readLine("quitting");
                if (last.hasNonNull("peak_rss_mb")) {
                    peakRssMb = last.get("peak_rss_mb").asDouble();
                }
            }
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                LOG.warn("torch: the process did not exit within 60 s; killing it");
            }
        } catch (IOException e) {
            LOG.warn("torch: quitting failed: {}", FcBench.describe(e));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            process.destroyForcibly();
            try {
                Files.deleteIfExists(script);
                Files.deleteIfExists(stderr);
            } catch (IOException e) {
                LOG.warn("torch: cannot delete {}: {}", script, FcBench.describe(e));
            }
        }
    }

    /** Writes {@code values} as raw little-endian float32. */
    static void writeFloats(Path file, float[] values) throws IOException {
        ByteBuffer bb = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        bb.asFloatBuffer().put(values);
        Files.write(file, bb.array());
    }

    /** Writes {@code values} as raw little-endian int32. */
    static void writeInts(Path file, int[] values) throws IOException {
        ByteBuffer bb = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        bb.asIntBuffer().put(values);
        Files.write(file, bb.array());
    }

    /**
     * Writes the float32 rows {@code [n, D]} of {@code shard} as rows {@code firstRow..firstRow+n} of a raw
     * little-endian float32 {@code [C, D]} file (ranks write their shards into the same file), block by
     * block so that no second full-size copy is made.
     */
    static void writeRows(Path file, INDArray shard, long firstRow) throws IOException {
        long rows = shard.rows();
        long cols = shard.columns();
        int block = (int) Math.max(1, Math.min(rows, (8L << 20) / (4 * cols)));
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            for (long r0 = 0; r0 < rows; r0 += block) {
                long r1 = Math.min(rows, r0 + block);
                INDArray part = shard.get(NDArrayIndex.interval(r0, r1), NDArrayIndex.all()).castTo(
                        org.nd4j.linalg.api.buffer.DataType.FLOAT).dup('c');
                float[] f = part.data().asFloat();
                Sgemm.close(part);
                ByteBuffer bb = ByteBuffer.allocate(f.length * 4).order(ByteOrder.LITTLE_ENDIAN);
                bb.asFloatBuffer().put(f);
                long pos = (firstRow + r0) * cols * 4;
                while (bb.hasRemaining()) {
                    pos += ch.write(bb, pos);
                }
            }
        }
    }
}
