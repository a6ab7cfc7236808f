package org.plsc4j.data.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.plsc4j.core.internal.ProgressBar;
import org.plsc4j.data.BadDataException;
import org.plsc4j.data.BadSampleLog;
import org.plsc4j.data.Base64Preprocessor;
import org.plsc4j.data.Base64Preprocessor.Options;
import org.plsc4j.data.Base64Preprocessor.Result;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The external shuffle behind {@link Base64Preprocessor}.
 *
 * <p>Pass 1 streams every part line by line, validates the line ({@link Base64Lines#check}) and
 * appends {@code key, length, line} to one of B bucket files, where {@code key = bijection(seed, i)} for the
 * i-th kept line and the bucket is the key's range ({@code key * B / 2^64}), so bucket b holds exactly
 * the keys of the b-th slice of the key space. Pass 2 loads one bucket at a time, sorts it by key and
 * streams it to the rank files. The concatenation is therefore the lines sorted by key whatever B is:
 * the memory budget never changes the output. Keys are unique (a bijection of the line index), so the
 * order has no ties. B is chosen up front from the parts' sizes so that a bucket is about a third of
 * the memory budget (at most 1 GiB).
 */
public final class Base64Shuffle {

    /** More buckets than this means the budget is far too small for the data (open files, tiny reads). */
    static final int MAX_BUCKETS = 4096;

    private static final Logger LOG = LoggerFactory.getLogger(Base64Shuffle.class);

    private static final long MAX_BUCKET_BYTES = 1L << 30;
    /**
     * Threads validating chunks (base64 decoding is most of pass 1's CPU) while the caller reads and
     * writes: the other cores, at most 4 (1 on the 2-core machines here).
     */
    private static final int VALIDATORS = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors() - 1));
    private static final long PROGRESS_BYTES = 1 << 20;
    private static final int PROGRESS_LINES = 4096;

    private Base64Shuffle() {
    }

    /** Runs {@link Base64Preprocessor#run}. */
    public static Result run(Options o) throws IOException {
        long t0 = System.nanoTime();
        Path listFile = o.dataDir().resolve(o.fileList());
        List<Path> parts = readList(listFile, o.dataDir());
        long bytesIn = 0;
        for (Path p : parts) {
            bytesIn += Files.size(p);
        }
        int buckets = buckets(bytesIn, o.memoryBytes());
        Files.createDirectories(o.outDir());
        Files.createDirectories(o.tempDir());
        Path tmp = Files.createTempDirectory(o.tempDir(), ".plsc4j-preprocess-");
        Sink sink = null;
        Throwable failure = null;
        try {
            BadSampleLog bad = new BadSampleLog();
            long n = bucketize(parts, tmp, buckets, bytesIn, o, bad);
            long t1 = System.nanoTime();
            LOG.debug("pass 1: {} lines, {} bytes into {} buckets in {} s", n, bytesIn, buckets, (t1 - t0) / 1e9);
            if (n < o.nranks()) {
                throw new IllegalArgumentException("nranks : " + o.nranks() + " (expected: <= the " + n
                        + " lines of the parts listed in " + listFile + ")");
            }
            long perFile = (n + o.nranks() - 1) / o.nranks();
            long padding = perFile * o.nranks() - n;
            sink = new Sink(o.outDir(), o.nranks(), perFile, padding,
                    o.progress() ? new ProgressBar("preprocess-base64 write", n + padding) : null);
            for (int b = 0; b < buckets; b++) {
                drain(tmp.resolve(bucketName(b)), sink);
            }
            sink.finish();
            Path list = sink.commit(Path.of(o.fileList()).getFileName().toString());
            LOG.debug("pass 2: {} bytes into {} files in {} s", sink.bytesOut, o.nranks(),
                    (System.nanoTime() - t1) / 1e9);
            return new Base64Preprocessor.Result(n, padding, perFile, sink.finals, list, bad.count(), bad.examples(),
                    buckets, bytesIn, sink.bytesOut, (System.nanoTime() - t0) / 1e9);
        } catch (IOException | RuntimeException | Error e) {
            failure = e;
            throw e;
        } finally {
            if (sink != null) {
                sink.discard(failure);
            }
            deleteTree(tmp, failure);
        }
    }

    /** Number of buckets so that one bucket (lines + keys and lengths) is about a third of the budget. */
    static int buckets(long bytesIn, long memoryBytes) {
        long target = Math.max(1, Math.min(MAX_BUCKET_BYTES, memoryBytes / 3));
        long estimate = bytesIn + bytesIn / 8; // + key and length, 12 bytes a line (lines assumed >= ~100 bytes)
        long b = Math.max(1, (estimate + target - 1) / target);
        if (b > MAX_BUCKETS) {
            long needMb = (estimate / MAX_BUCKETS * 3 >> 20) + 1;
            throw new IllegalArgumentException("memory_mb : " + (memoryBytes >> 20) + " (expected: >= " + needMb
                    + " for " + bytesIn + " bytes of parts)");
        }
        return (int) b;
    }

    private static String bucketName(int b) {
        return "bucket-" + b;
    }

    /** The part files of the list, checked to exist (relative to {@code dataDir}). */
    static List<Path> readList(Path listFile, Path dataDir) throws IOException {
        return Base64Lines.partFiles(listFile, dataDir, "the file list of the base64 dataset in " + dataDir);
    }

    /** The key of the {@code i}-th kept line: a bijection of i for a given seed, so keys never tie. */
    static long key(long i, long a, long b) {
        return Seeds.fmix64(Seeds.fmix64(i + a) ^ b);
    }

    /**
     * Pass 1: every line is validated and appended with its key to its bucket; returns the lines kept.
     * Lines are gathered in chunks; chunks are validated (base64 decoding is the costly part) on
     * other threads while the next ones are read, and written to the buckets in input order, so keys,
     * the first error reported and the bad-line count do not depend on timing.
     */
    private static long bucketize(List<Path> parts, Path tmp, int buckets, long bytesIn, Options o, BadSampleLog bad)
            throws IOException {
        int bufSize = (int) Math.max(8 << 10, Math.min(1 << 20, o.memoryBytes() / 4 / buckets));
        int maxLine = (int) Math.max(1 << 20, Math.min(Integer.MAX_VALUE - 64, o.memoryBytes() / 4));
        int chunkBytes = (int) Math.max(64 << 10, Math.min(4 << 20, o.memoryBytes() / 32));
        OutputStream[] outs = new OutputStream[buckets];
        AtomicInteger threads = new AtomicInteger();
        ExecutorService validator = Executors.newFixedThreadPool(VALIDATORS, r -> {
            Thread t = new Thread(r, "preprocess-base64-validate-" + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        ProgressBar bar = o.progress() ? new ProgressBar("preprocess-base64 read", bytesIn) : null;
        try {
            for (int k = 0; k < buckets; k++) {
                outs[k] = new ByteOut(Files.newOutputStream(tmp.resolve(bucketName(k))), bufSize);
            }
            BucketWriter writer = new BucketWriter(outs, o, bad);
            ArrayDeque<Future<Chunk>> pending = new ArrayDeque<>();
            long unreported = 0;
            for (Path part : parts) {
                String name = part.toString();
                try (InputStream in = Files.newInputStream(part)) {
                    LineReader r = new LineReader(in, maxLine, name);
                    Chunk c = new Chunk(name, chunkBytes);
                    while (r.next()) {
                        byte[] buf = r.buf;
                        int s = r.start;
                        int e = r.end;
                        unreported += e - s + 1;
                        if (bar != null && unreported >= PROGRESS_BYTES) {
                            bar.step(unreported, "");
                            unreported = 0;
                        }
                        if (Base64Lines.blank(buf, s, e)) {
                            continue;
                        }
                        if (buf[e - 1] == '\r') {
                            e--;
                        }
                        if (!c.fits(e - s)) {
                            handOff(c, pending, validator, writer);
                            c = new Chunk(name, Math.max(chunkBytes, e - s));
                        }
                        c.add(buf, s, e - s, r.lineNo);
                    }
                    if (c.lines > 0) {
                        handOff(c, pending, validator, writer);
                    }
                }
            }
            while (!pending.isEmpty()) {
                writer.write(await(pending.poll()));
            }
            if (bar != null) {
                bar.step(unreported, "");
            }
            return writer.index;
        } finally {
            validator.shutdownNow();
            IOException first = null;
            for (OutputStream out : outs) {
                if (out != null) {
                    try {
                        out.close();
                    } catch (IOException e) {
                        first = first == null ? e : first;
                    }
                }
            }
            if (bar != null) {
                bar.close();
            }
            if (first != null) {
                throw first;
            }
        }
    }

    /** Starts validating {@code c}; with {@link #VALIDATORS} chunks in validation, writes the oldest. */
    private static void handOff(Chunk c, ArrayDeque<Future<Chunk>> pending, ExecutorService validator,
                                BucketWriter writer) throws IOException {
        pending.add(validator.submit(c::validate));
        if (pending.size() > VALIDATORS) {
            writer.write(await(pending.poll()));
        }
    }

    private static Chunk await(Future<Chunk> f) throws IOException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while validating lines");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            if (e.getCause() instanceof Error r) {
                throw r;
            }
            throw new IOException(e.getCause());
        }
    }

    /** Lines of one part, copied out of the reader's buffer for validation on another thread. */
    private static final class Chunk {
        final String file;
        final byte[] data;
        int size;
        int lines;
        int[] starts = new int[256];
        long[] lineNos = new long[256];
        BadDataException[] bad;

        Chunk(String file, int capacity) {
            this.file = file;
            this.data = new byte[capacity];
        }

        boolean fits(int len) {
            return size + len <= data.length;
        }

        void add(byte[] b, int off, int len, long lineNo) {
            if (lines + 1 == starts.length) {
                starts = Arrays.copyOf(starts, starts.length * 2);
                lineNos = Arrays.copyOf(lineNos, lineNos.length * 2);
            }
            System.arraycopy(b, off, data, size, len);
            starts[lines] = size;
            lineNos[lines] = lineNo;
            lines++;
            size += len;
            starts[lines] = size;
        }

        Chunk validate() {
            for (int i = 0; i < lines; i++) {
                try {
                    Base64Lines.check(data, starts[i], starts[i + 1], file, lineNos[i]);
                } catch (BadDataException e) {
                    if (bad == null) {
                        bad = new BadDataException[lines];
                    }
                    bad[i] = e;
                }
            }
            return this;
        }
    }

    /** Appends validated lines to their buckets as {@code key (8 bytes), length (4 bytes), line}. */
    private static final class BucketWriter {
        final OutputStream[] outs;
        final Options o;
        final BadSampleLog bad;
        final long a;
        final long b;
        final byte[] head = new byte[Long.BYTES + Integer.BYTES];
        long index;

        BucketWriter(OutputStream[] outs, Options o, BadSampleLog bad) {
            this.outs = outs;
            this.o = o;
            this.bad = bad;
            this.a = Seeds.mix(o.seed(), 0x5348_5546L);
            this.b = Seeds.mix(o.seed(), 0x4b45_5953L);
        }

        void write(Chunk c) throws IOException {
            for (int i = 0; i < c.lines; i++) {
                if (c.bad != null && c.bad[i] != null) {
                    if (!o.skipBad()) {
                        throw c.bad[i];
                    }
                    bad.skipped(c.bad[i]);
                    continue;
                }
                long key = key(index++, a, b);
                int bucket = (int) (((key >>> 32) * outs.length) >>> 32);
                int s = c.starts[i];
                int len = c.starts[i + 1] - s;
                putLong(head, 0, key ^ Long.MIN_VALUE); // signed order of this = unsigned order of key
                putInt(head, Long.BYTES, len);
                OutputStream out = outs[bucket];
                out.write(head);
                out.write(c.data, s, len);
            }
        }
    }

    /** Pass 2 for one bucket: loads it, sorts it by key, streams it to the sink and deletes it. */
    private static void drain(Path bucket, Sink sink) throws IOException {
        long size = Files.size(bucket);
        if (size > Integer.MAX_VALUE - 64) {
            throw new IllegalStateException("bucket : " + size + " bytes (expected: < 2 GiB; lower --memory-mb)");
        }
        byte[] data = Files.readAllBytes(bucket);
        Files.delete(bucket);
        LongList keyList = new LongList();
        IntList startList = new IntList();
        int pos = 0;
        while (pos < data.length) {
            keyList.add(getLong(data, pos));
            int len = getInt(data, pos + Long.BYTES);
            pos += Long.BYTES + Integer.BYTES;
            startList.add(pos);
            pos += len;
        }
        long[] keys = keyList.toArray();
        int[] starts = startList.toArray();
        int[] order = sortByKey(keys);
        for (int j : order) {
            int s = starts[j];
            sink.line(data, s, getInt(data, s - Integer.BYTES));
        }
    }

    /**
     * The indices of {@code keys} (unique, compared signed) in ascending key order: one primitive sort
     * of (top 32 bits of the key, index), then runs of equal top halves (rare, short) put in full-key
     * order by insertion sort.
     */
    static int[] sortByKey(long[] keys) {
        int m = keys.length;
        long[] comp = new long[m];
        for (int j = 0; j < m; j++) {
            comp[j] = (keys[j] & 0xFFFF_FFFF_0000_0000L) | j;
        }
        Arrays.sort(comp);
        int[] order = new int[m];
        for (int x = 0; x < m; x++) {
            order[x] = (int) comp[x];
        }
        int x = 0;
        while (x < m) {
            int y = x + 1;
            long high = comp[x] >> 32;
            while (y < m && comp[y] >> 32 == high) {
                y++;
            }
            for (int i = x + 1; i < y; i++) {
                int v = order[i];
                int k = i - 1;
                while (k >= x && keys[order[k]] > keys[v]) {
                    order[k + 1] = order[k];
                    k--;
                }
                order[k + 1] = v;
            }
            x = y;
        }
        return order;
    }

    /** The rank files being written: contiguous ranges of the shuffled order, then the padding. */
    private static final class Sink {
        final Path outDir;
        final int nranks;
        final long perFile;
        final long padding;
        final ProgressBar bar;
        final List<byte[]> pad = new ArrayList<>();
        final List<Path> temps = new ArrayList<>();
        final List<Path> finals = new ArrayList<>();
        OutputStream cur;
        long inFile;
        long bytesOut;
        long unreported;
        Path listTemp;

        Sink(Path outDir, int nranks, long perFile, long padding, ProgressBar bar) {
            this.outDir = outDir;
            this.nranks = nranks;
            this.perFile = perFile;
            this.padding = padding;
            this.bar = bar;
        }

        void line(byte[] b, int off, int len) throws IOException {
            if (pad.size() < padding) {
                pad.add(Arrays.copyOfRange(b, off, off + len));
            }
            write(b, off, len);
        }

        private void write(byte[] b, int off, int len) throws IOException {
            if (cur == null || inFile == perFile) {
                next();
            }
            cur.write(b, off, len);
            cur.write('\n');
            inFile++;
            bytesOut += len + 1;
            if (bar != null && ++unreported == PROGRESS_LINES) {
                bar.step(unreported, "");
                unreported = 0;
            }
        }

        private void next() throws IOException {
            if (cur != null) {
                cur.close();
                cur = null;
            }
            int r = temps.size();
            if (r == nranks) {
                throw new IllegalStateException("rank files : more than " + nranks + " x " + perFile + " lines");
            }
            Path t = outDir.resolve("." + Base64Preprocessor.RANK_FILE_PREFIX + r + ".partial");
            temps.add(t);
            cur = new ByteOut(Files.newOutputStream(t), 1 << 20);
            inFile = 0;
        }

        /** Writes the padding and checks that every file got exactly {@code perFile} lines. */
        void finish() throws IOException {
            for (byte[] p : pad) {
                write(p, 0, p.length);
            }
            if (cur != null) {
                cur.close();
                cur = null;
            }
            if (temps.size() != nranks || inFile != perFile) {
                throw new IllegalStateException("rank files : " + temps.size() + ", the last with " + inFile
                        + " lines (expected: " + nranks + " x " + perFile + ")");
            }
            if (bar != null) {
                bar.step(unreported, "");
                bar.close();
            }
        }

        /** Renames the rank files into place, then writes the file list under its final name. */
        Path commit(String listName) throws IOException {
            for (int r = 0; r < nranks; r++) {
                Path f = outDir.resolve(Base64Preprocessor.RANK_FILE_PREFIX + r);
                move(temps.get(r), f);
                finals.add(f);
            }
            temps.clear();
            StringBuilder sb = new StringBuilder();
            for (Path f : finals) {
                sb.append(f.getFileName()).append('\n');
            }
            listTemp = outDir.resolve("." + listName + ".partial");
            Files.writeString(listTemp, sb, StandardCharsets.UTF_8);
            Path list = outDir.resolve(listName);
            move(listTemp, list);
            listTemp = null;
            return list;
        }

        /** Deletes what a failed run left (nothing after a commit). */
        void discard(Throwable failure) {
            if (cur != null) {
                try {
                    cur.close();
                } catch (IOException e) {
                    addSuppressed(failure, e);
                }
            }
            List<Path> left = new ArrayList<>(temps);
            if (listTemp != null) {
                left.add(listTemp);
            }
            for (Path t : left) {
                try {
                    Files.deleteIfExists(t);
                } catch (IOException e) {
                    addSuppressed(failure, e);
                }
            }
        }
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static void deleteTree(Path dir, Throwable failure) throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) walk.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        } catch (IOException | UncheckedIOException e) {
            if (failure == null) {
                throw e instanceof UncheckedIOException u ? u.getCause() : (IOException) e;
            }
            failure.addSuppressed(e);
        }
    }

    private static void addSuppressed(Throwable failure, Throwable e) {
        if (failure != null) {
            failure.addSuppressed(e);
        }
    }

    private static void putLong(byte[] b, int off, long v) {
        for (int i = 7; i >= 0; i--) {
            b[off + i] = (byte) v;
            v >>>= 8;
        }
    }

    private static void putInt(byte[] b, int off, int v) {
        for (int i = 3; i >= 0; i--) {
            b[off + i] = (byte) v;
            v >>>= 8;
        }
    }

    private static int getInt(byte[] b, int off) {
        return (b[off] & 0xff) << 24 | (b[off + 1] & 0xff) << 16 | (b[off + 2] & 0xff) << 8 | (b[off + 3] & 0xff);
    }

    private static long getLong(byte[] b, int off) {
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v = (v << 8) | (b[off + i] & 0xff);
        }
        return v;
    }

    /** Lines of a stream as ranges of a growing buffer (no per-line allocation, no charset decoding). */
    private static final class LineReader {
        private final InputStream in;
        private final int maxLine;
        private final String name;
        byte[] buf = new byte[1 << 20];
        int start;
        int end;
        long lineNo;
        private int pos;
        private int limit;
        private boolean eof;

        LineReader(InputStream in, int maxLine, String name) {
            this.in = in;
            this.maxLine = maxLine;
            this.name = name;
        }

        /** Advances to the next line ({@code buf[start, end)}, without the newline); false at the end. */
        boolean next() throws IOException {
            int from = pos;
            int scan = pos;
            while (true) {
                for (int i = scan; i < limit; i++) {
                    if (buf[i] == '\n') {
                        start = from;
                        end = i;
                        pos = i + 1;
                        lineNo++;
                        return true;
                    }
                }
                if (eof) {
                    if (from < limit) {
                        start = from;
                        end = limit;
                        pos = limit;
                        lineNo++;
                        return true;
                    }
                    return false;
                }
                int len = limit - from;
                if (from > 0) {
                    System.arraycopy(buf, from, buf, 0, len);
                    from = 0;
                    pos = 0;
                    limit = len;
                }
                scan = len;
                if (limit == buf.length) {
                    if (buf.length >= maxLine) {
                        throw new BadDataException(name, lineNo + 1, "line : longer than " + maxLine
                                + " bytes (expected: a line per image; a larger --memory-mb allows longer lines)");
                    }
                    buf = Arrays.copyOf(buf, (int) Math.min(maxLine, buf.length * 2L));
                }
                int r = in.read(buf, limit, buf.length - limit);
                if (r < 0) {
                    eof = true;
                } else {
                    limit += r;
                }
            }
        }
    }
}
