package org.plsc4j.data.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.plsc4j.data.BadDataException;
import org.plsc4j.data.BadSampleLog;
import org.plsc4j.data.Dataset;
import org.plsc4j.data.DatasetConfig;

/**
 * PLSC's {@code base64} layout: {@code dataset_dir/file_list.txt} lists part files (paths relative
 * to {@code dataset_dir}, one per line), each line of a part is {@code <base64 image>\t<label>}.
 *
 * <p>Random access without holding the data in memory: at open every part is scanned once as a
 * stream and the offset and length of each line's base64 field is kept (16 bytes per sample); the
 * label after the tab is parsed and range-checked then. A read is one positional read on the part's
 * open {@link FileChannel} (thread-safe) plus base64 decoding. The line rules are {@link Base64Lines}'
 * (shared with {@code preprocess-base64}). Blank lines are ignored; a part file
 * listed but missing is an error even with {@code skipBadSamples} (it is not one bad sample).
 */
public final class Base64Dataset implements Dataset {

    /** The part list's name inside {@code dataset_dir}. */
    public static final String FILE_LIST = "file_list.txt";

    private static final int HEAD = 40;
    private static final int MAX_LABEL_CHARS = 64;

    private final DatasetConfig config;
    private final String[] partNames;
    private final Path[] partPaths;
    private final AtomicReferenceArray<FileChannel> channels;
    private volatile boolean closed;
    private final int[] part;
    private final long[] offset;
    private final int[] length;
    private final int[] labels;
    private final int[] lines;
    private final BadSampleLog bad;

    private Base64Dataset(DatasetConfig config, Path[] partPaths, FileChannel[] channels, int[] part, long[] offset,
                          int[] length, int[] labels, int[] lines, BadSampleLog bad) {
        this.config = config;
        this.partPaths = partPaths;
        this.partNames = Arrays.stream(partPaths).map(Path::toString).toArray(String[]::new);
        this.channels = new AtomicReferenceArray<>(channels);
        this.part = part;
        this.offset = offset;
        this.length = length;
        this.labels = labels;
        this.lines = lines;
        this.bad = bad;
    }

    /** Indexes every part (labels checked); with {@code validateImages} also decodes every image. */
    public static Base64Dataset open(DatasetConfig config) throws IOException {
        Path list = config.dir().resolve(FILE_LIST);
        List<Path> parts = Base64Lines.partFiles(list, config.dir(), "dataset_dir " + config.dir() + " to contain "
                + FILE_LIST + " for format base64");
        BadSampleLog bad = new BadSampleLog();
        Index index = new Index();
        for (int p = 0; p < parts.size(); p++) {
            scan(parts.get(p), p, config, bad, index);
        }
        Path[] names = parts.toArray(new Path[0]);
        FileChannel[] channels = new FileChannel[parts.size()];
        try {
            for (int p = 0; p < parts.size(); p++) {
                channels[p] = FileChannel.open(parts.get(p), StandardOpenOption.READ);
            }
            Base64Dataset d = new Base64Dataset(config, names, channels, index.part.toArray(), index.offset.toArray(),
                    index.length.toArray(), index.labels.toArray(), index.lines.toArray(), bad);
            if (!config.validateImages()) {
                return d;
            }
            int[] keep = ImageValidation.decodable(d, config.skipBadSamples(), bad);
            int[] pa = new int[keep.length];
            long[] of = new long[keep.length];
            int[] le = new int[keep.length];
            int[] la = new int[keep.length];
            int[] li = new int[keep.length];
            for (int i = 0; i < keep.length; i++) {
                int k = keep[i];
                pa[i] = d.part[k];
                of[i] = d.offset[k];
                le[i] = d.length[k];
                la[i] = d.labels[k];
                li[i] = d.lines[k];
            }
            return new Base64Dataset(config, names, channels, pa, of, le, la, li, bad);
        } catch (IOException | RuntimeException e) {
            closeAll(channels, e);
            throw e;
        }
    }

    /** The per-sample columns while scanning. */
    private static final class Index {
        final IntList part = new IntList();
        final LongList offset = new LongList();
        final IntList length = new IntList();
        final IntList labels = new IntList();
        final IntList lines = new IntList();
    }

    /** State of the line being scanned. */
    private static final class Line {
        long start;
        long tab = -1;
        int number = 1;
        final byte[] head = new byte[HEAD];
        int headLen;
        final StringBuilder label = new StringBuilder();

        void reset(long nextStart) {
            start = nextStart;
            tab = -1;
            number++;
            headLen = 0;
            label.setLength(0);
        }
    }

    private static void scan(Path file, int p, DatasetConfig config, BadSampleLog bad, Index index) throws IOException {
        String name = file.toString();
        byte[] buf = new byte[1 << 16];
        Line line = new Line();
        long pos = 0;
        try (InputStream in = Files.newInputStream(file)) {
            for (int r = in.read(buf); r > 0; r = in.read(buf)) {
                for (int k = 0; k < r; k++, pos++) {
                    byte b = buf[k];
                    if (b == '\n') {
                        endLine(name, p, pos, line, config, bad, index);
                        line.reset(pos + 1);
                    } else if (line.tab < 0) {
                        if (b == '\t') {
                            line.tab = pos;
                        } else if (line.headLen < HEAD) {
                            line.head[line.headLen++] = b;
                        }
                    } else if (line.label.length() < MAX_LABEL_CHARS) {
                        line.label.append((char) (b & 0xff));
                    }
                }
            }
        }
        if (pos > line.start) {
            endLine(name, p, pos, line, config, bad, index);
        }
    }

    private static void endLine(String name, int p, long end, Line line, DatasetConfig config, BadSampleLog bad,
                                Index index) {
        try {
            if (line.tab < 0) {
                String head = new String(line.head, 0, line.headLen, StandardCharsets.ISO_8859_1);
                if (head.isBlank() && end - line.start <= HEAD) {
                    return; // blank line
                }
                throw Base64Lines.noTab(name, line.number, head, end - line.start > HEAD);
            }
            long len = line.tab - line.start;
            if (len == 0) {
                throw Base64Lines.emptyImage(name, line.number);
            }
            if (len > Integer.MAX_VALUE - 16) {
                throw new BadDataException(name, line.number, "image : " + len + " base64 characters (expected: < 2^31)");
            }
            int label = Labels.parse(line.label.toString().strip(), config.numClasses(), name, line.number);
            index.part.add(p);
            index.offset.add(line.start);
            index.length.add((int) len);
            index.labels.add(label);
            index.lines.add(line.number);
        } catch (BadDataException e) {
            if (!config.skipBadSamples()) {
                throw e;
            }
            bad.skipped(e);
        }
    }

    @Override
    public int size() {
        return labels.length;
    }

    @Override
    public DatasetConfig config() {
        return config;
    }

    @Override
    public int label(int i) {
        return labels[i];
    }

    @Override
    public String source(int i) {
        return BadDataException.where(partNames[part[i]], lines[i]);
    }

    @Override
    public byte[] encoded(int i) {
        ByteBuffer buf = ByteBuffer.allocate(length[i]);
        try {
            long pos = offset[i];
            while (buf.hasRemaining()) {
                int n = read(part[i], buf, pos);
                if (n < 0) {
                    throw new BadDataException(partNames[part[i]], lines[i], "image : file ended at byte " + pos
                            + " (expected: " + length[i] + " base64 characters from byte " + offset[i]
                            + "; was the file changed after open?)");
                }
                pos += n;
            }
        } catch (IOException e) {
            throw new UncheckedIOException(source(i) + ": reading " + length[i] + " bytes at " + offset[i], e);
        }
        byte[] text = buf.array();
        int n = Base64Lines.trimmedEnd(text, 0, text.length);
        try {
            return Base64.getDecoder().decode(n == text.length ? text : Arrays.copyOf(text, n));
        } catch (IllegalArgumentException e) {
            throw Base64Lines.invalidBase64(partNames[part[i]], lines[i], e);
        }
    }

    /**
     * A positional read of part {@code p}. A FileChannel is closed for everyone when a thread is
     * interrupted in a read; another thread's interrupt must not break this reader, so a channel
     * found closed (while the dataset is open) is reopened once.
     */
    private int read(int p, ByteBuffer buf, long pos) throws IOException {
        FileChannel ch = channels.get(p);
        try {
            return ch.read(buf, pos);
        } catch (ClosedChannelException e) {
            if (closed || Thread.currentThread().isInterrupted()) {
                throw e;
            }
            synchronized (this) {
                if (closed) {
                    throw e;
                }
                FileChannel now = channels.get(p);
                if (!now.isOpen()) {
                    now = FileChannel.open(partPaths[p], StandardOpenOption.READ);
                    channels.set(p, now);
                }
                return now.read(buf, pos);
            }
        }
    }

    @Override
    public BadSampleLog badSamples() {
        return bad;
    }

    @Override
    public synchronized void close() throws IOException {
        closed = true;
        IOException first = null;
        for (int p = 0; p < channels.length(); p++) {
            try {
                channels.get(p).close();
            } catch (IOException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    private static void closeAll(FileChannel[] channels, Exception cause) {
        for (FileChannel ch : channels) {
            if (ch != null) {
                try {
                    ch.close();
                } catch (IOException e) {
                    cause.addSuppressed(e);
                }
            }
        }
    }
}
