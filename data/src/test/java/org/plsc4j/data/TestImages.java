package org.plsc4j.data;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.function.IntBinaryOperator;
import javax.imageio.ImageIO;

/** Small images with known pixels for tests. */
final class TestImages {

    private TestImages() {
    }

    /** A w×h RGB image whose pixel (x, y) is {@code rgb.applyAsInt(x, y)} (0xRRGGBB). */
    static BufferedImage rgb(int w, int h, IntBinaryOperator rgb) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, rgb.applyAsInt(x, y));
            }
        }
        return img;
    }

    /** Encoded with ImageIO in {@code format} ("png" or "jpeg"). */
    static byte[] encode(BufferedImage img, String format) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            if (!ImageIO.write(img, format, out)) {
                throw new IllegalStateException("no writer for " + format);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** A PNG whose every pixel is (v, 255 − v, v / 2): a sample recognisable by v. */
    static byte[] tagged(int v, int size) {
        int rgb = (v << 16) | ((255 - v) << 8) | (v / 2);
        return encode(rgb(size, size, (x, y) -> rgb), "png");
    }

    /** The normalised value of channel value {@code v}, as PLSC: (v − 127.5) / 128. */
    static float norm(int v) {
        return (v - 127.5f) / 128f;
    }
}
