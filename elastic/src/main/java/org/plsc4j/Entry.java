package org.plsc4j;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.plsc4j.core.TrainConfig;
import org.plsc4j.core.TrainConfigs;
import org.plsc4j.elastic.ExportFormat;
import org.plsc4j.elastic.Jobs;
import org.plsc4j.elastic.LocalLauncher;
import org.plsc4j.worker.BaseModel;
import org.plsc4j.worker.MetricsLog;
import org.plsc4j.worker.Optimizer;

/**
 * The Java face of PLSC's {@code plsc.Entry}: set what differs from PLSC's defaults, then
 * {@link #train()}, {@link #test()} or {@link #convertForPrediction()}.
 * <pre>{@code
 * Entry ins = new Entry();
 * ins.setDatasetDir("/data/faces").setLossType("dist_arcface").setClassNum(85742).setWorkers(2);
 * ins.train();
 * }</pre>
 *
 * <p>Why setters over a map: every setter writes the YAML key of the same name
 * ({@link TrainConfigs}), so a job built here and a job file mean the same thing, and
 * {@link #config()} validates both the same way (errors name the key). Setters return {@code this}.
 * plsc4j additions: {@link #setWorkers(int)} (local worker processes), {@link #setSeed(long)},
 * {@link #set(String, Object)} for any key.
 */
public final class Entry {

    private final Map<String, Object> values = new LinkedHashMap<>();
    private BaseModel model;
    private Optimizer optimizer;
    private int workers = 1;

    /** Sets any job key (snake_case, as in the YAML file). */
    public Entry set(String key, Object value) {
        values.put(key, value);
        return this;
    }

    /**
     * train_batch_size: the global batch over all workers (PLSC: per GPU, see
     * {@link #setBatchSizePerWorker(int)}). The base rate is PLSC's {@code lr · global batch / 1024}.
     */
    public Entry setTrainBatchSize(int size) {
        return set("train_batch_size", size);
    }

    /**
     * batch_size_per_worker: PLSC's {@code set_train_batch_size} meaning, a batch per worker; the global
     * batch is this × the worker count ({@link #setWorkers(int)}), so a PLSC job of 8 GPUs × 128 is
     * {@code setBatchSizePerWorker(128).setWorkers(8)} and trains PLSC's schedule (base rate
     * {@code lr · 1024 / 1024}).
     */
    public Entry setBatchSizePerWorker(int size) {
        return set("batch_size_per_worker", size);
    }

    /** test_batch_size. */
    public Entry setTestBatchSize(int size) {
        return set("test_batch_size", size);
    }

    /** dataset_dir. */
    public Entry setDatasetDir(String dir) {
        return set("dataset_dir", dir);
    }

    /** dataset_format: label_txt or base64. */
    public Entry setDatasetFormat(String format) {
        return set("dataset_format", format);
    }

    /**
     * train_image_num: as in PLSC, the images per epoch the LR schedule counts (steps per epoch
     * {@code ceil(train_image_num / global batch)}, hence the warmup length); a value other than the data
     * set's size is logged, and an epoch still reads the whole data set.
     */
    public Entry setTrainImageNum(int num) {
        return set("train_image_num", num);
    }

    /** train_epochs. */
    public Entry setTrainEpochs(int num) {
        return set("train_epochs", num);
    }

    /** warmup_epochs: the rate grows linearly from lr to the scaled base rate over this many epochs (PLSC). */
    public Entry setWarmupEpochs(double num) {
        return set("warmup_epochs", num);
    }

    /** lr. */
    public Entry setLr(double lr) {
        return set("lr", lr);
    }

    /** lr_steps: optimizer steps, counted from 0 and including the warmup, where the rate is multiplied by 0.1. */
    public Entry setLrSteps(long... steps) {
        List<Long> l = new ArrayList<>();
        for (long s : steps) {
            l.add(s);
        }
        return set("lr_steps", l);
    }

    /** val_targets, comma separated as PLSC has it ("lfw,cfp_fp"). */
    public Entry setValTargets(String targets) {
        return set("val_targets", targets);
    }

    /** with_test. */
    public Entry setWithTest(boolean withTest) {
        return set("with_test", withTest);
    }

    /** test_period (steps; 0 = after each epoch). */
    public Entry setTestPeriod(int steps) {
        return set("test_period", steps);
    }

    /** log_period (steps between metrics lines). */
    public Entry setLogPeriod(int steps) {
        return set("log_period", steps);
    }

    /** model_save_dir. */
    public Entry setModelSaveDir(String dir) {
        return set("model_save_dir", dir);
    }

    /** checkpoint_dir: a checkpoint to warm start (train) or evaluate (test) from. */
    public Entry setCheckpointDir(String dir) {
        return set("checkpoint_dir", dir);
    }

    /**
     * loss_type: {@code softmax} / {@code dist_softmax} are PLSC's plain FC {@code x·W + b} with softmax (a
     * per-class bias, no normalisation, no scale), {@code arcface}, {@code cosface}, {@code combined} the
     * margin losses on scaled cosines, {@code cosine_softmax} the normalised softmax (scale, no margin).
     */
    public Entry setLossType(String lossType) {
        return set("loss_type", lossType);
    }

    /** The combined margin cos(m1·θ + m2) − m3 (loss_type combined with margin1..3). */
    public Entry setLossType(double m1, double m2, double m3) {
        set("loss_type", "dist_combined");
        set("margin1", m1);
        set("margin2", m2);
        return set("margin3", m3);
    }

    /** margin (ArcFace m2, CosFace m3). */
    public Entry setMargin(double margin) {
        return set("margin", margin);
    }

    /** scale s. */
    public Entry setScale(double scale) {
        return set("scale", scale);
    }

    /** emb_size. */
    public Entry setEmbSize(int size) {
        return set("emb_size", size);
    }

    /** num_classes. */
    public Entry setClassNum(int num) {
        return set("num_classes", num);
    }

    /** image_shape [3, H, W]. */
    public Entry setImageShape(int... shape) {
        return set("image_shape", Arrays.stream(shape).boxed().toList());
    }

    /** sample_ratio (Partial FC), 0 < r <= 1. */
    public Entry setSampleRatio(double ratio) {
        return set("sample_ratio", ratio);
    }

    /** calc_acc: log acc1/acc5 over the sharded logits. */
    public Entry setCalcAcc(boolean calc) {
        return set("calc_acc", calc);
    }

    /** seed of data order, initialisation and sampling. */
    public Entry setSeed(long seed) {
        return set("seed", seed);
    }

    /**
     * A custom backbone (PLSC's {@code set_model}). With more than one worker its class must have a
     * public no-argument constructor: each worker process creates its own instance.
     */
    public Entry setModel(BaseModel model) {
        this.model = model;
        return this;
    }

    /**
     * A custom optimizer (PLSC's {@code set_optimizer}); the same rule as {@link #setModel} with workers.
     * Unlike PLSC, where it updates every parameter, it updates the backbone only: the sharded FC keeps
     * PLSC's default momentum SGD ({@code momentum}, {@code weight_decay} or {@code fc_weight_decay}) with the
     * job's LR schedule (the FC update is fused into the sharded step).
     */
    public Entry setOptimizer(Optimizer optimizer) {
        this.optimizer = optimizer;
        return this;
    }

    /**
     * PLSC's {@code set_mixed_precision}: with {@code useFp16} the loss is scaled (dynamically, Paddle's
     * rules, unless {@code useDynamicLossScaling} is false) and the FC shards are stored in float16
     * unless {@link #setFcDtype} says otherwise; compute stays float32 on the CPU backend.
     * {@code ampLists} names the parts stored in low precision ({@code fc_weights}, {@code fc_momentum};
     * null for both). See README "Mixed precision".
     */
    public Entry setMixedPrecision(boolean useFp16, double initLossScaling, int incrEveryNSteps,
                                   int decrEveryNNanOrInf, double incrRatio, double decrRatio,
                                   boolean useDynamicLossScaling, List<String> ampLists) {
        set("use_fp16", useFp16);
        set("init_loss_scaling", initLossScaling);
        set("incr_every_n_steps", incrEveryNSteps);
        set("decr_every_n_nan_or_inf", decrEveryNNanOrInf);
        set("incr_ratio", incrRatio);
        set("decr_ratio", decrRatio);
        set("use_dynamic_loss_scaling", useDynamicLossScaling);
        return set("amp_lists", ampLists);
    }

    /**
     * The FC shards' storage type ({@code fc_dtype}): float32, float16 or bfloat16 (plsc4j's own key:
     * half storage doubles the classes that fit in memory; bfloat16 needs no loss scaling).
     */
    public Entry setFcDtype(String fcDtype) {
        return set("fc_dtype", fcDtype);
    }

    /** PLSC's {@code set_mixed_precision(use_fp16)} with PLSC's defaults for the rest. */
    public Entry setMixedPrecision(boolean useFp16) {
        return setMixedPrecision(useFp16, 1.0, 2000, 2, 2.0, 0.5, true, null);
    }

    /**
     * PLSC's {@code set_hdfs_info}: {@code fs_name}, {@code fs_ugi} ("user,password"), {@code fs_dir_for_save}
     * (every epoch's checkpoint is uploaded there) and {@code fs_checkpoint_dir} (downloaded into
     * checkpoint_dir before the warm start). See README "HDFS checkpoint sync".
     */
    public Entry setHdfsInfo(String fsName, String fsUgi, String fsDirForSave, String fsCheckpointDir) {
        set("fs_name", fsName);
        set("fs_ugi", fsUgi);
        set("fs_dir_for_save", fsDirForSave);
        return set("fs_checkpoint_dir", fsCheckpointDir);
    }

    /**
     * PLSC's {@code set_distfc_attr(param_attr, bias_attr)}, the regularizer part: the FC's L2 weight decay
     * ({@code fc_weight_decay}; the bias of loss_type softmax takes the same, as one Paddle L2Decay would).
     */
    public Entry setDistfcAttr(double fcWeightDecay) {
        return set("fc_weight_decay", fcWeightDecay);
    }

    /**
     * PLSC's {@code set_distfc_attr(param_attr, bias_attr)} with the initializer too: the FC weights start
     * from {@code Normal(0, initStd²)} ({@code fc_init_std}; default PLSC's {@code sqrt(2 / (emb_size +
     * num_classes))}), seeded per class id so the model does not depend on the worker count, and decay with
     * {@code fcWeightDecay}. The bias (loss_type softmax) starts at 0, Paddle's default bias initializer.
     */
    public Entry setDistfcAttr(double initStd, double fcWeightDecay) {
        set("fc_init_std", initStd);
        return set("fc_weight_decay", fcWeightDecay);
    }

    /** Local worker processes (plsc4j; 1 trains in this JVM). */
    public Entry setWorkers(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("workers : " + n + " (expected: >= 1)");
        }
        this.workers = n;
        return this;
    }

    /** The validated configuration these settings give. */
    public TrainConfig config() {
        return TrainConfigs.bind(TrainConfigs.merged(values), "Entry");
    }

    /** Trains: in this JVM with one worker, else with {@link LocalLauncher} processes. */
    public void train() throws IOException, InterruptedException {
        TrainConfig cfg = config();
        if (workers == 1) {
            Jobs.trainInProcess(cfg, model, optimizer);
        } else {
            LocalLauncher.train(cfg, workers, className(model, "setModel"), className(optimizer, "setOptimizer"));
        }
    }

    /** Evaluates {@code checkpoint_dir} (a checkpoint or an exported model) on {@code val_targets}. */
    public Map<String, MetricsLog.EvalResult> test() throws IOException {
        return Jobs.test(config(), model);
    }

    /** Writes the inference model of {@code checkpoint_dir} into {@code model_save_dir/inference}. */
    public Path convertForPrediction() throws IOException {
        TrainConfig cfg = config();
        return Jobs.export(Path.of(cfg.checkpointDir()), Path.of(cfg.modelSaveDir()).resolve("inference"), model);
    }

    /**
     * As {@link #convertForPrediction()} in {@code format} ({@code "samediff"} or {@code "onnx"}; ONNX
     * adds {@code model.onnx} for ONNX Runtime and the other ONNX consumers).
     *
     * @throws org.plsc4j.worker.OnnxExportException naming the first op of a custom model without an
     *     ONNX mapping
     */
    public Path convertForPrediction(String format) throws IOException {
        ExportFormat f = ExportFormat.parse(format);
        TrainConfig cfg = config();
        return Jobs.export(Path.of(cfg.checkpointDir()), Path.of(cfg.modelSaveDir()).resolve("inference"), model, f);
    }

    private static String className(Object o, String setter) {
        if (o == null) {
            return null;
        }
        try {
            o.getClass().getConstructor();
        } catch (NoSuchMethodException e) {
            throw new IllegalArgumentException(setter + " : " + o.getClass().getName() + " (expected with workers > 1:"
                    + " a public class with a public no-argument constructor, instantiated in every worker)", e);
        }
        return o.getClass().getName();
    }
}
