package org.plsc4j.elastic;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Comparator;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.plsc4j.checkpoint.Checkpoint;
import org.plsc4j.core.TrainConfig;
import org.plsc4j.core.TrainConfigs;
import org.plsc4j.core.collective.Collective;
import org.plsc4j.core.collective.CollectiveConfig;
import org.plsc4j.core.collective.Collectives;
import org.plsc4j.data.ImageShape;
import org.plsc4j.worker.Backbone;
import org.plsc4j.worker.BackboneConfig;
import org.plsc4j.worker.Backbones;
import org.plsc4j.worker.BaseModel;
import org.plsc4j.elastic.internal.HdfsCheckpointSync;
import org.plsc4j.worker.CheckpointIo;
import org.plsc4j.worker.CheckpointSync;
import org.plsc4j.worker.Evaluator;
import org.plsc4j.worker.InferenceModel;
import org.plsc4j.worker.MetricsLog;
import org.plsc4j.worker.OnnxExport;
import org.plsc4j.worker.Optimizer;
import org.plsc4j.worker.Trainer;

/**
 * The three things a user does with a job — train in this JVM, test, export — shared by
 * {@code org.plsc4j.Entry} and the CLI.
 *
 * <p>Exported model directory (a public layout, what {@code test} and the server load):
 * {@code model.json} (format_version, model_name, emb_size, image_shape, normalization, the source
 * checkpoint's epoch/step and path, {@code formats}, and for ONNX exports an {@code onnx} object:
 * file, opset, input/output names and shapes, whether normalisation is folded in) beside the inference
 * graph written by {@link InferenceModel#save(Path)} and, with {@link ExportFormat#ONNX}, {@code model.onnx}. It is written to a temporary sibling and renamed when complete.
 */
public final class Jobs {

    /** Metadata file of an exported model. */
    public static final String MODEL_JSON = "model.json";

    private static final ObjectMapper JSON = new ObjectMapper();

    private Jobs() {
    }

    /** Trains with one rank in this JVM. */
    public static Trainer.Summary trainInProcess(TrainConfig job, BaseModel model, Optimizer optimizer)
            throws IOException {
        TrainConfig config = TrainConfigs.withWorkers(job, 1);
        String runId = "local-" + UUID.randomUUID();
        CollectiveConfig cc = CollectiveConfig.builder().jobId(runId).worldSize(1).timeout(Duration.ofHours(1)).build();
        try (Collective c = Collectives.join("inprocess", cc);
             CheckpointSync sync = HdfsCheckpointSync.forConfig(config)) {
            return new Trainer(config, c, model, optimizer, runId).checkpointSync(sync).train();
        }
    }

    /**
     * Writes the inference model of the checkpoint at {@code checkpointDir} (or the newest under a
     * model_save_dir) to {@code out}.
     *
     * @throws IllegalArgumentException naming {@code out} when it exists and is not an exported model
     */
    public static Path export(Path checkpointDir, Path out, BaseModel model) throws IOException {
        return export(checkpointDir, out, model, ExportFormat.SAMEDIFF);
    }

    /**
     * As {@link #export(Path, Path, BaseModel)}, adding {@code model.onnx} for {@link ExportFormat#ONNX}
     * (the SameDiff files are always written: {@code plsc4j test} and the SameDiff serving engine read
     * them).
     *
     * @throws org.plsc4j.worker.OnnxExportException naming the first op without an ONNX mapping
     *     (nothing is written then)
     */
    public static Path export(Path checkpointDir, Path out, BaseModel model, ExportFormat format) throws IOException {
        Checkpoint ck = CheckpointIo.resolve(checkpointDir);
        TrainConfig cfg = TrainConfigs.fromSaved(ck.config(), ck.dir().resolve("manifest.json").toString());
        Backbone backbone = backbone(cfg, model);
        backbone.load(ck.readBackbone());
        if (Files.exists(out) && !Files.isRegularFile(out.resolve(MODEL_JSON))) {
            throw new IllegalArgumentException("out : " + out + " (exists and is not an exported model; not overwritten)");
        }
        Path parent = out.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        Path tmp = parent.resolve("." + out.getFileName() + ".tmp-" + UUID.randomUUID());
        try {
            backbone.inference().save(tmp);
            if (format == ExportFormat.ONNX) {
                OnnxExport.write(backbone.inference(), tmp);
            }
            ObjectNode meta = JSON.createObjectNode();
            meta.put("format_version", 1);
            meta.put("model_name", model != null ? model.getClass().getName() : cfg.modelName());
            meta.put("emb_size", cfg.embSize());
            meta.putPOJO("image_shape", cfg.imageShape());
            meta.put("normalization", "(x - 127.5) / 128, RGB, CHW");
            meta.put("checkpoint", ck.dir().toAbsolutePath().toString());
            meta.put("epoch", ck.epoch());
            meta.put("step", ck.step());
            ArrayNode formats = meta.putArray("formats").add("samediff");
            if (format == ExportFormat.ONNX) {
                formats.add("onnx");
                onnxMeta(meta.putObject("onnx"), cfg);
            }
            JSON.writerWithDefaultPrettyPrinter().writeValue(tmp.resolve(MODEL_JSON).toFile(), meta);
            if (Files.exists(out)) {
                deleteTree(out);
            }
            Files.move(tmp, out, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            if (Files.exists(tmp)) {
                deleteTree(tmp);
            }
        }
        return out;
    }

    private static void onnxMeta(ObjectNode o, TrainConfig cfg) {
        o.put("file", OnnxExport.ONNX_FILE);
        o.put("opset", OnnxExport.OPSET);
        o.put("input", "input");
        o.putArray("input_shape").add("batch").add(3).add(cfg.imageHeight()).add(cfg.imageWidth());
        o.put("input_type", "float32");
        o.put("output", "embedding");
        o.putArray("output_shape").add("batch").add(cfg.embSize());
        o.put("normalization_folded", false);
        o.put("batch_norm", "folded into Mul/Add from the running statistics");
    }

    /**
     * Evaluates {@code checkpoint_dir} — an exported model or a checkpoint — on {@code val_targets}
     * from {@code dataset_dir}.
     */
    public static Map<String, MetricsLog.EvalResult> test(TrainConfig config, BaseModel model) throws IOException {
        if (config.checkpointDir().isEmpty()) {
            throw new IllegalArgumentException("checkpoint_dir : \"\" (expected: a checkpoint or an exported model to test)");
        }
        Path dir = Path.of(config.checkpointDir());
        InferenceModel inference;
        ImageShape shape;
        if (Files.isRegularFile(dir.resolve(MODEL_JSON))) {
            ObjectNode meta = (ObjectNode) JSON.readTree(dir.resolve(MODEL_JSON).toFile());
            inference = Backbones.loadInference(dir);
            var s = meta.get("image_shape");
            shape = new ImageShape(s.get(0).asInt(), s.get(1).asInt(), s.get(2).asInt());
        } else {
            Checkpoint ck = CheckpointIo.resolve(dir);
            TrainConfig cfg = TrainConfigs.fromSaved(ck.config(), ck.dir().resolve("manifest.json").toString());
            Backbone backbone = backbone(cfg, model);
            backbone.load(ck.readBackbone());
            inference = backbone.inference();
            shape = new ImageShape(3, cfg.imageHeight(), cfg.imageWidth());
        }
        return Evaluator.open(config, shape).evaluate(inference);
    }

    private static Backbone backbone(TrainConfig cfg, BaseModel model) {
        BackboneConfig bc = BackboneConfig.of(cfg.embSize(), 3, cfg.imageHeight(), cfg.imageWidth(), cfg.seed());
        return model != null ? Backbones.create(model, bc) : Backbones.create(cfg.modelName(), bc);
    }

    private static void deleteTree(Path p) throws IOException {
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(q);
            }
        }
    }
}
