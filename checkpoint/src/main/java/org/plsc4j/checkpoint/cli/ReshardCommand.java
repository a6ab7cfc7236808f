package org.plsc4j.checkpoint.cli;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.plsc4j.checkpoint.Reshard;
import org.plsc4j.core.ClassLayout;
import org.plsc4j.core.FcDtype;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code plsc4j reshard}: rewrites a checkpoint's FC layer for another worker count or class layout.
 *
 * <p>Why a command: a trained model is often used with a different number of devices than it was
 * trained on (evaluation on one machine, fine-tuning on more); this makes the copy whose shard
 * files match that job, byte-identical rows, with the backbone copied verbatim. One summary line
 * goes to stdout.
 */
@Command(name = "reshard", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Re-partition a checkpoint's FC layer for another worker count or class layout.",
        description = {
            "Reads the checkpoint in --in (a directory with manifest.json), writes a new checkpoint to --out "
                + "with the FC rows split over --world-size ranks by --layout. Rows are moved, never recomputed; "
                + "backbone and other array files are copied byte for byte. Every file read is checked against "
                + "the manifest's sha256. --out must not exist; it appears atomically when complete.",
            ""})
public final class ReshardCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--in", required = true, paramLabel = "DIR", description = "Checkpoint to read.")
    Path in;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Checkpoint to write (must not exist).")
    Path out;

    @Option(names = "--world-size", required = true, paramLabel = "M", description = "Ranks of the new layout.")
    int worldSize;

    @Option(names = "--layout", defaultValue = "balanced", paramLabel = "ceil|balanced",
            description = "Class layout of the new shards (default: ${DEFAULT-VALUE}).")
    String layout;

    @Option(names = "--fc-dtype", paramLabel = "float32|float16|bfloat16",
            description = "Storage type of the new FC weights and momentum (default: as in --in). Widening is exact,"
                + " narrowing rounds to nearest even.")
    String fcDtype;

    @Override
    public Integer call() throws Exception {
        if (worldSize < 1) {
            throw new ParameterException(spec.commandLine(), "world_size : " + worldSize + " (expected: >= 1)");
        }
        ClassLayout.Kind kind;
        try {
            kind = ClassLayout.Kind.parse(layout);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage(), e, null, layout);
        }
        FcDtype dtype = null;
        if (fcDtype != null) {
            try {
                dtype = FcDtype.parse("fc_dtype", fcDtype);
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), e.getMessage(), e, null, fcDtype);
            }
        }
        long t0 = System.nanoTime();
        Reshard.Result r = Reshard.run(in, out, worldSize, kind, dtype);
        double seconds = (System.nanoTime() - t0) / 1e9;
        spec.commandLine().getOut().println(String.format(Locale.ROOT,
                "resharded %s (%d ranks, %s) -> %s (%d ranks, %s): %d classes x %d, %d files, %d bytes in %.2f s",
                in, r.from().worldSize(), name(r.from()), r.out(), r.to().worldSize(), name(r.to()),
                r.to().numClasses(), r.embSize(), r.files(), r.bytes(), seconds));
        return 0;
    }

    private static String name(ClassLayout l) {
        return l.kind().name().toLowerCase(Locale.ROOT);
    }
}
