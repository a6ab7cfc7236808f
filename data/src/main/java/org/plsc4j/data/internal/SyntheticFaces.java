package org.plsc4j.data.internal;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.SplittableRandom;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.MemoryCacheImageOutputStream;

/**
 * Renders the synthetic identities: each class is a seeded prototype (background colour and 4–6
 * coloured ellipses, rectangles or stripes), each sample the prototype shifted by a few pixels with
 * brightness jitter and per-pixel noise, JPEG-encoded at quality 0.9. A class is recognisable from
 * any of its samples, so a small CNN can learn them. Every image is a function of (seed, class,
 * sample) only; rendering is aliased (no antialiasing) and single-pass so the bytes are reproducible.
 */
public final class SyntheticFaces {

    private static final float JPEG_QUALITY = 0.9f;
    private static final ThreadLocal<ImageWriter> JPEG = ThreadLocal.withInitial(
            () -> ImageIO.getImageWritersByFormatName("jpeg").next());

    private final long seed;
    private final int size;

    /** Images of {@code size}×{@code size} pixels for {@code seed}. */
    public SyntheticFaces(long seed, int size) {
        this.seed = seed;
        this.size = size;
    }

    /** The JPEG bytes of sample {@code sample} of class {@code cls}. */
    public byte[] jpeg(int cls, long sample) {
        return encode(render(cls, sample));
    }

    /** Sample {@code sample} of class {@code cls} as an RGB image. */
    public BufferedImage render(int cls, long sample) {
        SplittableRandom proto = new SplittableRandom(Seeds.mix(seed, 1, cls));
        SplittableRandom jitter = new SplittableRandom(Seeds.mix(seed, 2, cls, sample));
        BufferedImage img = new BufferedImage(size, size, BufferedImage.TYPE_3BYTE_BGR);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_OFF);
            g.setColor(color(proto, 20, 140));
            g.fillRect(0, 0, size, size);
            int maxShift = Math.max(1, size / 16);
            g.translate(jitter.nextInt(-maxShift, maxShift + 1), jitter.nextInt(-maxShift, maxShift + 1));
            int shapes = 4 + proto.nextInt(3);
            for (int s = 0; s < shapes; s++) {
                g.setColor(color(proto, 60, 256));
                int kind = proto.nextInt(3);
                int x = proto.nextInt(size * 3 / 4);
                int y = proto.nextInt(size * 3 / 4);
                int w = size / 6 + proto.nextInt(size / 3);
                int h = size / 6 + proto.nextInt(size / 3);
                switch (kind) {
                    case 0 -> g.fillOval(x, y, w, h);
                    case 1 -> g.fillRect(x, y, w, h);
                    default -> {
                        int band = Math.max(2, size / 12);
                        if (proto.nextBoolean()) {
                            g.fillRect(-size, y, 3 * size, band);
                        } else {
                            g.fillRect(x, -size, band, 3 * size);
                        }
                    }
                }
            }
        } finally {
            g.dispose();
        }
        byte[] px = ((DataBufferByte) img.getRaster().getDataBuffer()).getData();
        double brightness = 0.9 + 0.2 * jitter.nextDouble();
        long bits = 0;
        for (int i = 0; i < px.length; i++) {
            if ((i & 15) == 0) {
                bits = jitter.nextLong(); // 16 noise values of 4 bits each
            }
            int noise = (int) (bits & 15) - 8; // uniform in [-8, 7]
            bits >>>= 4;
            int v = (int) ((px[i] & 0xff) * brightness + 0.5) + noise;
            px[i] = (byte) Math.min(255, Math.max(0, v));
        }
        return img;
    }

    private static Color color(SplittableRandom rng, int lo, int hi) {
        return new Color(rng.nextInt(lo, hi), rng.nextInt(lo, hi), rng.nextInt(lo, hi));
    }

    /** JPEG at quality 0.9 with ImageIO's writer. */
    public static byte[] encode(BufferedImage img) {
        ImageWriter writer = JPEG.get();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(8192);
        try (MemoryCacheImageOutputStream out = new MemoryCacheImageOutputStream(bytes)) {
            writer.setOutput(out);
            ImageWriteParam param = writer.getDefaultWriteParam();
            param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
            param.setCompressionQuality(JPEG_QUALITY);
            writer.write(null, new IIOImage(img, null, null), param);
        } catch (IOException e) {
            throw new UncheckedIOException("JPEG encoding of a " + img.getWidth() + "x" + img.getHeight() + " image", e);
        } finally {
            writer.setOutput(null);
        }
        return bytes.toByteArray();
    }
}
