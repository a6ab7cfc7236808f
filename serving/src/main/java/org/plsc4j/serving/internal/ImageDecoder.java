package org.plsc4j.serving.internal;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import org.plsc4j.data.BadDataException;
import org.plsc4j.data.ImagePreprocessor;
import org.plsc4j.data.ImageShape;

/**
 * Base64 JPEG/PNG strings of a request to the network's input, exactly as evaluation prepares an
 * image ({@link ImagePreprocessor}: RGB, bilinear resize to the model's shape, CHW,
 * {@code (x − 127.5) / 128}, no flip).
 *
 * <p>Why the header is read first: a small PNG can declare 60000 × 60000 pixels; its size is checked
 * against the limit from the header alone ({@link ImageReader#getWidth}) before any pixel is decoded.
 * Thread-safe.
 */
public final class ImageDecoder {

    private final ImagePreprocessor preprocessor;
    private final int maxImageSide;

    /** A decoder to {@code shape} refusing images wider or higher than {@code maxImageSide} pixels. */
    public ImageDecoder(ImageShape shape, int maxImageSide) {
        this.preprocessor = new ImagePreprocessor(shape);
        this.maxImageSide = maxImageSide;
    }

    /**
     * The images of {@code base64}, one after the other, CHW float32.
     *
     * @param field the request field, for messages ({@code images} or {@code base64_string})
     * @throws BadRequestException 400 naming the index of an image that is not base64 or not a
     *     decodable JPEG/PNG, 413 for an image over the size limit
     */
    public float[] decode(List<String> base64, String field) {
        int per = preprocessor.shape().floatsPerImage();
        float[] out = new float[Math.multiplyExact(base64.size(), per)];
        for (int i = 0; i < base64.size(); i++) {
            String where = field + "[" + i + "]";
            byte[] bytes;
            try {
                bytes = Base64.getMimeDecoder().decode(base64.get(i));
            } catch (IllegalArgumentException e) {
                throw new BadRequestException(400, where + " : not base64 (" + e.getMessage()
                        + ") (expected: base64 of JPEG or PNG bytes)");
            }
            checkSize(bytes, where);
            BufferedImage img;
            try {
                img = ImagePreprocessor.decode(bytes, where);
            } catch (BadDataException e) {
                throw new BadRequestException(400, e.getMessage());
            }
            preprocessor.toChw(img, false, out, i * per);
        }
        return out;
    }

    /** Reads the width and height from the header and refuses what is over the limit or unreadable. */
    private void checkSize(byte[] bytes, String where) {
        int w;
        int h;
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(bytes))) {
            Iterator<ImageReader> readers = in == null ? null : ImageIO.getImageReaders(in);
            if (readers == null || !readers.hasNext()) {
                throw new BadRequestException(400, where + " : undecodable " + describe(bytes)
                        + " (expected: a JPEG or PNG image)");
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                w = reader.getWidth(0);
                h = reader.getHeight(0);
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof BadRequestException b) {
                throw b;
            }
            throw new BadRequestException(400, where + " : undecodable " + describe(bytes) + ", "
                    + e.getClass().getSimpleName() + ": " + e.getMessage() + " (expected: a JPEG or PNG image)");
        }
        if (w > maxImageSide || h > maxImageSide || w < 1 || h < 1) {
            throw new BadRequestException(413, where + " : " + w + "x" + h + " pixels (expected: 1 <= width, height <= "
                    + maxImageSide + ")");
        }
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
