package org.plsc4j.worker;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.plsc4j.checkpoint.Checkpoint;
import org.plsc4j.core.LossScaler;
import org.plsc4j.core.TrainConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The trainer's checkpoint recipe: the warm start (from {@code checkpoint_dir}, fetched through the
 * {@link CheckpointSync} first) and the checkpoint every rank writes at an epoch end, handed to the
 * sync on rank 0. The layout itself is {@link CheckpointIo}'s.
 */
final class Checkpointing {

    private static final Logger LOG = LoggerFactory.getLogger(Checkpointing.class);

    private final TrainConfig config;
    private final CheckpointSync sync;
    private final Path saveDir;
    private final String runId;
    private final Backbone backbone;
    private final Optimizer optimizer;
    private final LossScaler scaler;

    Checkpointing(TrainConfig config, CheckpointSync sync, Path saveDir, String runId, Backbone backbone,
                  Optimizer optimizer, LossScaler scaler) {
        this.config = config;
        this.sync = sync;
        this.saveDir = saveDir;
        this.runId = runId;
        this.backbone = backbone;
        this.optimizer = optimizer;
        this.scaler = scaler;
    }

    /** Sets the cursor and the model from {@code checkpoint_dir} (the next epoch after it), or to the start. */
    void warmStartOrInit(Generation g, TrainingCursor cursor) throws IOException {
        if (!config.checkpointDir().isEmpty()) {
            Path fetched = sync.fetch(g.rank(), g.world(), g.start(), g.end());
            Checkpoint ck = CheckpointIo.resolve(fetched != null ? fetched : Path.of(config.checkpointDir()));
            CheckpointIo.load(ck, config, g.fc(), backbone, optimizer);
            CheckpointIo.restoreLossScaler(ck, scaler);
            cursor.epoch = ck.epoch() + 1;
            cursor.step = 0;
            cursor.global = ck.step();
            if (g.rank() == 0) {
                LOG.info("warm start from {} (epoch {}, step {}, {} ranks {} -> {} ranks {})", ck.dir(), ck.epoch(),
                        ck.step(), ck.layout().worldSize(), ck.layout().kind(), g.world(), g.fc().layout().kind());
            }
        } else {
            cursor.epoch = 0;
            cursor.step = 0;
            cursor.global = 0;
        }
    }

    /** Writes the checkpoint of a finished epoch (every rank its shard), logs it and hands it to the sync on rank 0. */
    Path epochEnd(Generation g, TrainingCursor cursor, MetricsLog metrics) throws IOException {
        int epoch = cursor.epoch;
        Path dir = CheckpointIo.save(saveDir, epoch, cursor.global, runId + "-g" + g.number(), config, g.fc(),
                backbone, optimizer, g.collective(), scaler);
        if (metrics != null) {
            metrics.event("checkpoint", Map.of("epoch", epoch, "step", cursor.global, "dir", dir.toString()));
        }
        if (g.rank() == 0) {
            sync.committed(dir, epoch, cursor.global, metrics);
        }
        return dir;
    }

    /** Waits for the sync's uploads (end of training). */
    void drain() throws IOException {
        sync.drain();
    }
}
