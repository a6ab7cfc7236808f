package org.plsc4j.data;

import java.nio.file.Path;
import java.util.Objects;

/**
 * What {@link DatasetGenerator} writes.
 *
 * @param out output directory (created; must be empty if it exists)
 * @param classes C, number of identities
 * @param perClass K, training images per class
 * @param imageSize side of the square images in pixels
 * @param pairs P, verification pairs in the {@code .bin} (0: no {@code .bin})
 * @param seed everything written is a function of the options, the seed included
 * @param format {@code label_txt} or {@code base64}
 * @param parts number of base64 part files (ignored for label_txt)
 * @param binName file name of the verification set inside {@code out}
 */
public record GeneratorOptions(Path out, int classes, int perClass, int imageSize, int pairs, long seed,
                               DatasetFormat format, int parts, String binName) {

    /** Default {@code .bin} name. */
    public static final String DEFAULT_BIN = "synth.bin";

    /** Validates; messages name the option, the value and what was expected. */
    public GeneratorOptions {
        Objects.requireNonNull(out, "out");
        Objects.requireNonNull(format, "format");
        Objects.requireNonNull(binName, "bin-name");
        if (classes < 1) {
            throw new IllegalArgumentException("classes : " + classes + " (expected: >= 1)");
        }
        if (perClass < 1) {
            throw new IllegalArgumentException("per-class : " + perClass + " (expected: >= 1)");
        }
        if ((long) classes * perClass > 100_000_000L) {
            throw new IllegalArgumentException("classes * per-class : " + (long) classes * perClass
                    + " (expected: <= 100000000)");
        }
        if (imageSize < 8 || imageSize > 1024) {
            throw new IllegalArgumentException("image-size : " + imageSize + " (expected: 8 <= size <= 1024)");
        }
        if (pairs < 0 || pairs > 10_000_000) {
            throw new IllegalArgumentException("pairs : " + pairs + " (expected: 0 <= pairs <= 10000000)");
        }
        if (pairs > 0 && classes < 2) {
            throw new IllegalArgumentException("pairs : " + pairs + " (expected: 0 when classes = 1: different-identity pairs need 2 classes)");
        }
        if (parts < 1 || parts > 10_000) {
            throw new IllegalArgumentException("parts : " + parts + " (expected: 1 <= parts <= 10000)");
        }
        if (binName.isEmpty() || binName.contains("/") || binName.contains("\\")) {
            throw new IllegalArgumentException("bin-name : '" + binName + "' (expected: a plain file name)");
        }
    }

    /** Defaults: 112-pixel images, 0 pairs, seed 42, label_txt, 4 parts, {@code synth.bin}. */
    public static GeneratorOptions of(Path out, int classes, int perClass) {
        return new GeneratorOptions(out, classes, perClass, 112, 0, 42, DatasetFormat.LABEL_TXT, 4, DEFAULT_BIN);
    }

    /** With {@code v} pairs. */
    public GeneratorOptions withPairs(int v) {
        return new GeneratorOptions(out, classes, perClass, imageSize, v, seed, format, parts, binName);
    }

    /** With image size {@code v}. */
    public GeneratorOptions withImageSize(int v) {
        return new GeneratorOptions(out, classes, perClass, v, pairs, seed, format, parts, binName);
    }

    /** With seed {@code v}. */
    public GeneratorOptions withSeed(long v) {
        return new GeneratorOptions(out, classes, perClass, imageSize, pairs, v, format, parts, binName);
    }

    /** With format {@code v} and {@code n} parts. */
    public GeneratorOptions withFormat(DatasetFormat v, int n) {
        return new GeneratorOptions(out, classes, perClass, imageSize, pairs, seed, v, n, binName);
    }

    /** With output directory {@code v}. */
    public GeneratorOptions withOut(Path v) {
        return new GeneratorOptions(v, classes, perClass, imageSize, pairs, seed, format, parts, binName);
    }
}
