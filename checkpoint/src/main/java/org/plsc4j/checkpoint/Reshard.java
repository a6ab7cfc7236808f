package org.plsc4j.checkpoint;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.core.FcDtype;
import org.plsc4j.core.ClassLayout;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Offline re-partitioning of a checkpoint's FC layer for another worker count or class layout.
 *
 * <p>Why offline as well as at load time: {@link Checkpoint#readFcRows} already lets any job read any
 * class range, but a checkpoint that will be loaded many times by an M-rank job (serving, fine-tuning)
 * is cheaper to read with one file per rank, and a copy with the target layout is what other tools
 * (PLSC, insightface) expect. Rows are moved, never recomputed: resharding N → M → N gives
 * byte-identical FC files. Backbone and other array files are copied byte for byte (their sha256
 * checked on the way). Memory: one output shard (weights, then momentum) at a time.
 */
public final class Reshard {

    private static final Logger LOG = LoggerFactory.getLogger(Reshard.class);

    private Reshard() {
    }

    /**
     * What a run did.
     *
     * @param out the new checkpoint
     * @param from layout of the input
     * @param to layout of the output
     * @param embSize embedding size D
     * @param files files written
     * @param bytes bytes written
     */
    public record Result(Path out, ClassLayout from, ClassLayout to, int embSize, int files, long bytes) {
    }

    /** Frees an array's native memory now rather than when the GC finds it (shards can be GiBs). */
    private static void release(INDArray a) {
        if (a.closeable()) {
            a.close();
        }
    }

    /**
     * Writes checkpoint {@code outDir} (must not exist) with {@code inDir}'s contents and its FC layer
     * split over {@code newWorldSize} ranks by {@code layout}. The output appears atomically when complete.
     */
    public static Result run(Path inDir, Path outDir, int newWorldSize, ClassLayout.Kind layout) throws IOException {
        return run(inDir, outDir, newWorldSize, layout, null);
    }

    /**
     * As {@link #run(Path, Path, int, ClassLayout.Kind)}, storing the FC weights and momentum as
     * {@code fcDtype} (null: as in the input). Widening is exact; narrowing rounds to nearest even.
     */
    public static Result run(Path inDir, Path outDir, int newWorldSize, ClassLayout.Kind layout, FcDtype fcDtype)
            throws IOException {
        Objects.requireNonNull(layout, "layout");
        Checkpoint in = Checkpoint.open(inDir);
        Manifest m = in.manifest();
        ClassLayout to = ClassLayout.of(layout, m.numClasses(), newWorldSize);
        Path out = outDir.toAbsolutePath().normalize();
        if (out.getParent() == null) {
            throw new IllegalArgumentException("out : " + outDir + " (expected: a directory with a parent)");
        }
        if (out.equals(in.dir())) {
            throw new IllegalArgumentException("out : " + outDir + " (expected: a directory other than the input)");
        }
        CheckpointWriter w = CheckpointWriter.open(out.getParent(), out.getFileName().toString(),
                "reshard-" + UUID.randomUUID());
        boolean ok = false;
        try {
            for (Map.Entry<String, String> e : m.backbone().entrySet()) {
                w.copyVerbatim(in, e.getValue());
                w.recordBackbone(e.getKey(), e.getValue());
            }
            for (Map.Entry<String, Map<String, String>> g : m.arrays().entrySet()) {
                for (Map.Entry<String, String> e : g.getValue().entrySet()) {
                    w.copyVerbatim(in, e.getValue());
                    w.recordArray(g.getKey(), e.getKey(), e.getValue());
                }
            }
            for (int r = 0; r < newWorldSize; r++) {
                long[] shape = {to.end(r) - to.start(r), m.embSize()};
                INDArray wr = Nd4j.createUninitialized((fcDtype != null ? fcDtype : in.fcWeightsDtype()).dataType(),
                        shape, 'c');
                in.readFcInto(to.start(r), to.end(r), true, wr);
                INDArray mr = Nd4j.createUninitialized((fcDtype != null ? fcDtype : in.fcMomentumDtype()).dataType(),
                        shape, 'c');
                in.readFcInto(to.start(r), to.end(r), false, mr);
                if (in.hasFcBias()) {
                    w.writeFcShard(r, to.start(r), to.end(r), wr, mr, in.readFcBias(to.start(r), to.end(r), false),
                            in.readFcBias(to.start(r), to.end(r), true));
                } else {
                    w.writeFcShard(r, to.start(r), to.end(r), wr, mr);
                }
                release(wr);
                release(mr);
                LOG.debug("reshard: rank {} of {}: classes [{}, {})", r, newWorldSize, to.start(r), to.end(r));
            }
            Path done = w.commit(new ManifestInfo(m.numClasses(), m.embSize(), newWorldSize, layout, m.step(), m.epoch(),
                    m.config(), m.extra()));
            ok = true;
            Checkpoint result = Checkpoint.open(done);
            long bytes = 0;
            for (Manifest.FileEntry f : result.manifest().files()) {
                bytes += f.bytes();
            }
            return new Result(done, in.layout(), to, m.embSize(), result.manifest().files().size(), bytes);
        } finally {
            if (!ok) {
                w.abort();
            }
        }
    }
}
