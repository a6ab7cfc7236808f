package org.plsc4j.data;

import java.awt.image.BufferedImage;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Iterator;
import java.util.Objects;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import org.plsc4j.data.internal.Bilinear;
import org.plsc4j.data.internal.Seeds;

/**
 * Turns encoded JPEG/PNG bytes into the network's input exactly as PLSC prepares it: RGB (grayscale
 * replicated to 3 channels), resized to {@code image_shape} (bilinear, skipped when the size
 * already matches), CHW float32, normalised as {@code (x − 127.5) / 128}, optionally flipped
 * horizontally.
 *
 * <p>Why the flip is decided here, by {@link #flip(long, int, long)}: the decision is a function of
 * (seed, epoch, sample index) only, so a sample is augmented the same way whichever rank reads it
 * and however many ranks there are.
 *
 * <p>Decoding uses the JDK's ImageIO; a decoder warning (e.g. a truncated JPEG, which ImageIO would
 * otherwise return half grey) is treated as an error. The resize is hand-written
 * ({@code internal.Bilinear}). Thread-safe.
 */
public final class ImagePreprocessor {

    private static final float MEAN = 127.5f;
    private static final float SCALE = 1f / 128f;

    private final ImageShape shape;

    /** A preprocessor for {@code shape}. */
    public ImagePreprocessor(ImageShape shape) {
        this.shape = Objects.requireNonNull(shape, "image_shape");
    }

    /** The output shape. */
    public ImageShape shape() {
        return shape;
    }

    /**
     * Whether sample {@code index} is flipped in {@code epoch}: a fair coin from (seed, epoch, index)
     * alone.
     */
    public static boolean flip(long seed, int epoch, long index) {
        return new SplittableRandom(Seeds.mix(seed, epoch, index)).nextBoolean();
    }

    /**
     * Decodes JPEG/PNG bytes.
     *
     * @param source where the bytes come from ({@code file:line} or a path), for the error message
     * @throws BadDataException when the bytes are not a complete image ImageIO can read
     */
    public static BufferedImage decode(byte[] bytes, String source) {
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(bytes))) {
            Iterator<ImageReader> readers = in == null ? null : ImageIO.getImageReaders(in);
            if (readers == null || !readers.hasNext()) {
                throw new BadDataException(source, 0, "image : " + describe(bytes)
                        + " (expected: JPEG or PNG bytes)");
            }
            ImageReader reader = readers.next();
            try {
                StringBuilder warnings = new StringBuilder();
                reader.addIIOReadWarningListener((r, w) -> warnings.append(warnings.length() == 0 ? "" : "; ").append(w));
                reader.setInput(in, true, true);
                BufferedImage img = reader.read(0);
                if (warnings.length() > 0) {
                    throw new BadDataException(source, 0, "image : corrupt " + reader.getFormatName()
                            + ", " + warnings + " (expected: a complete image)");
                }
                return img;
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof BadDataException b) {
                throw b;
            }
            throw new BadDataException(source, 0, "image : undecodable " + describe(bytes) + ", "
                    + e.getClass().getSimpleName() + ": " + e.getMessage() + " (expected: a JPEG or PNG image)", e);
        }
    }

    /**
     * Decodes {@code bytes} and writes the normalised CHW image into {@code dst[offset ..
     * offset + 3·H·W)}.
     *
     * @throws BadDataException when the bytes cannot be decoded; the message starts with {@code source}
     */
    public void toChw(byte[] bytes, String source, boolean flip, float[] dst, int offset) {
        toChw(decode(bytes, source), flip, dst, offset);
    }

    /** Writes {@code img} as a normalised, resized, optionally flipped CHW image into {@code dst} at {@code offset}. */
    public void toChw(BufferedImage img, boolean flip, float[] dst, int offset) {
        int w = img.getWidth();
        int h = img.getHeight();
        int plane = shape.height() * shape.width();
        if (offset < 0 || offset > dst.length - 3 * plane) {
            throw new IndexOutOfBoundsException("offset : " + offset + " (expected: 0 <= offset <= "
                    + (dst.length - 3 * plane) + " for " + shape + " in float[" + dst.length + "])");
        }
        float[][] rgb = rgbPlanes(img);
        boolean same = w == shape.width() && h == shape.height();
        float[] tmp = same ? null : new float[plane];
        for (int c = 0; c < 3; c++) {
            float[] p;
            if (same) {
                p = rgb[c];
            } else {
                Bilinear.resize(rgb[c], h, w, tmp, 0, shape.height(), shape.width());
                p = tmp;
            }
            int o = offset + c * plane;
            int ow = shape.width();
            for (int y = 0; y < shape.height(); y++) {
                int row = y * ow;
                for (int x = 0; x < ow; x++) {
                    int sx = flip ? ow - 1 - x : x;
                    dst[o + row + x] = (p[row + sx] - MEAN) * SCALE;
                }
            }
        }
    }

    /** R, G, B planes of 0..255 values, [H·W] each. */
    private static float[][] rgbPlanes(BufferedImage img) {
        int w = img.getWidth();
        int h = img.getHeight();
        int n = w * h;
        float[][] out = {new float[n], new float[n], new float[n]};
        Raster raster = img.getRaster();
        int transfer = raster.getTransferType();
        boolean component = img.getColorModel() instanceof ComponentColorModel;
        if (component && raster.getNumBands() <= 2
                && (transfer == DataBuffer.TYPE_BYTE || transfer == DataBuffer.TYPE_USHORT)) {
            // grayscale (+ alpha): replicate the gray value as cv2 does; getRGB would apply a gamma curve
            int[] g = raster.getSamples(0, 0, w, h, 0, (int[]) null);
            float div = transfer == DataBuffer.TYPE_USHORT ? 257f : 1f;
            for (int i = 0; i < n; i++) {
                float v = g[i] / div;
                out[0][i] = v;
                out[1][i] = v;
                out[2][i] = v;
            }
            return out;
        }
        if (component && raster.getNumBands() >= 3 && transfer == DataBuffer.TYPE_BYTE
                && img.getColorModel().getColorSpace().isCS_sRGB()) {
            for (int c = 0; c < 3; c++) {
                int[] s = raster.getSamples(0, 0, w, h, c, (int[]) null);
                for (int i = 0; i < n; i++) {
                    out[c][i] = s[i];
                }
            }
            return out;
        }
        int[] argb = img.getRGB(0, 0, w, h, null, 0, w);
        for (int i = 0; i < n; i++) {
            out[0][i] = (argb[i] >>> 16) & 0xff;
            out[1][i] = (argb[i] >>> 8) & 0xff;
            out[2][i] = argb[i] & 0xff;
        }
        return out;
    }

    private static String describe(byte[] bytes) {
        StringBuilder sb = new StringBuilder().append(bytes.length).append(" bytes");
        if (bytes.length > 0) {
            sb.append(" starting 0x");
            for (int i = 0; i < Math.min(4, bytes.length); i++) {
                sb.append(String.format(java.util.Locale.ROOT, "%02x", bytes[i] & 0xff));
            }
        }
        return sb.toString();
    }
}
