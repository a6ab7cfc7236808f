package org.plsc4j.checkpoint;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.checkpoint.internal.Json;
import org.plsc4j.checkpoint.internal.ManifestValidator;
import org.plsc4j.checkpoint.internal.Sha256;
import org.plsc4j.core.ClassLayout;
import org.plsc4j.core.FcDtype;
import org.plsc4j.core.FcStorage;
import org.plsc4j.core.io.Npy;
import org.plsc4j.core.io.NpyDType;

/**
 * A committed checkpoint, opened for reading.
 *
 * <p>Why reads are by class range: a job restarting with another worker count or layout needs, on
 * each rank, exactly the rows of its new class range; {@link #readFcRows} gathers them from whichever
 * saved shards hold them with positioned reads, so a rank touches only the shard files that overlap
 * its range. Every file is checked against the manifest's size and sha256 the first time this
 * instance reads it (and only the files read are checked: a rank of a 100-rank job does not hash 100
 * shards). Instances are thread-safe for reading.
 */
public final class Checkpoint {

    private final Path dir;
    private final Manifest manifest;
    private final ClassLayout layout;
    private final Set<String> verified = ConcurrentHashMap.newKeySet();

    private Checkpoint(Path dir, Manifest manifest) {
        this.dir = dir;
        this.manifest = manifest;
        this.layout = manifest.classLayout();
    }

    /** Parses and validates {@code dir/manifest.json}; errors name the file and the field. Reads no data file. */
    public static Checkpoint open(Path dir) throws IOException {
        Path file = dir.resolve(Manifest.FILE_NAME);
        if (!Files.isDirectory(dir)) {
            throw new NoSuchFileException(dir.toString(), null, "checkpoint directory missing");
        }
        Manifest m = Json.read(file, file.toString(), Manifest.class);
        try {
            ManifestValidator.validate(m);
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(file + ": " + e.getMessage(), e);
        }
        return new Checkpoint(dir.toAbsolutePath().normalize(), m);
    }

    /** The checkpoint directory. */
    public Path dir() {
        return dir;
    }

    /** The parsed manifest. */
    public Manifest manifest() {
        return manifest;
    }

    /** The class layout the FC layer was saved with (not necessarily the reader's). */
    public ClassLayout layout() {
        return layout;
    }

    /** Total classes. */
    public int numClasses() {
        return manifest.numClasses();
    }

    /** Embedding size D. */
    public int embSize() {
        return manifest.embSize();
    }

    /** Global step at save time. */
    public long step() {
        return manifest.step();
    }

    /** Epoch at save time. */
    public int epoch() {
        return manifest.epoch();
    }

    /** The trainer's configuration (a copy). */
    public ObjectNode config() {
        return manifest.config().deepCopy();
    }

    /** The trainer's extra JSON (a copy), or null when there is none. */
    public ObjectNode extra() {
        return manifest.extra() == null ? null : manifest.extra().deepCopy();
    }

    /** Weights and momentum of classes {@code [classStart, classEnd)}, gathered from the shards that hold them. */
    public FcRows readFcRows(int classStart, int classEnd) throws IOException {
        return new FcRows(classStart, readFcWeights(classStart, classEnd), readFcMomentum(classStart, classEnd));
    }

    /**
     * Weights [classEnd − classStart, D] of classes {@code [classStart, classEnd)}, in the checkpoint's
     * storage type ({@link #fcWeightsDtype()}: FLOAT, HALF or BFLOAT16).
     */
    public INDArray readFcWeights(int classStart, int classEnd) throws IOException {
        INDArray out = Nd4j.createUninitialized(fcWeightsDtype().dataType(), new long[] {classEnd - classStart,
            embSize()}, 'c');
        readFcInto(classStart, classEnd, true, out);
        return out;
    }

    /** Momentum [classEnd − classStart, D] of classes {@code [classStart, classEnd)}, in {@link #fcMomentumDtype()}. */
    public INDArray readFcMomentum(int classStart, int classEnd) throws IOException {
        INDArray out = Nd4j.createUninitialized(fcMomentumDtype().dataType(), new long[] {classEnd - classStart,
            embSize()}, 'c');
        readFcInto(classStart, classEnd, false, out);
        return out;
    }

    /** Whether the FC shards carry a per-class bias (PLSC's plain softmax; absent in older checkpoints). */
    public boolean hasFcBias() {
        return manifest.shards().get(0).bias() != null;
    }

    /**
     * The bias ({@code momentum} false) or its momentum of classes {@code [classStart, classEnd)}, float32
     * {@code [classEnd − classStart]}, gathered from the shards that hold them.
     *
     * @throws CheckpointException when the checkpoint has no bias ({@link #hasFcBias()})
     */
    public INDArray readFcBias(int classStart, int classEnd, boolean momentum) throws IOException {
        if (!hasFcBias()) {
            throw new CheckpointException(dir.resolve(Manifest.FILE_NAME) + ": shards[0].bias : missing (expected: a"
                    + " checkpoint of an FC with a bias, loss_type softmax)");
        }
        if (classStart < 0 || classStart >= classEnd || classEnd > numClasses()) {
            throw new IllegalArgumentException("class range : [" + classStart + ", " + classEnd
                    + ") (expected: 0 <= class_start < class_end <= num_classes = " + numClasses() + ")");
        }
        float[] out = new float[classEnd - classStart];
        for (int r = layout.ownerOf(classStart); r < layout.worldSize() && layout.start(r) < classEnd; r++) {
            Manifest.Shard s = manifest.shards().get(r);
            String path = momentum ? s.biasMomentum() : s.bias();
            verify(path);
            INDArray a = Npy.read(dir.resolve(path));
            if (a.dataType() != org.nd4j.linalg.api.buffer.DataType.FLOAT || a.length() != s.classEnd() - s.classStart()) {
                throw new CheckpointException(dir.resolve(path) + ": array : " + a.dataType() + " "
                        + Arrays.toString(a.shape()) + " (expected: float32 (" + (s.classEnd() - s.classStart())
                        + ",) for classes [" + s.classStart() + ", " + s.classEnd() + ") of shards[" + r + "])");
            }
            float[] v = a.toFloatVector();
            int lo = Math.max(classStart, s.classStart());
            int hi = Math.min(classEnd, s.classEnd());
            System.arraycopy(v, lo - s.classStart(), out, lo - classStart, hi - lo);
        }
        return Nd4j.createFromArray(out);
    }

    /** The FC weights' storage type (float32 for checkpoints written before {@code fc_dtype} existed). */
    public FcDtype fcWeightsDtype() {
        return manifest.fcDtypes().weightsType();
    }

    /** The FC momentum's storage type. */
    public FcDtype fcMomentumDtype() {
        return manifest.fcDtypes().momentumType();
    }

    /**
     * Reads the weights ({@code weights}) or the momentum of classes {@code [classStart, classEnd)} into
     * {@code dst} ([classEnd − classStart, D], C order, FLOAT, HALF or BFLOAT16): straight from the files
     * when the types match, else converted in blocks of rows (rounded to nearest even when narrowing).
     * This is how a warm start fills a shard without a second full-size copy.
     */
    public void readFcInto(int classStart, int classEnd, boolean weights, INDArray dst) throws IOException {
        readFc(classStart, classEnd, weights, dst);
    }

    /** The backbone arrays by parameter name (sorted). */
    public Map<String, INDArray> readBackbone() throws IOException {
        return readGroup(manifest.backbone());
    }

    /** The arrays written with {@code writeArrays(subdir, ...)}, by name (sorted). */
    public Map<String, INDArray> readArrays(String subdir) throws IOException {
        Map<String, String> group = manifest.arrays().get(subdir);
        if (group == null) {
            throw new CheckpointException(dir.resolve(Manifest.FILE_NAME) + ": arrays[\"" + subdir
                    + "\"] : missing (expected: one of " + manifest.arrays().keySet() + ")");
        }
        return readGroup(group);
    }

    /** Checks size and sha256 of every file in the manifest (e.g. before publishing a copy); returns the bytes checked. */
    public long verifyAll() throws IOException {
        long n = 0;
        for (Manifest.FileEntry f : manifest.files()) {
            verify(f.path());
            n += f.bytes();
        }
        return n;
    }

    /**
     * Checks file {@code path} against the manifest once per instance: size first (cheap, catches
     * truncation), then the sha256 of the whole file. Mismatch → exception naming the file, expected and actual.
     */
    public void verify(String path) throws IOException {
        if (verified.contains(path)) {
            return;
        }
        Manifest.FileEntry f = manifest.file(path);
        if (f == null) {
            throw new CheckpointException(dir.resolve(Manifest.FILE_NAME) + ": files : no entry for \"" + path
                    + "\" (expected: every data file listed)");
        }
        Path file = dir.resolve(path);
        long size;
        try {
            size = Files.size(file);
        } catch (NoSuchFileException e) {
            throw new CheckpointException(file + " : missing (expected: " + f.bytes() + " bytes, listed in "
                    + Manifest.FILE_NAME + ")", e);
        }
        if (size != f.bytes()) {
            throw new CheckpointException(file + ": size : " + size + " bytes (expected: " + f.bytes() + " as in "
                    + Manifest.FILE_NAME + "; truncated or replaced?)");
        }
        Sha256.Result r = Sha256.ofFile(file);
        if (!r.sha256().equals(f.sha256())) {
            throw new CheckpointException(file + ": sha256 : " + r.sha256() + " (expected: " + f.sha256() + " as in "
                    + Manifest.FILE_NAME + "; the file is corrupt)");
        }
        verified.add(path);
    }

    // ------------------------------------------------------------------ internals

    private void readFc(int classStart, int classEnd, boolean weights, INDArray out) throws IOException {
        if (classStart < 0 || classStart >= classEnd || classEnd > numClasses()) {
            throw new IllegalArgumentException("class range : [" + classStart + ", " + classEnd
                    + ") (expected: 0 <= class_start < class_end <= num_classes = " + numClasses() + ")");
        }
        int d = embSize();
        if (out.rank() != 2 || out.rows() != classEnd - classStart || out.columns() != d || out.ordering() != 'c') {
            throw new IllegalArgumentException("destination : " + Arrays.toString(out.shape()) + " (expected: C-order ["
                    + (classEnd - classStart) + ", " + d + "])");
        }
        FcDtype stored = weights ? fcWeightsDtype() : fcMomentumDtype();
        NpyDType want = NpyDType.of(stored.dataType());
        boolean direct = FcDtype.of(out.dataType()) == stored;
        for (int r = layout.ownerOf(classStart); r < layout.worldSize() && layout.start(r) < classEnd; r++) {
            Manifest.Shard s = manifest.shards().get(r);
            String path = weights ? s.weights() : s.momentum();
            verify(path);
            Path file = dir.resolve(path);
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                Npy.Header h = Npy.readHeader(ch, file.toString());
                long[] expected = {s.classEnd() - s.classStart(), d};
                if (h.dtype() != want || !Arrays.equals(h.shape(), expected)) {
                    throw new CheckpointException(file + ": array : " + h.dtype().descr() + " " + h.shapeString()
                            + " (expected: " + want.descr() + " (" + expected[0] + ", " + d + ") for classes ["
                            + s.classStart() + ", " + s.classEnd() + ") of shards[" + r + "], fc_dtype " + stored + ")");
                }
                int lo = Math.max(classStart, s.classStart());
                int hi = Math.min(classEnd, s.classEnd());
                if (direct) {
                    Npy.readRows(ch, h, file.toString(), lo - s.classStart(), hi - s.classStart(), out, lo - classStart);
                    continue;
                }
                int block = Math.max(1, (4 << 20) / (d * stored.bytes()));
                INDArray tmp = Nd4j.createUninitialized(stored.dataType(), new long[] {block, d}, 'c');
                float[] buf = new float[block * d];
                for (int c0 = lo; c0 < hi; c0 += block) {
                    int n = Math.min(block, hi - c0);
                    INDArray t = n == block ? tmp : Nd4j.createUninitialized(stored.dataType(), new long[] {n, d}, 'c');
                    Npy.readRows(ch, h, file.toString(), c0 - s.classStart(), c0 - s.classStart() + n, t, 0);
                    FcStorage.read(t, 0, n, buf, 0);
                    FcStorage.write(out, c0 - classStart, n, buf, 0);
                }
            }
        }
    }

    private Map<String, INDArray> readGroup(Map<String, String> group) throws IOException {
        Map<String, INDArray> out = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : group.entrySet()) {
            verify(e.getValue());
            out.put(e.getKey(), Npy.read(dir.resolve(e.getValue())));
        }
        return Collections.unmodifiableMap(out);
    }
}
