package org.plsc4j.core;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Every setting of a training job, with PLSC's snake_case names and defaults: what a YAML job file,
 * {@code --set key=value} and {@code org.plsc4j.Entry}'s setters all produce ({@link TrainConfigs}
 * parses and merges them, then this constructor validates).
 *
 * <p>Why one flat record: the names are a public contract shared by the YAML files, the CLI, the
 * checkpoint manifest ({@code config}) and PLSC users' habits, so they live in one place. Differences
 * from PLSC, on purpose:
 * <ul>
 *   <li>{@code train_batch_size} is the <em>global</em> batch over all workers (PLSC: per GPU), so the
 *       global batch — and the loss curve — do not depend on the worker count, also when an elastic
 *       job loses or gains a worker. PLSC's 8 GPUs × 128 is {@code train_batch_size: 1024} here, or
 *       {@code batch_size_per_worker: 128} (PLSC's meaning) with 8 workers, resolved once at job start
 *       ({@link TrainConfigs#withWorkers}).</li>
 *   <li>{@code train_image_num} defaults to the data set's size (PLSC: 5822653, MS1M); as in PLSC it
 *       sets the LR schedule's steps per epoch (the warmup length), and a mismatch is logged.</li>
 *   <li>{@code softmax}/{@code arcface} (PLSC: data parallel with a replicated FC) are computed exactly
 *       like their {@code dist_} forms here: the FC is always sharded, which gives the same numbers.</li>
 * </ul>
 */
@JsonPropertyOrder(alphabetic = false)
public record TrainConfig(
        @JsonProperty("train_batch_size") int trainBatchSize,
        @JsonProperty("test_batch_size") int testBatchSize,
        @JsonProperty("dataset_dir") String datasetDir,
        @JsonProperty("dataset_format") String datasetFormat,
        @JsonProperty("train_image_num") Integer trainImageNum,
        @JsonProperty("train_epochs") int trainEpochs,
        @JsonProperty("warmup_epochs") double warmupEpochs,
        @JsonProperty("lr") double lr,
        @JsonProperty("lr_steps") List<Long> lrSteps,
        @JsonProperty("scale_lr_by_batch") boolean scaleLrByBatch,
        @JsonProperty("momentum") double momentum,
        @JsonProperty("weight_decay") double weightDecay,
        @JsonProperty("fc_weight_decay") Double fcWeightDecay,
        @JsonProperty("val_targets") List<String> valTargets,
        @JsonProperty("with_test") boolean withTest,
        @JsonProperty("test_period") int testPeriod,
        @JsonProperty("model_name") String modelName,
        @JsonProperty("checkpoint_dir") String checkpointDir,
        @JsonProperty("model_save_dir") String modelSaveDir,
        @JsonProperty("loss_type") String lossType,
        @JsonProperty("margin") double margin,
        @JsonProperty("margin1") Double margin1,
        @JsonProperty("margin2") Double margin2,
        @JsonProperty("margin3") Double margin3,
        @JsonProperty("scale") double scale,
        @JsonProperty("emb_size") int embSize,
        @JsonProperty("num_classes") int numClasses,
        @JsonProperty("image_shape") List<Integer> imageShape,
        @JsonProperty("sample_ratio") double sampleRatio,
        @JsonProperty("calc_acc") boolean calcAcc,
        @JsonProperty("seed") long seed,
        @JsonProperty("layout") String layout,
        @JsonProperty("log_period") int logPeriod,
        @JsonProperty("skip_bad_samples") boolean skipBadSamples,
        @JsonProperty("use_fp16") boolean useFp16,
        @JsonProperty("init_loss_scaling") double initLossScaling,
        @JsonProperty("incr_every_n_steps") int incrEveryNSteps,
        @JsonProperty("decr_every_n_nan_or_inf") int decrEveryNNanOrInf,
        @JsonProperty("incr_ratio") double incrRatio,
        @JsonProperty("decr_ratio") double decrRatio,
        @JsonProperty("use_dynamic_loss_scaling") boolean useDynamicLossScaling,
        @JsonProperty("amp_lists") List<String> ampLists,
        @JsonProperty("fc_dtype") String fcDtype,
        @JsonProperty("fs_name") String fsName,
        @JsonProperty("fs_ugi") String fsUgi,
        @JsonProperty("fs_dir_for_save") String fsDirForSave,
        @JsonProperty("fs_checkpoint_dir") String fsCheckpointDir,
        @JsonProperty("hdfs_keep_last") Integer hdfsKeepLast,
        @JsonProperty("hdfs_principal") String hdfsPrincipal,
        @JsonProperty("hdfs_keytab") String hdfsKeytab,
        @JsonProperty("hdfs_conf") Map<String, String> hdfsConf,
        @JsonProperty("shard_store") String shardStore,
        @JsonProperty("shard_sync_steps") int shardSyncSteps,
        @JsonProperty("min_workers") Integer minWorkers,
        @JsonProperty("max_workers") Integer maxWorkers,
        @JsonProperty("max_restarts") int maxRestarts,
        @JsonProperty("zk_session_timeout_ms") int zkSessionTimeoutMs,
        @JsonProperty("rendezvous_timeout") int rendezvousTimeout,
        @JsonProperty("batch_size_per_worker") Integer batchSizePerWorker,
        @JsonProperty("fc_init_std") Double fcInitStd,
        @JsonProperty("micro_batch_size") Integer microBatchSize,
        @JsonProperty("allow_missing_rows") boolean allowMissingRows,
        @JsonProperty("shared_save_dir") boolean sharedSaveDir) {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(TrainConfig.class);

    /** PLSC's own spelling of ResNet50 in its defaults table ({@code model_name 'RestNet50'}). */
    public static final String PLSC_RESNET50_TYPO = "RestNet50";

    /** The shard stores {@code shard_store} names (elastic jobs keep FC rows there between generations). */
    public static final List<String> SHARD_STORES = List.of("local", "ignite");

    /**
     * The parts {@code amp_lists} may name: what is stored in {@code fc_dtype} when it is not float32
     * (null = all of them). Compute is float32 on the CPU backend.
     */
    public static final List<String> AMP_PARTS = List.of("fc_weights", "fc_momentum");

    /** The loss types {@code loss_type} accepts (each also with a {@code dist_} prefix). */
    public static final List<String> LOSS_TYPES = List.of("softmax", "arcface", "cosface", "combined", "cosine_softmax");

    /** Validates every field; messages name the key, the value and what was expected. */
    public TrainConfig {
        positive("train_batch_size", trainBatchSize);
        positive("test_batch_size", testBatchSize);
        nonEmpty("dataset_dir", datasetDir);
        oneOf("dataset_format", datasetFormat, List.of("label_txt", "base64"));
        if (trainImageNum != null) {
            positive("train_image_num", trainImageNum);
        }
        positive("train_epochs", trainEpochs);
        check(warmupEpochs >= 0 && Double.isFinite(warmupEpochs), "warmup_epochs", warmupEpochs, "a finite value >= 0");
        check(lr > 0 && Double.isFinite(lr), "lr", lr, "a finite value > 0");
        Objects.requireNonNull(lrSteps, "lr_steps");
        for (int i = 0; i < lrSteps.size(); i++) {
            Long s = lrSteps.get(i);
            if (s == null || s <= 0 || (i > 0 && s <= lrSteps.get(i - 1))) {
                throw new IllegalArgumentException("lr_steps : " + lrSteps
                        + " (expected: strictly increasing positive step numbers)");
            }
        }
        check(momentum >= 0 && momentum < 1, "momentum", momentum, "0 <= x < 1");
        check(weightDecay >= 0 && Double.isFinite(weightDecay), "weight_decay", weightDecay, "a finite value >= 0");
        if (fcWeightDecay != null) {
            check(fcWeightDecay >= 0 && Double.isFinite(fcWeightDecay), "fc_weight_decay", fcWeightDecay,
                    "a finite value >= 0, or null for weight_decay");
        }
        Objects.requireNonNull(valTargets, "val_targets");
        for (String t : valTargets) {
            if (t == null || t.isBlank() || t.contains("/") || t.contains("\\")) {
                throw new IllegalArgumentException("val_targets : " + valTargets
                        + " (expected: names of .bin files in dataset_dir, e.g. lfw,cfp_fp)");
            }
        }
        check(testPeriod >= 0, "test_period", testPeriod, ">= 0 steps, 0 = after each epoch only");
        nonEmpty("model_name", modelName);
        if (modelName.equals(PLSC_RESNET50_TYPO)) {
            LOG.warn("model_name : {} (PLSC's spelling in its defaults) is taken as ResNet50", modelName);
            modelName = "ResNet50";
        }
        Objects.requireNonNull(checkpointDir, "checkpoint_dir");
        nonEmpty("model_save_dir", modelSaveDir);
        String base = lossBase(lossType);
        if (!LOSS_TYPES.contains(base)) {
            throw new IllegalArgumentException("loss_type : " + lossType + " (expected: one of " + LOSS_TYPES
                    + ", optionally with the prefix dist_)");
        }
        if (base.equals("combined") && (margin1 == null || margin2 == null || margin3 == null)) {
            throw new IllegalArgumentException("loss_type : " + lossType
                    + " needs margin1, margin2 and margin3 (got " + margin1 + ", " + margin2 + ", " + margin3 + ")");
        }
        check(scale > 0 && scale <= MarginConfig.MAX_SCALE, "scale", scale, "0 < x <= " + MarginConfig.MAX_SCALE);
        positive("emb_size", embSize);
        positive("num_classes", numClasses);
        if (imageShape == null || imageShape.size() != 3 || imageShape.get(0) == null || imageShape.get(0) != 3
                || imageShape.get(1) == null || imageShape.get(1) < 8 || imageShape.get(2) == null
                || imageShape.get(2) < 8) {
            throw new IllegalArgumentException("image_shape : " + imageShape + " (expected: [3, H, W] with H, W >= 8)");
        }
        check(sampleRatio > 0 && sampleRatio <= 1, "sample_ratio", sampleRatio, "0 < x <= 1");
        ClassLayout.Kind.parse(layout);
        positive("log_period", logPeriod);
        check(initLossScaling > 0, "init_loss_scaling", initLossScaling, "> 0");
        positive("incr_every_n_steps", incrEveryNSteps);
        positive("decr_every_n_nan_or_inf", decrEveryNNanOrInf);
        check(incrRatio > 1, "incr_ratio", incrRatio, "> 1");
        check(decrRatio > 0 && decrRatio < 1, "decr_ratio", decrRatio, "0 < x < 1");
        // mixed precision: fc_dtype unset means float16 with use_fp16, else float32
        if (fcDtype != null && !fcDtype.isEmpty()) {
            fcDtype = FcDtype.parse("fc_dtype", fcDtype).key();
        } else {
            fcDtype = null;
        }
        if (ampLists != null) {
            for (String part : ampLists) {
                if (!AMP_PARTS.contains(part)) {
                    throw new IllegalArgumentException("amp_lists : " + ampLists + " (expected: null for all, or a"
                            + " list of " + AMP_PARTS + ")");
                }
            }
        }
        hdfsConf = validateHdfs(fsName, fsUgi, hdfsKeepLast, hdfsPrincipal, hdfsKeytab, hdfsConf);
        if (fsCheckpointDir != null && !fsCheckpointDir.isBlank() && checkpointDir.isEmpty()) {
            throw new IllegalArgumentException("checkpoint_dir : \"\" (expected: the local directory to download"
                    + " fs_checkpoint_dir = " + fsCheckpointDir + " into, as in PLSC)");
        }
        oneOf("shard_store", shardStore, SHARD_STORES);
        positive("shard_sync_steps", shardSyncSteps);
        if (minWorkers != null) {
            positive("min_workers", minWorkers);
        }
        if (maxWorkers != null) {
            check(maxWorkers >= (minWorkers == null ? 1 : minWorkers), "max_workers", maxWorkers,
                    ">= min_workers = " + (minWorkers == null ? 1 : minWorkers));
        }
        check(maxRestarts >= 0, "max_restarts", maxRestarts, ">= 0");
        check(zkSessionTimeoutMs >= 1000, "zk_session_timeout_ms", zkSessionTimeoutMs, ">= 1000");
        positive("rendezvous_timeout", rendezvousTimeout);
        if (batchSizePerWorker != null) {
            positive("batch_size_per_worker", batchSizePerWorker);
        }
        if (fcInitStd != null) {
            check(fcInitStd > 0 && Double.isFinite(fcInitStd), "fc_init_std", fcInitStd,
                    "a finite value > 0, or null for PLSC's sqrt(2 / (emb_size + num_classes))");
        }
        if (base.equals("softmax") && sampleRatio != 1.0) {
            throw new IllegalArgumentException("sample_ratio : " + sampleRatio + " with loss_type " + lossType
                    + " (expected: 1.0; PLSC's softmax is a plain FC x·W + b, never sampled; use cosine_softmax or a"
                    + " margin loss for Partial FC)");
        }
        if (microBatchSize != null) {
            positive("micro_batch_size", microBatchSize);
        }
        if (!sharedSaveDir && (fsDirForSave == null || fsDirForSave.isBlank())) {
            throw new IllegalArgumentException("shared_save_dir : false (expected: fs_dir_for_save set too: ranks that"
                    + " do not share model_save_dir commit checkpoints through fs_dir_for_save, a Hadoop file system"
                    + " every rank reaches)");
        }
        lrSteps = List.copyOf(lrSteps);
        valTargets = List.copyOf(valTargets);
        imageShape = List.copyOf(imageShape);
        ampLists = ampLists == null ? null : List.copyOf(ampLists);
    }

    /** Whether epoch checkpoints are uploaded ({@code fs_dir_for_save} set). */
    public boolean hdfsUpload() {
        return fsDirForSave != null && !fsDirForSave.isBlank();
    }

    /** Whether the warm start is downloaded first ({@code fs_checkpoint_dir} and {@code checkpoint_dir} set). */
    public boolean hdfsDownload() {
        return fsCheckpointDir != null && !fsCheckpointDir.isBlank() && !checkpointDir.isEmpty();
    }

    /**
     * The fs/hdfs block (PLSC's fs_name, fs_ugi, fs_dir_for_save, fs_checkpoint_dir and plsc4j's hdfs_*):
     * fs_ugi is "user,password"; principal and keytab come together and the keytab must exist;
     * hdfs_conf passes only Hadoop's own keys through. Returns hdfs_conf as an unmodifiable map.
     */
    private static Map<String, String> validateHdfs(String fsName, String fsUgi, Integer keepLast, String principal,
                                                    String keytab, Map<String, String> conf) {
        if (fsName != null && !fsName.isBlank() && !fsName.matches("[A-Za-z][A-Za-z0-9+.-]*:.*")) {
            throw new IllegalArgumentException("fs_name : " + fsName
                    + " (expected: a file system URI such as hdfs://namenode:9000 or file:///; null = file:///)");
        }
        if (fsUgi != null && !fsUgi.isEmpty()) {
            int comma = fsUgi.indexOf(',');
            if (comma <= 0 || fsUgi.indexOf(',', comma + 1) >= 0) {
                throw new IllegalArgumentException("fs_ugi : " + fsUgi.replaceAll(",.*", ",***")
                        + " (expected: \"user,password\" as in PLSC)");
            }
        }
        if (keepLast != null) {
            check(keepLast >= 0, "hdfs_keep_last", keepLast, ">= 0; null or 0 = keep every uploaded checkpoint");
        }
        boolean hasPrincipal = principal != null && !principal.isBlank();
        boolean hasKeytab = keytab != null && !keytab.isBlank();
        if (hasPrincipal != hasKeytab) {
            throw new IllegalArgumentException((hasPrincipal ? "hdfs_keytab : " + keytab : "hdfs_principal : " + principal)
                    + " (expected: hdfs_principal and hdfs_keytab both set, or neither)");
        }
        if (hasKeytab && !java.nio.file.Files.isRegularFile(java.nio.file.Path.of(keytab))) {
            throw new IllegalArgumentException("hdfs_keytab : " + keytab + " (expected: an existing keytab file)");
        }
        if (conf == null) {
            return Map.of();
        }
        for (Map.Entry<String, String> e : conf.entrySet()) {
            String k = e.getKey();
            if (k == null || !(k.startsWith("hadoop.") || k.startsWith("dfs.") || k.startsWith("fs."))) {
                throw new IllegalArgumentException("hdfs_conf : " + k
                        + " (expected: a Hadoop key starting with hadoop., dfs. or fs.)");
            }
            if (e.getValue() == null) {
                throw new IllegalArgumentException("hdfs_conf." + k + " : null (expected: a value)");
            }
        }
        return Collections.unmodifiableMap(new TreeMap<>(conf));
    }

    /**
     * The margin of the loss type: cosine_softmax (1, 0, 0), arcface (1, margin, 0), cosface (1, 0, margin),
     * combined (m1, m2, m3), all with {@code scale}; softmax has neither margin nor scale (1, 0, 0, s = 1):
     * PLSC's plain {@code x·W + b} ({@link #fcHead()}).
     */
    public MarginConfig marginConfig() {
        return switch (lossBase(lossType)) {
            case "softmax" -> MarginConfig.softmax(1);
            case "cosine_softmax" -> MarginConfig.softmax(scale);
            case "arcface" -> MarginConfig.arcface(margin, scale);
            case "cosface" -> MarginConfig.cosface(margin, scale);
            default -> MarginConfig.combined(margin1, margin2, margin3, scale);
        };
    }

    /** The FC storage type: {@code fc_dtype}, or float16 when unset and {@code use_fp16}, else float32. */
    public FcDtype fcStorageDtype() {
        if (fcDtype != null) {
            return FcDtype.parse("fc_dtype", fcDtype);
        }
        return useFp16 ? FcDtype.FLOAT16 : FcDtype.FLOAT32;
    }

    /** The FC weights' storage type: {@link #fcStorageDtype()} unless amp_lists leaves fc_weights out. */
    public FcDtype fcWeightsDtype() {
        return ampLists == null || ampLists.contains("fc_weights") ? fcStorageDtype() : FcDtype.FLOAT32;
    }

    /** The FC momentum's storage type: {@link #fcStorageDtype()} unless amp_lists leaves fc_momentum out. */
    public FcDtype fcMomentumDtype() {
        return ampLists == null || ampLists.contains("fc_momentum") ? fcStorageDtype() : FcDtype.FLOAT32;
    }

    /** Whether the loss is scaled (PLSC: with use_fp16); dynamically when use_dynamic_loss_scaling too. */
    public boolean lossScaling() {
        return useFp16;
    }

    /** The class layout kind. */
    public ClassLayout.Kind layoutKind() {
        return ClassLayout.Kind.parse(layout);
    }

    /**
     * The FC layer's configuration for {@code numClasses} × {@code embSize} with this job's loss,
     * sampling, layout, seed, momentum and weight decay.
     */
    public FcConfig fcConfig() {
        return new FcConfig(numClasses, embSize, marginConfig(), sampleRatio, layoutKind(), seed, momentum,
                fcWeightDecay != null ? fcWeightDecay : weightDecay, fcHead(),
                fcInitStd != null ? fcInitStd : FcConfig.plscInitStd(embSize, numClasses));
    }

    /** PLSC's softmax / dist_softmax: a plain FC with a bias; every other loss: cosine logits with a margin. */
    public FcHead fcHead() {
        return lossBase(lossType).equals("softmax") ? FcHead.LINEAR_BIAS : FcHead.COSINE_MARGIN;
    }

    /**
     * The global batch when {@code workers} workers train: {@code batch_size_per_worker × workers} when
     * that PLSC-style key is set, else {@code train_batch_size} (already global).
     */
    public int globalBatchSize(int workers) {
        if (workers < 1) {
            throw new IllegalArgumentException("workers : " + workers + " (expected: >= 1)");
        }
        return batchSizePerWorker != null ? Math.multiplyExact(batchSizePerWorker, workers) : trainBatchSize;
    }

    /** The learning rate at step 0 of the decay schedule: {@code lr · train_batch_size / 1024} when scale_lr_by_batch. */
    public double baseLr() {
        return scaleLrByBatch ? lr * trainBatchSize / 1024.0 : lr;
    }

    /** Image height. */
    public int imageHeight() {
        return imageShape.get(1);
    }

    /** Image width. */
    public int imageWidth() {
        return imageShape.get(2);
    }

    private static String lossBase(String lossType) {
        if (lossType == null) {
            throw new IllegalArgumentException("loss_type : null (expected: one of " + LOSS_TYPES + ")");
        }
        String t = lossType.toLowerCase(Locale.ROOT);
        return t.startsWith("dist_") ? t.substring(5) : t;
    }

    private static void positive(String key, long v) {
        check(v > 0, key, v, "> 0");
    }

    private static void nonEmpty(String key, String v) {
        if (v == null || v.isBlank()) {
            throw new IllegalArgumentException(key + " : \"" + (v == null ? "" : v) + "\" (expected: a non-empty value)");
        }
    }

    private static void oneOf(String key, String v, List<String> allowed) {
        if (!allowed.contains(v)) {
            throw new IllegalArgumentException(key + " : " + v + " (expected: one of " + allowed + ")");
        }
    }

    private static void check(boolean ok, String key, Object value, String expected) {
        if (!ok) {
            throw new IllegalArgumentException(key + " : " + value + " (expected: " + expected + ")");
        }
    }
}
