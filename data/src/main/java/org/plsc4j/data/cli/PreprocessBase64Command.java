package org.plsc4j.data.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.plsc4j.data.BadDataException;
import org.plsc4j.data.Base64Preprocessor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code plsc4j preprocess-base64}: PLSC's {@code tools/process_base64_files.py} (same option
 * spellings accepted) as an external shuffle; see {@link Base64Preprocessor}. One summary line on
 * stdout; a bad line is reported as {@code file:line: what} on stderr with exit code 2 (bad input),
 * like a bad option.
 */
@Command(name = "preprocess-base64", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Shuffle a base64 dataset globally into N equal part files (PLSC's process_base64_files.py).",
        description = {
            "Every line of every part in the file list is validated and shuffled (external shuffle: works with data "
                + "far larger than the heap), then written to base64_rank_0..N-1 with exactly ceil(lines/N) lines "
                + "each (the first lines of the shuffled order are repeated as padding) and a new file list. "
                + "Same input and seed = same bytes, whatever --memory-mb.",
            ""})
public final class PreprocessBase64Command implements Callable<Integer> {

    /** Exit code for bad input data (as for a usage error). */
    public static final int EXIT_BAD_DATA = 2;

    @Spec
    CommandSpec spec;

    @Option(names = {"--data-dir", "--data_dir"}, required = true, description = "The dataset directory.")
    Path dataDir;

    @Option(names = {"--file-list", "--file_list"}, defaultValue = Base64Preprocessor.Options.DEFAULT_FILE_LIST,
            description = "The file list, relative to --data-dir (default: ${DEFAULT-VALUE}).")
    String fileList;

    @Option(names = "--nranks", required = true, description = "Number of output files (trainer ranks).")
    int nranks;

    @Option(names = "--seed", defaultValue = "42", description = "Shuffle seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--out", description = "Output directory (default: --data-dir; its file list is then replaced, "
            + "the input parts are kept).")
    Path out;

    @Option(names = {"--skip-bad", "--skip_bad"}, description = "Drop and count bad lines instead of failing.")
    boolean skipBad;

    @Option(names = {"--memory-mb", "--memory_mb"},
            description = "Memory budget in MiB; one bucket is about a third of it (default: a third of the heap).")
    Long memoryMb;

    @Option(names = {"--temp-dir", "--temp_dir"},
            description = "Where the temporary buckets go, about the size of the data (default: --out).")
    Path tempDir;

    @Option(names = "--no-progress", description = "No progress bars on stderr.")
    boolean noProgress;

    @Override
    public Integer call() throws Exception {
        Base64Preprocessor.Options options;
        try {
            Base64Preprocessor.Builder b = Base64Preprocessor.Options.builder().dataDir(dataDir).fileList(fileList)
                    .nranks(nranks).seed(seed).outDir(out).skipBad(skipBad).tempDir(tempDir).progress(!noProgress);
            if (memoryMb != null) {
                if (memoryMb < 1 || memoryMb > Long.MAX_VALUE >> 20) {
                    throw new IllegalArgumentException("memory_mb : " + memoryMb + " (expected: >= 1)");
                }
                b.memoryBytes(memoryMb << 20);
            }
            options = b.build();
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--" + e.getMessage());
        }
        Base64Preprocessor.Result r;
        try {
            r = Base64Preprocessor.run(options);
        } catch (BadDataException e) {
            PrintWriter err = spec.commandLine().getErr();
            err.println(spec.qualifiedName() + ": " + e.getMessage());
            err.flush();
            return EXIT_BAD_DATA;
        }
        PrintWriter w = spec.commandLine().getOut();
        if (r.badLines() > 0) {
            PrintWriter err = spec.commandLine().getErr();
            err.println(spec.qualifiedName() + ": skipped " + r.badLines() + " bad lines, first: "
                    + r.badExamples().get(0));
            err.flush();
        }
        w.println(String.format(Locale.ROOT,
                "preprocess-base64: %s files=%d lines=%d padding=%d lines_per_file=%d bad_skipped=%d buckets=%d "
                        + "bytes_in=%d bytes_out=%d seed=%d seconds=%.2f",
                r.fileList(), r.files().size(), r.lines(), r.padding(), r.linesPerFile(), r.badLines(), r.buckets(),
                r.bytesIn(), r.bytesOut(), seed, r.seconds()));
        w.flush();
        return 0;
    }
}
