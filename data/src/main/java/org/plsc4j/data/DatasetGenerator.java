package org.plsc4j.data;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.plsc4j.data.internal.Base64Dataset;
import org.plsc4j.data.internal.LabelTxtDataset;
import org.plsc4j.data.internal.Seeds;
import org.plsc4j.data.internal.SyntheticFaces;

/**
 * Writes a synthetic face-recognition dataset in PLSC's formats, so that every part of the pipeline
 * (readers, loader, trainer, verification) can run end to end without downloading MS1M or LFW.
 *
 * <p>Output in {@code out}: the training set ({@code label.txt} + {@code images/NNNNNNNN.jpg}, or
 * {@code file_list.txt} + {@code part-NNNNN.txt}) with samples class-major (sample {@code c·K + k}
 * has label {@code c}), and with {@code pairs > 0} a verification set {@code synth.bin} of held-out
 * samples (never in the training set), pair {@code i} same-identity for even {@code i}, different
 * for odd {@code i}. The bytes are a function of the options only. The index file
 * ({@code label.txt}/{@code file_list.txt}) is written last and every text/pickle file is renamed into
 * place complete, so an interrupted run never leaves something that reads as a whole dataset.
 */
public final class DatasetGenerator {

    /** Samples encoded in parallel before they are written in order. */
    private static final int CHUNK = 2048;

    private DatasetGenerator() {
    }

    /**
     * What was written.
     *
     * @param dir the output directory
     * @param index {@code label.txt} or {@code file_list.txt}
     * @param bin the verification set, or null when {@code pairs} was 0
     * @param samples training samples written (C·K)
     * @param pairs verification pairs written
     * @param bytes total size of the files written
     */
    public record Result(Path dir, Path index, Path bin, int samples, int pairs, long bytes) {
    }

    /** Generates the dataset {@code o} describes. */
    public static Result generate(GeneratorOptions o) throws IOException {
        Path out = o.out();
        if (Files.exists(out)) {
            if (!Files.isDirectory(out)) {
                throw new IllegalArgumentException("out : " + out + " (expected: a directory)");
            }
            try (Stream<Path> s = Files.list(out)) {
                if (s.findAny().isPresent()) {
                    throw new IllegalArgumentException("out : " + out + " is not empty (expected: a new or empty directory)");
                }
            }
        }
        Files.createDirectories(out);
        SyntheticFaces faces = new SyntheticFaces(o.seed(), o.imageSize());
        int n = o.classes() * o.perClass();
        long[] bytes = {0};
        Path index;
        if (o.format() == DatasetFormat.LABEL_TXT) {
            index = writeLabelTxt(o, faces, n, bytes);
        } else {
            index = writeBase64(o, faces, n, bytes);
        }
        Path bin = null;
        if (o.pairs() > 0) {
            bin = out.resolve(o.binName());
            verificationSet(o, faces).write(bin);
            bytes[0] += Files.size(bin);
        }
        // the index last: before this rename the directory is not a dataset
        Path tmpIndex = index.resolveSibling("." + index.getFileName() + ".tmp");
        Files.move(tmpIndex, index, StandardCopyOption.ATOMIC_MOVE);
        bytes[0] += Files.size(index);
        return new Result(out, index, bin, n, o.pairs(), bytes[0]);
    }

    /** The P held-out pairs: even i same class (two fresh samples), odd i two different classes. */
    static VerificationSet verificationSet(GeneratorOptions o, SyntheticFaces faces) {
        SplittableRandom rng = new SplittableRandom(Seeds.mix(o.seed(), 3));
        int p = o.pairs();
        int[] cls = new int[2 * p];
        boolean[] same = new boolean[p];
        for (int i = 0; i < p; i++) {
            same[i] = i % 2 == 0;
            int a = rng.nextInt(o.classes());
            int b = same[i] ? a : (a + 1 + rng.nextInt(o.classes() - 1)) % o.classes();
            cls[2 * i] = a;
            cls[2 * i + 1] = b;
        }
        // held-out sample numbers start at K: never rendered for the training set
        List<byte[]> images = IntStream.range(0, 2 * p).parallel()
                .mapToObj(j -> faces.jpeg(cls[j], (long) o.perClass() + j)).toList();
        return new VerificationSet(o.out().resolve(o.binName()).toString(), images, same);
    }

    private static Path writeLabelTxt(GeneratorOptions o, SyntheticFaces faces, int n, long[] bytes) throws IOException {
        Path images = Files.createDirectories(o.out().resolve("images"));
        Path index = o.out().resolve(LabelTxtDataset.LABEL_FILE);
        try (Writer w = Files.newBufferedWriter(index.resolveSibling("." + index.getFileName() + ".tmp"),
                StandardCharsets.UTF_8)) {
            for (int from = 0; from < n; from += CHUNK) {
                int to = Math.min(n, from + CHUNK);
                // rendering, encoding and file creation in parallel (creating a file costs as much as encoding it)
                bytes[0] += IntStream.range(from, to).parallel().mapToLong(i -> {
                    byte[] jpeg = faces.jpeg(i / o.perClass(), i % o.perClass());
                    try {
                        Files.write(images.resolve(imageName(i)), jpeg);
                    } catch (IOException e) {
                        throw new UncheckedIOException("writing " + images.resolve(imageName(i)), e);
                    }
                    return jpeg.length;
                }).sum();
                for (int i = from; i < to; i++) {
                    w.write("images/" + imageName(i) + " " + i / o.perClass() + "\n");
                }
            }
        }
        return index;
    }

    private static String imageName(int i) {
        return String.format(Locale.ROOT, "%08d.jpg", i);
    }

    private static Path writeBase64(GeneratorOptions o, SyntheticFaces faces, int n, long[] bytes) throws IOException {
        int parts = Math.min(o.parts(), n);
        List<String> names = new ArrayList<>(parts);
        Base64.Encoder b64 = Base64.getEncoder();
        for (int p = 0; p < parts; p++) {
            int from = (int) ((long) p * n / parts);
            int to = (int) ((long) (p + 1) * n / parts);
            String name = String.format(Locale.ROOT, "part-%05d.txt", p);
            Path file = o.out().resolve(name);
            Path tmp = file.resolveSibling("." + name + ".tmp");
            try (BufferedWriter w = Files.newBufferedWriter(tmp, StandardCharsets.US_ASCII)) {
                for (int c = from; c < to; c += CHUNK) {
                    int ce = Math.min(to, c + CHUNK);
                    List<byte[]> chunk = encode(o, faces, c, ce);
                    for (int i = c; i < ce; i++) {
                        w.write(b64.encodeToString(chunk.get(i - c)));
                        w.write('\t');
                        w.write(Integer.toString(i / o.perClass()));
                        w.write('\n');
                    }
                }
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
            bytes[0] += Files.size(file);
            names.add(name);
        }
        Path index = o.out().resolve(Base64Dataset.FILE_LIST);
        Files.write(index.resolveSibling("." + index.getFileName() + ".tmp"),
                (String.join("\n", names) + "\n").getBytes(StandardCharsets.UTF_8));
        return index;
    }

    /** JPEGs of samples [from, to) (sample i = class i / K, number i % K), encoded in parallel. */
    private static List<byte[]> encode(GeneratorOptions o, SyntheticFaces faces, int from, int to) {
        return IntStream.range(from, to).parallel()
                .mapToObj(i -> faces.jpeg(i / o.perClass(), i % o.perClass())).toList();
    }
}
