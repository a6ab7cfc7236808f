package org.plsc4j.data.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.plsc4j.data.Dataset;
import org.plsc4j.data.DatasetConfig;
import org.plsc4j.data.DatasetFormat;
import org.plsc4j.data.DatasetGenerator;
import org.plsc4j.data.GeneratorOptions;
import org.plsc4j.data.ImagePreprocessor;
import org.plsc4j.data.ImageShape;
import org.plsc4j.data.VerificationSet;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code plsc4j gen-data}: writes a synthetic dataset in PLSC's formats plus a {@code .bin}
 * verification set, so that training and evaluation can be tried without real data. Prints one
 * summary line on stdout.
 */
@Command(name = "gen-data", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Write a synthetic PLSC dataset (label_txt or base64) and a .bin verification set.",
        description = {
            "Each class is a seeded prototype image (coloured shapes); each sample is the prototype shifted, "
                + "brightness-jittered and noised, JPEG quality 90. Same options and seed = same bytes.",
            ""})
public final class GenDataCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--out", required = true, description = "Output directory (new or empty).")
    Path out;

    @Option(names = "--classes", required = true, description = "Number of classes C.")
    int classes;

    @Option(names = "--per-class", required = true, description = "Training images per class K.")
    int perClass;

    @Option(names = "--image-size", defaultValue = "112", description = "Image side in pixels (default: ${DEFAULT-VALUE}).")
    int imageSize;

    @Option(names = "--pairs", defaultValue = "0",
            description = "Verification pairs of held-out images in the .bin; 0 for none (default: ${DEFAULT-VALUE}).")
    int pairs;

    @Option(names = "--seed", defaultValue = "42", description = "Seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--format", defaultValue = "label_txt",
            description = "label_txt or base64 (default: ${DEFAULT-VALUE}).")
    String format;

    @Option(names = "--parts", defaultValue = "4", description = "base64 part files (default: ${DEFAULT-VALUE}).")
    int parts;

    @Option(names = "--bin-name", defaultValue = GeneratorOptions.DEFAULT_BIN,
            description = "File name of the verification set (default: ${DEFAULT-VALUE}).")
    String binName;

    @Option(names = "--validate",
            description = "Reopen the written dataset with validateImages (decode every image) and check the counts.")
    boolean validate;

    @Override
    public Integer call() throws Exception {
        GeneratorOptions options;
        try {
            options = new GeneratorOptions(out, classes, perClass, imageSize, pairs, seed, DatasetFormat.parse(format),
                    parts, binName);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--" + e.getMessage());
        }
        long t0 = System.nanoTime();
        DatasetGenerator.Result r = DatasetGenerator.generate(options);
        if (validate) {
            check(r, options);
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        PrintWriter w = spec.commandLine().getOut();
        w.println(String.format(Locale.ROOT,
                "gen-data: %s format=%s classes=%d per_class=%d samples=%d image_size=%d index=%s bin=%s pairs=%d "
                        + "bytes=%d validated=%s seconds=%.2f",
                r.dir(), options.format(), classes, perClass, r.samples(), imageSize, r.index(),
                r.bin() == null ? "-" : r.bin().toString(), r.pairs(), r.bytes(), validate, seconds));
        w.flush();
        return 0;
    }

    /** Reads everything back: every image decodes, labels and counts are as written. */
    private static void check(DatasetGenerator.Result r, GeneratorOptions o) throws java.io.IOException {
        DatasetConfig config = new DatasetConfig(r.dir(), o.format(), o.classes(), ImageShape.square(o.imageSize()),
                false, true);
        try (Dataset d = Dataset.open(config)) {
            if (d.size() != r.samples()) {
                throw new IllegalStateException("validate : " + d.size() + " samples read (expected: " + r.samples() + ")");
            }
            for (int i = 0; i < d.size(); i++) {
                if (d.label(i) != i / o.perClass()) {
                    throw new IllegalStateException("validate : " + d.source(i) + " has label " + d.label(i)
                            + " (expected: " + i / o.perClass() + ")");
                }
            }
        }
        if (r.bin() != null) {
            VerificationSet v = VerificationSet.read(r.bin());
            if (v.pairs() != r.pairs()) {
                throw new IllegalStateException("validate : " + v.pairs() + " pairs read (expected: " + r.pairs() + ")");
            }
            for (int i = 0; i < v.images().size(); i++) {
                ImagePreprocessor.decode(v.images().get(i), r.bin() + " image " + i);
            }
        }
    }
}
