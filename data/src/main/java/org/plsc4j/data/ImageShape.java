package org.plsc4j.data;

/**
 * PLSC's {@code image_shape} [3, H, W]: the one size every sample is resized to, so that a batch is
 * a dense [b, 3, H, W] tensor whatever sizes the stored images have.
 *
 * @param channels always 3 (RGB; grayscale images are replicated to 3 channels)
 * @param height H in pixels
 * @param width W in pixels
 */
public record ImageShape(int channels, int height, int width) {

    /** Validates the shape; messages name the field, the value and what was expected. */
    public ImageShape {
        if (channels != 3) {
            throw new IllegalArgumentException("image_shape[0] : " + channels + " (expected: 3)");
        }
        if (height < 1 || height > 16384) {
            throw new IllegalArgumentException("image_shape[1] : " + height + " (expected: 1 <= H <= 16384)");
        }
        if (width < 1 || width > 16384) {
            throw new IllegalArgumentException("image_shape[2] : " + width + " (expected: 1 <= W <= 16384)");
        }
    }

    /** A square RGB shape [3, size, size]. */
    public static ImageShape square(int size) {
        return new ImageShape(3, size, size);
    }

    /** Floats of one CHW image: 3·H·W. */
    public int floatsPerImage() {
        return channels * height * width;
    }

    /** The shape as PLSC writes it: [3, H, W]. */
    @Override
    public String toString() {
        return "[" + channels + ", " + height + ", " + width + "]";
    }
}
