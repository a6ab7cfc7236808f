package org.plsc4j.worker;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.plsc4j.checkpoint.Checkpoint;
import org.plsc4j.checkpoint.CheckpointWriter;
import org.plsc4j.checkpoint.Checkpoints;
import org.plsc4j.checkpoint.Manifest;
import org.plsc4j.checkpoint.ManifestInfo;
import org.plsc4j.core.ClassLayout;
import org.plsc4j.core.FcStorage;
import org.plsc4j.core.LossScaler;
import org.plsc4j.core.PartialFc;
import org.plsc4j.core.TrainConfig;
import org.plsc4j.core.TrainConfigs;
import org.plsc4j.core.collective.Collective;

/**
 * What a training job puts into and takes out of a checkpoint: every rank its FC shard (weights
 * and momentum, with its class range), rank 0 the backbone (parameters and batch-norm state) and
 * the optimizer state; the manifest carries the full {@link TrainConfig}.
 *
 * <p>Why separate from the checkpoint module: that module knows arrays and files, this class knows
 * what a trainer's arrays are. Loading reads only this rank's class range, so a warm start with
 * another worker count or layout re-partitions the FC exactly.
 */
public final class CheckpointIo {

    /** Sub-directory of the optimizer state arrays. */
    public static final String OPTIMIZER = "optimizer";

    /** Key in the manifest's {@code extra} of the loss scaler's state (use_fp16 jobs). */
    public static final String LOSS_SCALING = "loss_scaling";

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(CheckpointIo.class);

    private CheckpointIo() {
    }

    /**
     * A checkpoint directory (with manifest.json) as is, or the newest complete checkpoint of a
     * model_save_dir.
     *
     * @throws IllegalArgumentException naming the directory when it holds neither
     */
    public static Checkpoint resolve(Path dir) throws IOException {
        if (Files.isRegularFile(dir.resolve(Manifest.FILE_NAME))) {
            return Checkpoint.open(dir);
        }
        if (Files.isDirectory(dir)) {
            Optional<Path> latest = Checkpoints.latest(dir);
            if (latest.isPresent()) {
                return Checkpoint.open(latest.get());
            }
        }
        throw new IllegalArgumentException("checkpoint_dir : " + dir + " (expected: a checkpoint directory with "
                + Manifest.FILE_NAME + ", or a model_save_dir holding numbered checkpoints)");
    }

    /**
     * Loads this rank's FC rows (its range under the current layout, whatever layout wrote them), the
     * backbone and, when saved, the optimizer state.
     *
     * @throws IllegalArgumentException naming both values when num_classes or emb_size differ
     */
    public static void load(Checkpoint ck, TrainConfig config, PartialFc fc, Backbone backbone, Optimizer optimizer)
            throws IOException {
        if (ck.numClasses() != config.numClasses()) {
            throw new IllegalArgumentException("num_classes : " + config.numClasses() + " (expected: "
                    + ck.numClasses() + " as in the checkpoint " + ck.dir() + ")");
        }
        if (ck.embSize() != config.embSize()) {
            throw new IllegalArgumentException("emb_size : " + config.embSize() + " (expected: " + ck.embSize()
                    + " as in the checkpoint " + ck.dir() + ")");
        }
        ClassLayout layout = fc.layout();
        int rank = fc.rank();
        int start = layout.start(rank);
        int end = layout.end(rank);
        // straight into the shard's storage (converted block by block when fc_dtype differs from the checkpoint's)
        ck.readFcInto(start, end, true, fc.weights());
        ck.readFcInto(start, end, false, fc.momentum());
        fc.weightsChanged();
        if (fc.bias() != null && ck.hasFcBias()) {
            fc.loadBias(ck.readFcBias(start, end, false), ck.readFcBias(start, end, true));
        } else if (fc.bias() != null) {
            int n = end - start;
            fc.loadBias(org.nd4j.linalg.factory.Nd4j.zeros(org.nd4j.linalg.api.buffer.DataType.FLOAT, n),
                    org.nd4j.linalg.factory.Nd4j.zeros(org.nd4j.linalg.api.buffer.DataType.FLOAT, n));
            LOG.warn("checkpoint {} has no FC bias (written by a loss without one): loss_type {} starts its bias at 0",
                    ck.dir(), config.lossType());
        } else if (ck.hasFcBias()) {
            LOG.warn("checkpoint {} has an FC bias, which loss_type {} does not use: it is dropped", ck.dir(),
                    config.lossType());
        }
        backbone.load(ck.readBackbone());
        Map<String, Map<String, String>> arrays = ck.manifest().arrays();
        if (optimizer != null && arrays != null && arrays.containsKey(OPTIMIZER)) {
            optimizer.loadState(ck.readArrays(OPTIMIZER));
        }
    }

    /**
     * Restores the loss scaler from a checkpoint's {@code extra.loss_scaling} (warm start of a use_fp16
     * job); returns false, leaving it at init_loss_scaling, when the checkpoint has none.
     */
    public static boolean restoreLossScaler(Checkpoint ck, LossScaler scaler) {
        ObjectNode extra = ck.extra();
        if (scaler == null || extra == null || !extra.has(LOSS_SCALING)) {
            return false;
        }
        var ls = extra.get(LOSS_SCALING);
        scaler.restore((float) ls.get("scale").asDouble(), ls.get("good_steps").asInt(), ls.get("bad_steps").asInt(),
                ls.get("skipped_steps").asLong());
        return true;
    }

    /**
     * Writes checkpoint {@code model_save_dir/<epoch>} from every rank: each its FC shard, rank 0 the
     * backbone, the optimizer state and (after a barrier) the manifest, which makes it visible.
     *
     * @return the checkpoint directory
     */
    public static Path save(Path modelSaveDir, int epoch, long step, String runId, TrainConfig config, PartialFc fc,
                            Backbone backbone, Optimizer optimizer, Collective collective) throws IOException {
        return save(modelSaveDir, epoch, step, runId, config, fc, backbone, optimizer, collective, null);
    }

    /**
     * As {@link #save(Path, int, long, String, TrainConfig, PartialFc, Backbone, Optimizer, Collective)}, with
     * the loss scaler's state (use_fp16) in the manifest's {@code extra.loss_scaling}: {@code scale},
     * {@code good_steps}, {@code bad_steps}, {@code skipped_steps}. A checkpoint whose FC or backbone
     * holds Inf/NaN is refused (IllegalStateException naming the rank), never written.
     */
    public static Path save(Path modelSaveDir, int epoch, long step, String runId, TrainConfig config, PartialFc fc,
                            Backbone backbone, Optimizer optimizer, Collective collective, LossScaler scaler)
            throws IOException {
        Trainer.ensureDir(modelSaveDir);
        int rank = collective.rank();
        CheckpointWriter w = CheckpointWriter.open(modelSaveDir, Integer.toString(epoch), runId + "-" + step, true);
        // a rank that fails here throws; its peers then fail at the barrier with the collective's
        // timeout naming it, and rank 0 never commits, so no incomplete checkpoint becomes visible
        stage(w, epoch, step, fc, backbone, optimizer, rank);
        collective.barrier();
        Path out = w.target();
        if (rank == 0) {
            out = w.commit(info(epoch, step, runId, config, fc, collective, scaler));
        }
        collective.barrier();
        return out;
    }

    /**
     * As {@link #save(Path, int, long, String, TrainConfig, PartialFc, Backbone, Optimizer, Collective, LossScaler)}
     * for ranks that do not share {@code model_save_dir} ({@code shared_save_dir: false}): each rank stages
     * its part locally and copies it through {@code sync} to the remote staging directory; the ranks agree
     * whether every part arrived, and only then rank 0 publishes the checkpoint remotely. All or nothing:
     * when any rank fails (writing or copying), no rank commits, the remote staging directory is removed,
     * the previous checkpoints stay as they were, and every rank throws naming the failed ranks. The local
     * staging directories are removed either way (the remote checkpoint is the copy).
     *
     * @return the committed remote checkpoint directory
     */
    public static String saveRemote(Path modelSaveDir, int epoch, long step, String runId, TrainConfig config,
                                    PartialFc fc, Backbone backbone, Optimizer optimizer, Collective collective,
                                    LossScaler scaler, CheckpointSync sync) throws IOException {
        Trainer.ensureDir(modelSaveDir);
        int rank = collective.rank();
        String name = Integer.toString(epoch);
        String stagingId = runId + "-" + step;
        CheckpointWriter w = null;
        Exception failure = null;
        try {
            w = CheckpointWriter.open(modelSaveDir, name, stagingId, true);
            stage(w, epoch, step, fc, backbone, optimizer, rank);
            sync.uploadPart(w.stagingDir(), w.stagedFiles(), name, stagingId);
        } catch (IOException | RuntimeException e) {
            failure = e;
            LOG.error("checkpoint {} (step {}): rank {} could not stage or upload its part: {}", epoch, step, rank,
                    e.toString());
        }
        int[] ok = new int[collective.worldSize()];
        collective.allGather(new int[] {failure == null ? 1 : 0}, ok);
        String remote = null;
        int[] failedCommit = {0};
        boolean allOk = java.util.Arrays.stream(ok).allMatch(v -> v == 1);
        if (rank == 0) {
            try {
                if (allOk) {
                    remote = sync.publishRemote(w, info(epoch, step, runId, config, fc, collective, scaler), name,
                            stagingId);
                } else {
                    sync.abortRemote(name, stagingId);
                }
            } catch (IOException | RuntimeException e) {
                failedCommit[0] = 1;
                failure = e;
                LOG.error("checkpoint {} (step {}): the remote commit failed: {}", epoch, step, e.toString());
                try {
                    sync.abortRemote(name, stagingId);
                } catch (IOException | RuntimeException again) {
                    e.addSuppressed(again);
                }
            }
        }
        collective.allReduce(failedCommit, org.plsc4j.core.collective.ReduceOp.MAX);
        if (w != null) {
            w.abort();
        }
        collective.barrier();
        if (!allOk) {
            java.util.List<Integer> failed = new java.util.ArrayList<>();
            for (int r = 0; r < ok.length; r++) {
                if (ok[r] != 1) {
                    failed.add(r);
                }
            }
            throw new CheckpointIoException("checkpoint " + epoch + " (step " + step + "): rank(s) " + failed
                    + " could not stage or upload their part to fs_dir_for_save " + config.fsDirForSave()
                    + (failure != null ? " (" + failure.getMessage() + ")" : "")
                    + "; nothing was committed, the previous checkpoints are as they were", failure);
        }
        if (failedCommit[0] != 0) {
            throw new CheckpointIoException("checkpoint " + epoch + " (step " + step + "): rank 0 could not commit it"
                    + " to fs_dir_for_save " + config.fsDirForSave() + (failure != null ? " (" + failure.getMessage()
                    + ")" : "") + "; nothing was committed, the previous checkpoints are as they were", failure);
        }
        return remote;
    }

    /** This rank's part of a checkpoint: its FC shard, and on rank 0 the backbone and the optimizer state. */
    private static void stage(CheckpointWriter w, int epoch, long step, PartialFc fc, Backbone backbone,
                              Optimizer optimizer, int rank) throws IOException {
        ClassLayout layout = fc.layout();
        int rows = layout.end(rank) - layout.start(rank);
        if (!FcStorage.allFinite(fc.weights(), 0, rows) || !FcStorage.allFinite(fc.momentum(), 0, rows)
                || (fc.bias() != null && !(Double.isFinite(fc.bias().sumNumber().doubleValue())
                        && Double.isFinite(fc.biasMomentum().sumNumber().doubleValue())))) {
            throw new IllegalStateException("checkpoint " + epoch + " (step " + step + "): rank " + rank
                    + " FC shard holds Inf/NaN (expected: finite values; the checkpoint is not written)");
        }
        if (!Trainer.allFinite(backbone.parameters()) || !Trainer.allFinite(backbone.state())) {
            throw new IllegalStateException("checkpoint " + epoch + " (step " + step + "): rank " + rank
                    + " backbone holds Inf/NaN (expected: finite values; the checkpoint is not written)");
        }
        w.writeFcShard(rank, layout.start(rank), layout.end(rank), fc.weights(), fc.momentum(), fc.bias(),
                fc.biasMomentum());
        if (rank == 0) {
            Map<String, INDArray> all = new LinkedHashMap<>(backbone.parameters());
            all.putAll(backbone.state());
            w.writeBackbone(all);
            if (optimizer != null && !optimizer.state().isEmpty()) {
                w.writeArrays(OPTIMIZER, optimizer.state());
            }
        }
    }

    /** What rank 0's commit records about the checkpoint. */
    private static ManifestInfo info(int epoch, long step, String runId, TrainConfig config, PartialFc fc,
                                     Collective collective, LossScaler scaler) {
        ObjectNode extra = JsonNodeFactory.instance.objectNode();
        extra.put("model_name", config.modelName());
        extra.put("run_id", runId);
        if (scaler != null) {
            ObjectNode ls = extra.putObject(LOSS_SCALING);
            ls.put("scale", scaler.scale());
            ls.put("good_steps", scaler.goodSteps());
            ls.put("bad_steps", scaler.badSteps());
            ls.put("skipped_steps", scaler.skippedSteps());
        }
        return new ManifestInfo(config.numClasses(), config.embSize(), collective.worldSize(), fc.layout().kind(), step,
                epoch, TrainConfigs.toTree(config), extra);
    }

    /** A checkpoint that ranks without a shared disk could not commit (nothing was). */
    public static final class CheckpointIoException extends IOException {
        private static final long serialVersionUID = 1L;

        CheckpointIoException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
