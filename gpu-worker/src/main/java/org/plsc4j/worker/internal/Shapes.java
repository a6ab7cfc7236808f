package org.plsc4j.worker.internal;

import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.plsc4j.worker.BackboneConfig;

/** Input checks shared by the training and inference paths. */
final class Shapes {

    private Shapes() {
    }

    /** Checks images are [b >= 1, C, H, W] of the config and returns them in the config's data type. */
    static INDArray checkImages(INDArray images, BackboneConfig config) {
        long[] s = images.shape();
        if (s.length != 4 || s[0] < 1 || s[1] != config.channels() || s[2] != config.height()
                || s[3] != config.width()) {
            throw new IllegalArgumentException("images shape : " + Arrays.toString(s) + " (expected: [batch >= 1, "
                    + config.channels() + ", " + config.height() + ", " + config.width() + "])");
        }
        return images.dataType() == config.dataType() ? images : images.castTo(config.dataType());
    }
}
