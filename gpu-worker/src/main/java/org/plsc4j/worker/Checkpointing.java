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

    /**
     * At a generation start: checks that the ranks see checkpoints where the job says they do. With
     * {@code shared_save_dir: true} (and more than one rank) every rank writes a probe file into
     * {@code model_save_dir} and must see every other rank's; with {@code false} the sync must commit
     * remotely. Fails on every rank naming the keys, before any training.
     */
    void checkSaveDir(Generation g) throws IOException {
        if (!config.sharedSaveDir()) {
            if (!sync.commitsRemotely()) {
                throw new IllegalArgumentException("shared_save_dir : false (expected: fs_dir_for_save set and a"
                        + " checkpoint sync that commits through it; " + sync.getClass().getSimpleName() + " does not)");
            }
            return;
        }
        if (g.world() < 2) {
            return;
        }
        Trainer.ensureDir(saveDir);
        Path probe = saveDir.resolve(".plsc4j-shared-" + runId + "-g" + g.number());
        java.nio.file.Files.createDirectories(probe);
        java.nio.file.Files.write(probe.resolve("rank-" + g.rank()), new byte[0]);
        g.collective().barrier();
        int seen = 0;
        for (int r = 0; r < g.world(); r++) {
            seen += java.nio.file.Files.exists(probe.resolve("rank-" + r)) ? 1 : 0;
        }
        int[] blind = {seen == g.world() ? 0 : 1};
        int[] worst = {g.world() - seen};
        g.collective().allReduce(blind, org.plsc4j.core.collective.ReduceOp.SUM);
        g.collective().allReduce(worst, org.plsc4j.core.collective.ReduceOp.MAX);
        g.collective().barrier();
        if (g.rank() == 0) {
            try (var files = java.nio.file.Files.list(probe)) {
                for (Path f : (Iterable<Path>) files::iterator) {
                    java.nio.file.Files.deleteIfExists(f);
                }
            }
            java.nio.file.Files.deleteIfExists(probe);
        }
        if (blind[0] > 0) {
            throw new IllegalArgumentException("shared_save_dir : true (but " + blind[0] + " of " + g.world()
                    + " ranks do not see every rank's files in model_save_dir " + saveDir.toAbsolutePath() + ", up to "
                    + worst[0] + " missing; expected: one directory all ranks see, on one machine or a shared file"
                    + " system; ranks on separate disks need shared_save_dir: false with fs_dir_for_save)");
        }
    }

    /** Writes the checkpoint of a finished epoch (every rank its shard), logs it and hands it to the sync on rank 0. */
    Path epochEnd(Generation g, TrainingCursor cursor, MetricsLog metrics) throws IOException {
        int epoch = cursor.epoch;
        if (!config.sharedSaveDir()) {
            String remote = CheckpointIo.saveRemote(saveDir, epoch, cursor.global, runId + "-g" + g.number(), config,
                    g.fc(), backbone, optimizer, g.collective(), scaler, sync);
            if (metrics != null) {
                metrics.event("checkpoint", Map.of("epoch", epoch, "step", cursor.global, "dir", remote, "remote",
                        true));
            }
            return remote == null ? null : Path.of(java.net.URI.create(remote).getPath());
        }
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
