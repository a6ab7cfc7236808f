package org.plsc4j.checkpoint;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.plsc4j.core.ClassLayout;

/**
 * The contents of a checkpoint's {@code manifest.json} (format 1): what the checkpoint holds and how
 * to check it. Field names in JSON are snake_case and are a public contract (see the README).
 *
 * <p>Why the manifest carries the class layout and per-file checksums: a job with a different worker
 * count must find which shard files hold its class range without opening them, and must be able to
 * trust the few files it reads without hashing all the others.
 *
 * @param formatVersion always {@link #FORMAT_VERSION} for files this version writes
 * @param numClasses total classes C
 * @param embSize embedding size D (columns of every FC array)
 * @param worldSize ranks N the FC layer was sharded over when saved
 * @param layout "balanced" or "ceil" (see {@link ClassLayout.Kind})
 * @param shards one entry per rank, in rank order
 * @param backbone backbone parameter/state name → file (relative to the checkpoint directory)
 * @param arrays other array groups (e.g. optimizer state): sub-directory → (name → file)
 * @param files every data file with its size and sha256
 * @param step global training step at which the checkpoint was taken
 * @param epoch epoch at which the checkpoint was taken
 * @param config the trainer's configuration, as it passed it
 * @param provenance who wrote the checkpoint, when and with what
 * @param extra anything else the trainer wants to keep (may be null)
 */
@JsonPropertyOrder({"format_version", "num_classes", "emb_size", "world_size", "layout", "step", "epoch", "shards",
    "backbone", "arrays", "files", "config", "provenance", "extra", "fc_dtype"})
public record Manifest(
        @JsonProperty(value = "format_version", required = true) int formatVersion,
        @JsonProperty(value = "num_classes", required = true) int numClasses,
        @JsonProperty(value = "emb_size", required = true) int embSize,
        @JsonProperty(value = "world_size", required = true) int worldSize,
        @JsonProperty(value = "layout", required = true) String layout,
        @JsonProperty(value = "shards", required = true) List<Shard> shards,
        @JsonProperty(value = "backbone", required = true) Map<String, String> backbone,
        @JsonProperty(value = "arrays") Map<String, Map<String, String>> arrays,
        @JsonProperty(value = "files", required = true) List<FileEntry> files,
        @JsonProperty(value = "step", required = true) long step,
        @JsonProperty(value = "epoch", required = true) int epoch,
        @JsonProperty(value = "config", required = true) ObjectNode config,
        @JsonProperty(value = "provenance", required = true) Provenance provenance,
        @JsonProperty(value = "extra") @JsonInclude(JsonInclude.Include.NON_NULL) ObjectNode extra,
        @JsonProperty(value = "fc_dtype") @JsonInclude(JsonInclude.Include.NON_NULL) FcDtypes fcDtype) {

    /** The format this code writes and the only one it reads. */
    public static final int FORMAT_VERSION = 1;

    /** The manifest's file name inside a checkpoint directory. */
    public static final String FILE_NAME = "manifest.json";

    /** Copies the collections, maps sorted by key (a missing {@code arrays} becomes empty); the JSON nodes are kept as given. */
    public Manifest {
        shards = shards == null ? null : Collections.unmodifiableList(new ArrayList<>(shards));
        backbone = backbone == null ? null : Collections.unmodifiableMap(new TreeMap<>(backbone));
        if (arrays == null) {
            arrays = Map.of();
        } else {
            TreeMap<String, Map<String, String>> copy = new TreeMap<>();
            arrays.forEach((k, v) -> copy.put(k, v == null ? null : Collections.unmodifiableMap(new TreeMap<>(v))));
            arrays = Collections.unmodifiableMap(copy);
        }
        files = files == null ? null : Collections.unmodifiableList(new ArrayList<>(files));
    }

    /** The storage types of the FC files ({@code fc_dtype}; absent in checkpoints from before it: float32). */
    public FcDtypes fcDtypes() {
        return fcDtype == null ? FcDtypes.FLOAT32 : fcDtype;
    }

    /**
     * The storage type of the FC weights and momentum files: {@code float32} ({@code .npy} {@code <f4}),
     * {@code float16} ({@code <f2}) or {@code bfloat16} ({@code <u2}, the raw 16 bits: numpy has no
     * bfloat16; {@code np.uint32(a) << 16} viewed as float32 gives the values).
     *
     * @param weights the weights files' type
     * @param momentum the momentum files' type
     */
    @JsonPropertyOrder({"weights", "momentum"})
    public record FcDtypes(
            @JsonProperty(value = "weights", required = true) String weights,
            @JsonProperty(value = "momentum", required = true) String momentum) {

        /** What a manifest without {@code fc_dtype} means. */
        public static final FcDtypes FLOAT32 = new FcDtypes("float32", "float32");

        /** Validates the names. */
        public FcDtypes {
            org.plsc4j.core.FcDtype.parse("fc_dtype.weights", weights);
            org.plsc4j.core.FcDtype.parse("fc_dtype.momentum", momentum);
        }

        /** The weights' type. */
        public org.plsc4j.core.FcDtype weightsType() {
            return org.plsc4j.core.FcDtype.parse("fc_dtype.weights", weights);
        }

        /** The momentum's type. */
        public org.plsc4j.core.FcDtype momentumType() {
            return org.plsc4j.core.FcDtype.parse("fc_dtype.momentum", momentum);
        }
    }

    /** The class layout the FC shards were saved with. */
    public ClassLayout classLayout() {
        return ClassLayout.of(ClassLayout.Kind.parse(layout), numClasses, worldSize);
    }

    /** The entry of {@code path} in {@link #files()}, or null. */
    public FileEntry file(String path) {
        for (FileEntry f : files) {
            if (f.path().equals(path)) {
                return f;
            }
        }
        return null;
    }

    /**
     * One rank's FC shard.
     *
     * @param rank the rank that wrote it
     * @param classStart first class id (row 0 of both files)
     * @param classEnd one past the last class id
     * @param weights file of the [classEnd − classStart, D] float32 weights
     * @param momentum file of the momentum, same shape
     * @param bias file of the per-class bias, float32 [classEnd − classStart] (PLSC's plain softmax FC),
     *     absent for an FC without a bias and in checkpoints from before it
     * @param biasMomentum file of the bias' momentum, same shape, present with {@code bias}
     */
    @JsonPropertyOrder({"rank", "class_start", "class_end", "weights", "momentum", "bias", "bias_momentum"})
    public record Shard(
            @JsonProperty(value = "rank", required = true) int rank,
            @JsonProperty(value = "class_start", required = true) int classStart,
            @JsonProperty(value = "class_end", required = true) int classEnd,
            @JsonProperty(value = "weights", required = true) String weights,
            @JsonProperty(value = "momentum", required = true) String momentum,
            @JsonProperty("bias") @JsonInclude(JsonInclude.Include.NON_NULL) String bias,
            @JsonProperty("bias_momentum") @JsonInclude(JsonInclude.Include.NON_NULL) String biasMomentum) {

        /** A shard without a bias. */
        public Shard(int rank, int classStart, int classEnd, String weights, String momentum) {
            this(rank, classStart, classEnd, weights, momentum, null, null);
        }
    }

    /**
     * A data file of the checkpoint.
     *
     * @param path relative to the checkpoint directory, '/'-separated
     * @param bytes file size
     * @param sha256 lowercase hex SHA-256 of the whole file
     */
    @JsonPropertyOrder({"path", "bytes", "sha256"})
    public record FileEntry(
            @JsonProperty(value = "path", required = true) String path,
            @JsonProperty(value = "bytes", required = true) long bytes,
            @JsonProperty(value = "sha256", required = true) String sha256) {
    }

    /**
     * Who wrote the checkpoint and with what.
     *
     * @param plsc4jVersion plsc4j version
     * @param nd4jVersion ND4J version
     * @param javaVersion {@code java.version}
     * @param os OS name, version and architecture
     * @param createdAt ISO-8601 UTC time of the commit
     * @param worldSize ranks that wrote it
     * @param hostname host of rank 0
     */
    @JsonPropertyOrder({"plsc4j_version", "nd4j_version", "java_version", "os", "created_at", "world_size", "hostname"})
    public record Provenance(
            @JsonProperty(value = "plsc4j_version", required = true) String plsc4jVersion,
            @JsonProperty(value = "nd4j_version", required = true) String nd4jVersion,
            @JsonProperty(value = "java_version", required = true) String javaVersion,
            @JsonProperty(value = "os", required = true) String os,
            @JsonProperty(value = "created_at", required = true) String createdAt,
            @JsonProperty(value = "world_size", required = true) int worldSize,
            @JsonProperty(value = "hostname", required = true) String hostname) {
    }
}
