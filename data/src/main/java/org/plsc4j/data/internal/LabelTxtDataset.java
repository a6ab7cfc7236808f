package org.plsc4j.data.internal;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.plsc4j.data.BadDataException;
import org.plsc4j.data.BadSampleLog;
import org.plsc4j.data.Dataset;
import org.plsc4j.data.DatasetConfig;

/**
 * PLSC's {@code label_txt} layout: {@code dataset_dir/label.txt} with lines
 * {@code <image path relative to dataset_dir> <label>} separated by whitespace (paths cannot contain
 * whitespace); blank lines are ignored. Labels are checked at open, image files when read.
 */
public final class LabelTxtDataset implements Dataset {

    /** The index file's name inside {@code dataset_dir}. */
    public static final String LABEL_FILE = "label.txt";

    private final DatasetConfig config;
    private final String labelFile;
    private final String[] paths;
    private final int[] labels;
    private final int[] lines;
    private final BadSampleLog bad;

    private LabelTxtDataset(DatasetConfig config, String labelFile, String[] paths, int[] labels, int[] lines,
                            BadSampleLog bad) {
        this.config = config;
        this.labelFile = labelFile;
        this.paths = paths;
        this.labels = labels;
        this.lines = lines;
        this.bad = bad;
    }

    /** Reads and checks {@code label.txt}; with {@code validateImages} also every image. */
    public static LabelTxtDataset open(DatasetConfig config) throws IOException {
        Path file = config.dir().resolve(LABEL_FILE);
        String fileName = file.toString();
        if (!Files.isRegularFile(file)) {
            throw new BadDataException(fileName, 0, "not found (expected: dataset_dir " + config.dir()
                    + " to contain " + LABEL_FILE + " for format label_txt)");
        }
        BadSampleLog bad = new BadSampleLog();
        List<String> paths = new ArrayList<>();
        IntList labels = new IntList();
        IntList lineNos = new IntList();
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            int lineNo = 0;
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                lineNo++;
                String s = line.strip();
                if (s.isEmpty()) {
                    continue;
                }
                try {
                    String[] f = s.split("\\s+");
                    if (f.length == 1) {
                        throw new BadDataException(fileName, lineNo, "line : '" + Labels.abbreviate(s)
                                + "' has no label (expected: '<image path> <label>')");
                    }
                    if (f.length != 2) {
                        throw new BadDataException(fileName, lineNo, "line : '" + Labels.abbreviate(s) + "' has "
                                + f.length + " fields (expected: 2, '<image path> <label>')");
                    }
                    int label = Labels.parse(f[1], config.numClasses(), fileName, lineNo);
                    paths.add(f[0]);
                    labels.add(label);
                    lineNos.add(lineNo);
                } catch (BadDataException e) {
                    if (!config.skipBadSamples()) {
                        throw e;
                    }
                    bad.skipped(e);
                }
            }
        }
        LabelTxtDataset d = new LabelTxtDataset(config, fileName, paths.toArray(new String[0]), labels.toArray(),
                lineNos.toArray(), bad);
        if (!config.validateImages()) {
            return d;
        }
        int[] keep = ImageValidation.decodable(d, config.skipBadSamples(), bad);
        String[] p = new String[keep.length];
        int[] l = new int[keep.length];
        int[] n = new int[keep.length];
        for (int i = 0; i < keep.length; i++) {
            p[i] = d.paths[keep[i]];
            l[i] = d.labels[keep[i]];
            n[i] = d.lines[keep[i]];
        }
        return new LabelTxtDataset(config, fileName, p, l, n, bad);
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
        return BadDataException.where(labelFile, lines[i]) + " [" + paths[i] + "]";
    }

    @Override
    public byte[] encoded(int i) {
        Path p = config.dir().resolve(paths[i]);
        try {
            return Files.readAllBytes(p);
        } catch (NoSuchFileException e) {
            throw new BadDataException(labelFile, lines[i], "image : " + paths[i] + " not found (expected: a file at "
                    + p.toAbsolutePath() + ")", e);
        } catch (IOException e) {
            throw new UncheckedIOException(BadDataException.where(labelFile, lines[i]) + ": reading " + p, e);
        }
    }

    @Override
    public BadSampleLog badSamples() {
        return bad;
    }

    @Override
    public void close() {
        // no open files between reads
    }
}
