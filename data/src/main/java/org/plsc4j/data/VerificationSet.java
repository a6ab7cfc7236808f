package org.plsc4j.data;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import net.razorvine.pickle.Pickler;
import net.razorvine.pickle.Unpickler;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.data.internal.NumpyPickles;

/**
 * An insightface/PLSC verification set ({@code lfw.bin}, {@code cfp_fp.bin}, ...): a pickle of the
 * tuple {@code (list of encoded images, list of issame)} where images {@code 2i} and {@code 2i+1}
 * form pair {@code i}. Read with Pyrolite; accepted element types are those real files contain:
 * images as {@code bytes}/{@code bytearray} or Python-2 {@code str} (converted with ISO-8859-1,
 * which maps each char back to its byte), issame as {@code bool} or {@code numpy.bool_}.
 */
public final class VerificationSet {

    private final String source;
    private final List<byte[]> images;
    private final boolean[] issame;

    /**
     * @param source where the set comes from, for messages
     * @param images 2·P encoded images
     * @param issame P flags: whether pair i shows the same identity
     */
    public VerificationSet(String source, List<byte[]> images, boolean[] issame) {
        this.source = Objects.requireNonNull(source, "source");
        this.images = List.copyOf(images);
        this.issame = issame.clone();
        if (this.images.size() != 2 * issame.length) {
            throw new BadDataException(source, 0, "images : " + this.images.size()
                    + " (expected: 2 per issame flag = " + 2L * issame.length + ")");
        }
    }

    /** Reads a {@code .bin} verification pickle. */
    public static VerificationSet read(Path file) throws IOException {
        NumpyPickles.register();
        String name = file.toString();
        if (!Files.isRegularFile(file)) {
            throw new BadDataException(name, 0, "not found (expected: a .bin verification pickle)");
        }
        Object root;
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
            root = new Unpickler().load(in);
        } catch (IOException | RuntimeException e) { // Pyrolite reports truncation and bad opcodes this way
            throw new BadDataException(name, 0, "pickle : " + e.getClass().getSimpleName() + ": " + e.getMessage()
                    + " (expected: a pickle of (list of image bytes, list of bools))", e);
        }
        List<?> parts = asList(root);
        if (parts == null || parts.size() != 2) {
            throw new BadDataException(name, 0, "pickle : " + describe(root)
                    + " (expected: a tuple (list of image bytes, list of bools))");
        }
        List<?> bins = asList(parts.get(0));
        List<?> flags = asList(parts.get(1));
        if (bins == null) {
            throw new BadDataException(name, 0, "images : " + describe(parts.get(0)) + " (expected: a list)");
        }
        if (flags == null) {
            throw new BadDataException(name, 0, "issame : " + describe(parts.get(1)) + " (expected: a list)");
        }
        List<byte[]> images = new ArrayList<>(bins.size());
        for (int i = 0; i < bins.size(); i++) {
            Object o = bins.get(i);
            if (o instanceof byte[] b) {
                images.add(b);
            } else if (o instanceof String s) {
                images.add(s.getBytes(StandardCharsets.ISO_8859_1));
            } else {
                throw new BadDataException(name, 0, "images[" + i + "] : " + describe(o)
                        + " (expected: bytes, bytearray or str)");
            }
        }
        boolean[] same = new boolean[flags.size()];
        for (int i = 0; i < same.length; i++) {
            if (flags.get(i) instanceof Boolean b) {
                same[i] = b;
            } else {
                throw new BadDataException(name, 0, "issame[" + i + "] : " + describe(flags.get(i))
                        + " (expected: bool or numpy.bool_)");
            }
        }
        return new VerificationSet(name, images, same);
    }

    /**
     * Writes this set as a pickle Python's {@code pickle.load} and {@link #read(Path)} understand:
     * protocol 2, a tuple of (list of bytearray, list of bool). Written to a temporary file in the
     * same directory and renamed, so a crash never leaves a truncated {@code .bin}.
     */
    public void write(Path file) throws IOException {
        List<Boolean> flags = new ArrayList<>(issame.length);
        for (boolean b : issame) {
            flags.add(b);
        }
        Object[] tuple = {images, flags};
        Path dir = file.toAbsolutePath().getParent();
        Path tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
        try {
            try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16)) {
                new Pickler(false).dump(tuple, out);
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Where the set was read from. */
    public String source() {
        return source;
    }

    /** Number of pairs P. */
    public int pairs() {
        return issame.length;
    }

    /** The 2·P encoded images (unmodifiable; images 2i and 2i+1 are pair i). */
    public List<byte[]> images() {
        return images;
    }

    /** A copy of the P issame flags. */
    public boolean[] issame() {
        return issame.clone();
    }

    /**
     * Images {@code [from, to)} decoded and normalised as for training, [to − from, 3, H, W]. The
     * evaluation embeds them once as they are and once with {@code flip} and combines the two with
     * {@link Verification#combine}.
     */
    public INDArray decode(ImageShape shape, boolean flip, int from, int to) {
        if (from < 0 || to > images.size() || from > to) {
            throw new IndexOutOfBoundsException("range : [" + from + ", " + to + ") (expected: within [0, "
                    + images.size() + "))");
        }
        ImagePreprocessor pre = new ImagePreprocessor(shape);
        int per = shape.floatsPerImage();
        float[] data = new float[(to - from) * per];
        for (int i = from; i < to; i++) {
            pre.toChw(images.get(i), source + " image " + i, flip, data, (i - from) * per);
        }
        return Nd4j.create(data, new long[] {to - from, shape.channels(), shape.height(), shape.width()},
                DataType.FLOAT);
    }

    private static List<?> asList(Object o) {
        if (o instanceof Object[] a) {
            return java.util.Arrays.asList(a);
        }
        if (o instanceof List<?> l) {
            return l;
        }
        if (o instanceof Collection<?> c) {
            return new ArrayList<>(c);
        }
        return null;
    }

    private static String describe(Object o) {
        if (o == null) {
            return "None";
        }
        if (o instanceof Object[] a) {
            return "tuple of " + a.length;
        }
        if (o instanceof Collection<?> c) {
            return o.getClass().getSimpleName() + " of " + c.size();
        }
        return o.getClass().getName();
    }
}
