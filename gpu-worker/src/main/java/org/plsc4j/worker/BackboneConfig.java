package org.plsc4j.worker;

import java.util.Objects;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The shape contract between the data pipeline, the backbone and the FC layer: what a backbone
 * eats (images [b, channels, height, width], NCHW) and what it returns (embeddings [b, embSize]).
 *
 * @param embSize embedding size D (PLSC's {@code emb_dim}), the FC layer's input width
 * @param channels image channels (3 for RGB)
 * @param height image height in pixels (112 for the usual face crops)
 * @param width image width in pixels
 * @param seed seeds the parameter initialisation (per parameter name) and the dropout masks
 * @param dataType {@code FLOAT} for training; {@code DOUBLE} only for exactness tests
 */
public record BackboneConfig(int embSize, int channels, int height, int width, long seed, DataType dataType) {

    /** Validates every field; messages name the field, the value and what was expected. */
    public BackboneConfig {
        Objects.requireNonNull(dataType, "dataType");
        if (embSize < 1) {
            throw new IllegalArgumentException("emb_size : " + embSize + " (expected: >= 1)");
        }
        if (channels < 1) {
            throw new IllegalArgumentException("channels : " + channels + " (expected: >= 1)");
        }
        if (height < 1) {
            throw new IllegalArgumentException("height : " + height + " (expected: >= 1)");
        }
        if (width < 1) {
            throw new IllegalArgumentException("width : " + width + " (expected: >= 1)");
        }
        if (dataType != DataType.FLOAT && dataType != DataType.DOUBLE) {
            throw new IllegalArgumentException("data_type : " + dataType + " (expected: FLOAT or DOUBLE)");
        }
    }

    /** A float32 config: the training default. */
    public static BackboneConfig of(int embSize, int channels, int height, int width, long seed) {
        return new BackboneConfig(embSize, channels, height, width, seed, DataType.FLOAT);
    }

    /** PLSC's default: 512-d embeddings of 3×112×112 images, float32. */
    public static BackboneConfig plscDefault(long seed) {
        return of(512, 3, 112, 112, seed);
    }

    /** This config with another data type (float64 for gradient checks). */
    public BackboneConfig withDataType(DataType type) {
        return new BackboneConfig(embSize, channels, height, width, seed, type);
    }

    /** The image shape [channels, height, width]. */
    public long[] imageShape() {
        return new long[] {channels, height, width};
    }
}
