package org.plsc4j.checkpoint;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Objects;
import org.plsc4j.core.ClassLayout;

/**
 * What the trainer tells {@link CheckpointWriter#commit} about the checkpoint: the FC geometry every
 * rank's shard is checked against, the training position, and the trainer's own JSON.
 *
 * <p>Why not a {@link Manifest}: the writer knows the shards, files, checksums and provenance better
 * than the caller does and fills them in itself; the caller states only what it alone knows.
 *
 * @param numClasses total classes C
 * @param embSize embedding size D
 * @param worldSize ranks that wrote FC shards
 * @param layout how the classes were split over them
 * @param step global step
 * @param epoch epoch
 * @param config the trainer's configuration (copied into the manifest as is)
 * @param extra anything else (optimizer state file names, ...); may be null
 */
public record ManifestInfo(int numClasses, int embSize, int worldSize, ClassLayout.Kind layout, long step, int epoch,
                           ObjectNode config, ObjectNode extra) {

    /** Validates; messages name the field, the value and what was expected. */
    public ManifestInfo {
        Objects.requireNonNull(layout, "layout");
        if (embSize < 1) {
            throw new IllegalArgumentException("emb_size : " + embSize + " (expected: >= 1)");
        }
        if (step < 0) {
            throw new IllegalArgumentException("step : " + step + " (expected: >= 0)");
        }
        if (epoch < 0) {
            throw new IllegalArgumentException("epoch : " + epoch + " (expected: >= 0)");
        }
        ClassLayout.of(layout, numClasses, worldSize); // validates num_classes and world_size
        config = config == null ? JsonNodeFactory.instance.objectNode() : config.deepCopy();
        extra = extra == null ? null : extra.deepCopy();
    }

    /** The class layout these fields describe. */
    public ClassLayout classLayout() {
        return ClassLayout.of(layout, numClasses, worldSize);
    }
}
