package org.plsc4j.checkpoint;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.plsc4j.checkpoint.internal.ArrayNames;
import org.plsc4j.checkpoint.internal.Durable;
import org.plsc4j.checkpoint.internal.Json;
import org.plsc4j.checkpoint.internal.ManifestValidator;
import org.plsc4j.checkpoint.internal.Sha256;
import org.plsc4j.checkpoint.internal.Sidecar;
import org.plsc4j.checkpoint.internal.Versions;
import org.plsc4j.core.ClassLayout;
import org.plsc4j.core.io.Npy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes one checkpoint from N rank processes that share a file system, so that it becomes visible
 * only when complete.
 *
 * <p>Why this protocol: every rank holds its own FC shard (GiBs at a million classes) and must write it
 * in parallel, but a reader must never see a checkpoint with a shard missing or half written. So all
 * ranks write into one hidden staging directory {@code <parent>/.<name>.tmp-<stagingId>}; each rank
 * leaves a small sidecar with its files' sizes and sha256 (hashed while writing, never read back);
 * after the trainer's barrier, rank 0 {@link #commit commits}: it checks that every rank's sidecar is
 * there and matches the class layout, writes {@code manifest.json} last, fsyncs, and renames the
 * staging directory to {@code <parent>/<name>} atomically. A crash at any point leaves either nothing
 * visible or the complete checkpoint; leftovers are removed by {@link Checkpoints#cleanStaging}.
 *
 * <p>Usage: every rank calls {@link #open} with the same (parent, name, stagingId) — the stagingId
 * must be unique to this attempt (job id + step, say) — then {@link #writeFcShard}. Rank 0 also calls
 * {@link #writeBackbone} and {@link #writeArrays}, then, after a barrier, {@link #commit} on the same
 * instance, or {@link #abort} on failure. Instances are not thread-safe.
 */
public final class CheckpointWriter {

    private static final Logger LOG = LoggerFactory.getLogger(CheckpointWriter.class);
    private static final Pattern SAFE_NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]*");
    private static final Pattern SIDECAR = Pattern.compile("rank-([0-9]{5,9})\\.json");

    private final Path parent;
    private final String name;
    private final String stagingId;
    private final Path staging;
    private final Path target;
    private final boolean replaceExisting;
    private final Map<String, String> backbone = new TreeMap<>();
    private final Map<String, Map<String, String>> arrays = new TreeMap<>();
    private final List<Manifest.FileEntry> files = new ArrayList<>();
    private boolean backboneWritten;
    private boolean done;

    private CheckpointWriter(Path parent, String name, String stagingId, boolean replaceExisting) {
        this.parent = parent;
        this.name = name;
        this.stagingId = stagingId;
        this.staging = parent.resolve(Checkpoints.stagingName(name, stagingId));
        this.target = parent.resolve(name);
        this.replaceExisting = replaceExisting;
    }

    /** {@link #open(Path, String, String, boolean)} that refuses to replace an existing checkpoint. */
    public static CheckpointWriter open(Path parent, String name, String stagingId) throws IOException {
        return open(parent, name, stagingId, false);
    }

    /**
     * Opens (creating if needed: every rank calls this) the staging directory of checkpoint
     * {@code <parent>/<name>}. Fails naming the target if it already exists, unless
     * {@code replaceExisting}: then the old checkpoint is moved aside at commit and deleted only after
     * the new one is in place.
     */
    public static CheckpointWriter open(Path parent, String name, String stagingId, boolean replaceExisting)
            throws IOException {
        Objects.requireNonNull(parent, "parent");
        checkName(name, "name");
        checkName(stagingId, "staging_id");
        CheckpointWriter w = new CheckpointWriter(parent.toAbsolutePath().normalize(), name, stagingId, replaceExisting);
        w.checkTargetFree();
        Files.createDirectories(w.staging.resolve("fc"));
        return w;
    }

    /** The hidden directory the files go to until the commit. */
    public Path stagingDir() {
        return staging;
    }

    /** Where the checkpoint appears when committed. */
    public Path target() {
        return target;
    }

    /**
     * Writes rank {@code rank}'s FC shard: {@code fc/rank-NNNNN-weights.npy} and {@code -momentum.npy}
     * ([classEnd − classStart, D] in the arrays' storage type: float32 {@code <f4}, float16 {@code <f2},
     * bfloat16 {@code <u2}; row j = class classStart + j), then the rank's sidecar. The
     * files are forced to the device before the sidecar appears.
     */
    public void writeFcShard(int rank, int classStart, int classEnd, INDArray weights, INDArray momentum)
            throws IOException {
        writeFcShard(rank, classStart, classEnd, weights, momentum, null, null);
    }

    /**
     * As {@link #writeFcShard(int, int, int, INDArray, INDArray)}, with the shard's per-class bias and its
     * momentum (PLSC's plain softmax FC; both null for none): {@code fc/rank-NNNNN-bias.npy} and
     * {@code -bias-momentum.npy}, float32 {@code [classEnd − classStart]}.
     */
    public void writeFcShard(int rank, int classStart, int classEnd, INDArray weights, INDArray momentum,
                             INDArray bias, INDArray biasMomentum) throws IOException {
        checkOpen();
        if ((bias == null) != (biasMomentum == null)) {
            throw new IllegalArgumentException("bias : " + (bias == null ? "null" : "given") + ", bias momentum : "
                    + (biasMomentum == null ? "null" : "given") + " (expected: both or neither)");
        }
        if (bias != null && (bias.length() != classEnd - classStart || biasMomentum.length() != classEnd - classStart)) {
            throw new IllegalArgumentException("bias : " + bias.length() + " values, momentum " + biasMomentum.length()
                    + " (expected: " + (classEnd - classStart) + ", one per class of [" + classStart + ", " + classEnd
                    + "))");
        }
        if (rank < 0) {
            throw new IllegalArgumentException("rank : " + rank + " (expected: >= 0)");
        }
        if (classStart < 0 || classEnd <= classStart) {
            throw new IllegalArgumentException("class range : [" + classStart + ", " + classEnd
                    + ") (expected: 0 <= class_start < class_end)");
        }
        Objects.requireNonNull(weights, "weights");
        checkFc("weights", weights, classEnd - classStart, weights.columns());
        checkFc("momentum", momentum, classEnd - classStart, weights.columns());
        Manifest.FileEntry w = writeNpy(Sidecar.weightsPath(rank), weights);
        Manifest.FileEntry m = writeNpy(Sidecar.momentumPath(rank), momentum);
        Manifest.FileEntry b = bias == null ? null : writeNpy(Sidecar.biasPath(rank),
                bias.castTo(org.nd4j.linalg.api.buffer.DataType.FLOAT).reshape(classEnd - classStart).dup('c'));
        Manifest.FileEntry bm = bias == null ? null : writeNpy(Sidecar.biasMomentumPath(rank),
                biasMomentum.castTo(org.nd4j.linalg.api.buffer.DataType.FLOAT).reshape(classEnd - classStart).dup('c'));
        Sidecar sidecar = new Sidecar(rank, classStart, classEnd, weights.columns(), w, m, b, bm);
        Durable.writeAtomically(staging.resolve(Sidecar.path(rank)), Json.bytes(sidecar));
        LOG.debug("rank {}: FC shard [{}, {}) written to {}", rank, classStart, classEnd, staging);
    }

    /**
     * Writes the backbone's parameters and state arrays (rank 0) under {@code backbone/}; returns name
     * → file, which the manifest's {@code backbone} field records.
     */
    public Map<String, String> writeBackbone(Map<String, INDArray> params) throws IOException {
        checkOpen();
        if (backboneWritten) {
            throw new IllegalStateException("backbone : already written to " + staging + " (expected: one writeBackbone call)");
        }
        backboneWritten = true;
        Map<String, String> written = writeGroup("backbone", params);
        backbone.putAll(written);
        return written;
    }

    /**
     * Writes a group of arrays (rank 0; e.g. optimizer state) under {@code <subdir>/}; returns name →
     * file, which the manifest's {@code arrays} field records under {@code subdir}.
     */
    public Map<String, String> writeArrays(String subdir, Map<String, INDArray> group) throws IOException {
        checkOpen();
        checkName(subdir, "subdir");
        if (subdir.equals("fc") || subdir.equals("backbone")) {
            throw new IllegalArgumentException("subdir : \"" + subdir + "\" (expected: not fc or backbone, which are reserved)");
        }
        if (arrays.containsKey(subdir)) {
            throw new IllegalStateException("subdir : \"" + subdir + "\" already written (expected: one writeArrays call per subdir)");
        }
        Map<String, String> written = writeGroup(subdir, group);
        arrays.put(subdir, written);
        return written;
    }

    /**
     * Rank 0, after every rank's {@link #writeFcShard} (the caller's barrier): checks every rank's
     * sidecar against {@code info}'s class layout, writes {@code manifest.json}, removes the sidecars,
     * fsyncs and atomically renames the staging directory to the target; returns the target. A missing
     * or inconsistent rank fails naming it and leaves nothing visible (the staging directory stays
     * for inspection until {@link #abort} or {@link Checkpoints#cleanStaging}).
     */
    public Path commit(ManifestInfo info) throws IOException {
        checkOpen();
        checkTargetFree();
        Manifest manifest = manifest(info, localView(), target.toString());
        Durable.writeAtomically(staging.resolve(Manifest.FILE_NAME), Json.bytes(manifest));
        for (int r = 0; r < info.worldSize(); r++) {
            Files.deleteIfExists(staging.resolve(Sidecar.path(r)));
        }
        syncDirs();
        publish();
        done = true;
        LOG.info("checkpoint {} committed: {} ranks, {} files, step {}", target, info.worldSize(), manifest.files().size(),
                info.step());
        return target;
    }

    /**
     * Rank 0 of ranks that do not share a disk, after every rank uploaded its part ({@link #stagedFiles})
     * to one staging directory that {@code staged} reads: the {@code manifest.json} a commit would write
     * there, after the same checks as {@link #commit} (every rank's sidecar present and consistent with
     * {@code info}'s class layout, every file of the size its rank wrote, one FC type); this writer's
     * own backbone and arrays are listed as written here. The caller writes it last, removes the
     * sidecars ({@link #sidecars}) and publishes the directory; {@code where} names it in messages.
     */
    public byte[] manifestFor(ManifestInfo info, StagedFiles staged, String where) throws IOException {
        checkOpen();
        return Json.bytes(manifest(info, staged, where));
    }

    /** The sidecar files of a checkpoint of {@code worldSize} ranks (relative paths), which a commit removes. */
    public static List<String> sidecars(int worldSize) {
        List<String> out = new ArrayList<>();
        for (int r = 0; r < worldSize; r++) {
            out.add(Sidecar.path(r));
        }
        return out;
    }

    /** Every file this rank staged so far (relative paths with '/', sorted): its part of the checkpoint. */
    public List<String> stagedFiles() throws IOException {
        checkOpen();
        List<String> out = new ArrayList<>();
        try (var walk = Files.walk(staging)) {
            for (Path p : (Iterable<Path>) walk.filter(Files::isRegularFile)::iterator) {
                out.add(staging.relativize(p).toString().replace(java.io.File.separatorChar, '/'));
            }
        }
        out.sort(Comparator.naturalOrder());
        return out;
    }

    private StagedFiles localView() {
        return new StagedFiles() {
            @Override
            public boolean isFile(String path) {
                return Files.isRegularFile(staging.resolve(path));
            }

            @Override
            public long size(String path) throws IOException {
                return Files.size(staging.resolve(path));
            }

            @Override
            public byte[] read(String path) throws IOException {
                return Files.readAllBytes(staging.resolve(path));
            }

            @Override
            public List<String> list(String dir) throws IOException {
                List<String> out = new ArrayList<>();
                if (!Files.isDirectory(staging.resolve(dir))) {
                    return out;
                }
                try (var listing = Files.list(staging.resolve(dir))) {
                    for (Path p : (Iterable<Path>) listing::iterator) {
                        out.add(p.getFileName().toString());
                    }
                }
                return out;
            }

            @Override
            public String describe(String path) {
                return staging.resolve(path).toString();
            }

            @Override
            public org.plsc4j.core.FcDtype fcDtype(String path) throws IOException {
                return fileDtype(staging.resolve(path));
            }
        };
    }

    private Manifest manifest(ManifestInfo info, StagedFiles view, String where0) throws IOException {
        ClassLayout layout = info.classLayout();
        List<Manifest.Shard> shards = new ArrayList<>();
        List<Manifest.FileEntry> all = new ArrayList<>();
        Manifest.FcDtypes dtypes = null;
        List<Integer> missing = new ArrayList<>();
        for (int r = 0; r < info.worldSize(); r++) {
            if (!view.isFile(Sidecar.path(r))) {
                missing.add(r);
            }
        }
        if (!missing.isEmpty()) {
            throw new CheckpointException("commit of " + where0 + ": rank" + (missing.size() > 1 ? "s " : " ")
                    + join(missing) + " : no FC shard (" + Sidecar.path(missing.get(0)) + " missing in "
                    + view.describe("").replaceAll("/$", "") + "; expected: all " + info.worldSize() + " ranks call writeFcShard before the barrier and commit)");
        }
        for (String n : view.list("fc")) {
            java.util.regex.Matcher m = SIDECAR.matcher(n);
            if (m.matches() && Integer.parseInt(m.group(1)) >= info.worldSize()) {
                throw new CheckpointException("commit of " + where0 + ": rank " + Integer.parseInt(m.group(1))
                        + " : wrote an FC shard (" + view.describe("fc/" + n) + ") (expected: ranks 0.." + (info.worldSize() - 1)
                        + " only, world_size = " + info.worldSize() + ")");
            }
        }
        for (int r = 0; r < info.worldSize(); r++) {
            String sidecarPath = Sidecar.path(r);
            Sidecar s = Json.read(view.read(sidecarPath), view.describe(sidecarPath), Sidecar.class);
            String where = "commit of " + where0 + ": rank " + r + " (" + sidecarPath + ")";
            if (s.rank() != r || s.classStart() != layout.start(r) || s.classEnd() != layout.end(r)) {
                throw new CheckpointException(where + ": rank " + s.rank() + " classes [" + s.classStart() + ", "
                        + s.classEnd() + ") (expected: rank " + r + " classes [" + layout.start(r) + ", " + layout.end(r)
                        + ") of " + layout + ")");
            }
            if (s.embSize() != info.embSize()) {
                throw new CheckpointException(where + ": emb_size : " + s.embSize() + " (expected: " + info.embSize() + ")");
            }
            if ((s.bias() == null) != (r == 0 ? s.bias() == null : shards.get(0).bias() == null)) {
                throw new CheckpointException(where + ": bias : " + (s.bias() == null ? "none" : s.bias().path())
                        + " (expected: a bias on every rank or on none, as rank 0)");
            }
            List<Manifest.FileEntry> written = s.bias() == null ? List.of(s.weights(), s.momentum())
                    : List.of(s.weights(), s.momentum(), s.bias(), s.biasMomentum());
            for (Manifest.FileEntry f : written) {
                long size = view.isFile(f.path()) ? view.size(f.path()) : -1;
                if (size != f.bytes()) {
                    throw new CheckpointException(where + ": " + f.path() + " size : "
                            + (size < 0 ? "missing" : size + " bytes") + " (expected: " + f.bytes()
                            + " as the rank wrote it)");
                }
                all.add(f);
            }
            shards.add(new Manifest.Shard(r, s.classStart(), s.classEnd(), s.weights().path(), s.momentum().path(),
                    s.bias() == null ? null : s.bias().path(), s.biasMomentum() == null ? null : s.biasMomentum().path()));
            Manifest.FcDtypes t = new Manifest.FcDtypes(view.fcDtype(s.weights().path()).key(),
                    view.fcDtype(s.momentum().path()).key());
            if (dtypes != null && !dtypes.equals(t)) {
                throw new CheckpointException(where + ": fc_dtype : " + t + " (expected: " + dtypes
                        + " as rank 0 wrote; all ranks store the FC in one type)");
            }
            dtypes = t;
        }
        List<Manifest.FileEntry> own = new ArrayList<>(files);
        own.sort(Comparator.comparing(Manifest.FileEntry::path));
        for (Manifest.FileEntry f : own) {
            long size = view.isFile(f.path()) ? view.size(f.path()) : -1;
            if (size != f.bytes()) {
                throw new CheckpointException("commit of " + where0 + ": " + f.path() + " size : "
                        + (size < 0 ? "missing" : size + " bytes") + " (expected: " + f.bytes() + " as rank 0 wrote it)");
            }
        }
        all.addAll(own);
        Manifest manifest = new Manifest(Manifest.FORMAT_VERSION, info.numClasses(), info.embSize(), info.worldSize(),
                info.layout().name().toLowerCase(java.util.Locale.ROOT), shards, backbone, arrays, all, info.step(),
                info.epoch(), info.config(), Versions.provenance(info.worldSize()), info.extra(), dtypes);
        ManifestValidator.validate(manifest);
        return manifest;
    }

    /** Removes the staging directory (any rank; idempotent). The target, if it exists, is not touched. */
    public void abort() throws IOException {
        done = true;
        Durable.deleteRecursively(staging);
    }

    // ------------------------------------------------------------------ package-private: Reshard

    /** Copies {@code source}'s file {@code path} byte for byte into this checkpoint, checking its sha256 on the way. */
    void copyVerbatim(Checkpoint source, String path) throws IOException {
        checkOpen();
        Manifest.FileEntry expected = source.manifest().file(path);
        Path dst = staging.resolve(path);
        Files.createDirectories(dst.getParent());
        Sha256.Result got;
        try (FileChannel in = FileChannel.open(source.dir().resolve(path), StandardOpenOption.READ);
             FileChannel out = FileChannel.open(dst, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                     StandardOpenOption.TRUNCATE_EXISTING)) {
            Sha256.DigestingChannel d = new Sha256.DigestingChannel(out);
            long size = in.size();
            for (long pos = 0; pos < size; ) {
                pos += in.transferTo(pos, size - pos, d);
            }
            out.force(true);
            got = d.result();
        }
        if (got.bytes() != expected.bytes() || !got.sha256().equals(expected.sha256())) {
            Files.deleteIfExists(dst);
            throw new CheckpointException(source.dir().resolve(path) + ": sha256 : " + got.sha256() + " (" + got.bytes()
                    + " bytes) (expected: " + expected.sha256() + " (" + expected.bytes() + " bytes) as in "
                    + source.dir().resolve(Manifest.FILE_NAME) + ")");
        }
        files.add(new Manifest.FileEntry(path, got.bytes(), got.sha256()));
    }

    /** Records a backbone entry copied with {@link #copyVerbatim}. */
    void recordBackbone(String param, String path) {
        backboneWritten = true;
        backbone.put(param, path);
    }

    /** Records an array-group entry copied with {@link #copyVerbatim}. */
    void recordArray(String subdir, String arrayName, String path) {
        arrays.computeIfAbsent(subdir, k -> new TreeMap<>()).put(arrayName, path);
    }

    // ------------------------------------------------------------------ internals

    private Map<String, String> writeGroup(String subdir, Map<String, INDArray> group) throws IOException {
        Map<String, String> mapping = ArrayNames.files(subdir, group.keySet());
        Files.createDirectories(staging.resolve(subdir));
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : mapping.entrySet()) {
            INDArray a = Objects.requireNonNull(group.get(e.getKey()), () -> subdir + "[\"" + e.getKey() + "\"]");
            files.add(writeNpy(e.getValue(), a));
            out.put(e.getKey(), e.getValue());
        }
        return out;
    }

    private Manifest.FileEntry writeNpy(String path, INDArray a) throws IOException {
        Path file = staging.resolve(path);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            Sha256.DigestingChannel d = new Sha256.DigestingChannel(ch);
            Npy.write(d, a);
            ch.force(true);
            Sha256.Result r = d.result();
            return new Manifest.FileEntry(path, r.bytes(), r.sha256());
        }
    }

    /** Makes the staging tree's directory entries durable before the rename publishes it. */
    private void syncDirs() throws IOException {
        try (var dirs = Files.walk(staging)) {
            for (Path d : (Iterable<Path>) dirs.filter(Files::isDirectory)::iterator) {
                Durable.fsyncDir(d);
            }
        }
    }

    /** Renames staging to target; with replaceExisting the old target is moved aside first and deleted only after the rename. */
    private void publish() throws IOException {
        Path aside = null;
        if (Files.exists(target)) {
            // checkTargetFree passed, so replaceExisting is set
            aside = parent.resolve(Checkpoints.asideName(name, stagingId));
            Files.move(target, aside, StandardCopyOption.ATOMIC_MOVE);
        }
        try {
            Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            if (aside != null) {
                Files.move(aside, target, StandardCopyOption.ATOMIC_MOVE); // put the old one back
            }
            throw e;
        }
        Durable.fsyncDir(parent);
        if (aside != null) {
            Durable.deleteRecursively(aside);
            Durable.fsyncDir(parent);
        }
    }

    private void checkTargetFree() throws IOException {
        if (Files.exists(target) && !replaceExisting) {
            throw new FileAlreadyExistsException(target.toString(), null,
                    "checkpoint exists (expected: a new name, or replaceExisting to move it aside and replace it)");
        }
    }

    private void checkOpen() {
        if (done) {
            throw new IllegalStateException("checkpoint writer for " + target + " : already committed or aborted");
        }
    }

    @SuppressWarnings("deprecation") // DataType.HALF: what ND4J M2.1 creates for float16
    private static void checkFc(String what, INDArray a, long rows, long cols) {
        Objects.requireNonNull(a, what);
        DataType t = a.dataType();
        if (a.rank() != 2 || a.rows() != rows || a.columns() != cols
                || !(t == DataType.FLOAT || t == DataType.HALF || t == DataType.FLOAT16 || t == DataType.BFLOAT16)) {
            throw new IllegalArgumentException(what + " : " + a.dataType() + " " + java.util.Arrays.toString(a.shape())
                    + " (expected: FLOAT, HALF or BFLOAT16 [" + rows + ", " + cols + "], one row per class of the range)");
        }
    }

    /** The FC storage type of a written {@code .npy} file, from its header ({@code <u2} is bfloat16). */
    private static org.plsc4j.core.FcDtype fileDtype(Path file) throws IOException {
        Npy.Header h = Npy.readHeader(file);
        return switch (h.dtype()) {
            case F4 -> org.plsc4j.core.FcDtype.FLOAT32;
            case F2 -> org.plsc4j.core.FcDtype.FLOAT16;
            case U2 -> org.plsc4j.core.FcDtype.BFLOAT16;
            default -> throw new CheckpointException(file + ": dtype : " + h.dtype().descr()
                    + " (expected: <f4, <f2 or <u2 for an FC shard)");
        };
    }

    private static void checkName(String s, String what) {
        if (s == null || !SAFE_NAME.matcher(s).matches()) {
            throw new IllegalArgumentException(what + " : \"" + s
                    + "\" (expected: [A-Za-z0-9._-] characters, not starting with '.' or '-')");
        }
    }

    private static String join(List<Integer> ranks) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < ranks.size(); i++) {
            sb.append(i == 0 ? "" : ", ").append(ranks.get(i));
        }
        return sb.toString();
    }
}
