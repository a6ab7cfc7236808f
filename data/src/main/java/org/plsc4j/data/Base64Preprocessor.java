package org.plsc4j.data;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import org.plsc4j.data.internal.Base64Shuffle;

/**
 * {@code preprocess-base64}: PLSC's {@code tools/process_base64_files.py} done at any size. Every
 * line of every part listed in a base64 dataset's file list is shuffled globally and written to
 * {@code nranks} files {@code base64_rank_<r>} of exactly the same number of lines, plus a new file
 * list: each rank then reads its own file and all ranks run the same number of steps.
 *
 * <p>Why a tool of its own rather than shuffling at load: PLSC's base64 reader gives each rank whole
 * part files, so the parts must be balanced and mixed beforehand. PLSC's script loads everything
 * into SQLite and seeds from the clock; this one is an external shuffle (lines are bucketed to
 * temporary files by a seeded random key, each bucket sorted by key in memory), so it streams data
 * sets far larger than the heap, and the output depends only on the input and the seed.
 *
 * <p>The order: line {@code i} (input order, counting only the lines kept) gets the key
 * {@code bijection(seed, i)}, unique per line; the output is the lines by ascending key. When the
 * total {@code n} is not a multiple of {@code nranks}, the first {@code p = ceil(n / nranks) * nranks - n}
 * lines of that order (a uniform sample without replacement, as in PLSC) are repeated at the end.
 * Rank {@code r} gets lines {@code [r * L, (r + 1) * L)} of the result, {@code L = ceil(n / nranks)}.
 * The memory budget changes only how many buckets are used, never the output.
 *
 * <p>Every line is validated (tab, non-empty image field, base64 that decodes, an integer label
 * >= 0; the image itself is not decoded): a bad line is an error naming {@code file:line}, or with
 * {@code skipBad} dropped and counted. Lines are written as read (a trailing CR dropped). Temporary
 * files are removed on success and on failure; outputs are written under temporary names and renamed
 * at the end, the file list last, so a failed run never leaves a list of half-written files.
 */
public final class Base64Preprocessor {

    /** PLSC's name of output file {@code r}: {@code base64_rank_<r>}. */
    public static final String RANK_FILE_PREFIX = "base64_rank_";

    private Base64Preprocessor() {
    }

    /**
     * Runs the tool.
     *
     * @throws BadDataException for a bad line (without {@code skipBad}), a missing file list or part
     * @throws IOException on I/O failure
     */
    public static Result run(Options options) throws IOException {
        return Base64Shuffle.run(options);
    }

    /**
     * What to prepare.
     *
     * @param dataDir the dataset directory; part paths in the file list are relative to it
     * @param fileList the file list, relative to {@code dataDir} (or absolute)
     * @param nranks number of output files
     * @param seed the shuffle seed
     * @param outDir where the outputs and the new file list (same name as {@code fileList}'s) go
     * @param skipBad drop and count bad lines instead of failing
     * @param memoryBytes the memory budget: buckets are sized so that one fits in about a third of it
     * @param tempDir parent of the temporary directory (default {@code outDir}); needs room for a copy
     *     of the data set
     * @param progress draw progress bars on stderr
     */
    public record Options(Path dataDir, String fileList, int nranks, long seed, Path outDir, boolean skipBad,
                          long memoryBytes, Path tempDir, boolean progress) {

        /** The default file list name. */
        public static final String DEFAULT_FILE_LIST = "file_list.txt";

        /** The smallest memory budget accepted. */
        public static final long MIN_MEMORY = 1L << 20;

        /** Validates the fields. */
        public Options {
            Objects.requireNonNull(dataDir, "data_dir");
            Objects.requireNonNull(fileList, "file_list");
            Objects.requireNonNull(outDir, "out");
            Objects.requireNonNull(tempDir, "temp_dir");
            if (fileList.isBlank()) {
                throw new IllegalArgumentException("file_list : '' (expected: a file name)");
            }
            if (nranks < 1) {
                throw new IllegalArgumentException("nranks : " + nranks + " (expected: >= 1)");
            }
            if (memoryBytes < MIN_MEMORY) {
                throw new IllegalArgumentException("memory_mb : " + memoryBytes / (double) (1 << 20)
                        + " (expected: >= 1)");
            }
        }

        /** A builder; {@code dataDir} and {@code nranks} are required. */
        public static Builder builder() {
            return new Builder();
        }

        /** The default memory budget: a third of the maximum heap. */
        public static long defaultMemoryBytes() {
            return Math.max(MIN_MEMORY, Runtime.getRuntime().maxMemory() / 3);
        }
    }

    /** Builds {@link Options}; defaults: file list {@code file_list.txt}, seed 42, out = data dir, budget a third of the heap. */
    public static final class Builder {
        private Path dataDir;
        private String fileList = Options.DEFAULT_FILE_LIST;
        private int nranks;
        private long seed = 42;
        private Path outDir;
        private boolean skipBad;
        private long memoryBytes = Options.defaultMemoryBytes();
        private Path tempDir;
        private boolean progress;

        private Builder() {
        }

        /** The dataset directory. */
        public Builder dataDir(Path v) {
            dataDir = v;
            return this;
        }

        /** The file list, relative to the data dir. */
        public Builder fileList(String v) {
            fileList = v;
            return this;
        }

        /** Number of output files. */
        public Builder nranks(int v) {
            nranks = v;
            return this;
        }

        /** The shuffle seed. */
        public Builder seed(long v) {
            seed = v;
            return this;
        }

        /** The output directory (default: the data dir, as PLSC). */
        public Builder outDir(Path v) {
            outDir = v;
            return this;
        }

        /** Drop and count bad lines instead of failing. */
        public Builder skipBad(boolean v) {
            skipBad = v;
            return this;
        }

        /** The memory budget in bytes. */
        public Builder memoryBytes(long v) {
            memoryBytes = v;
            return this;
        }

        /** Parent of the temporary directory (default: the output directory). */
        public Builder tempDir(Path v) {
            tempDir = v;
            return this;
        }

        /** Draw progress bars on stderr. */
        public Builder progress(boolean v) {
            progress = v;
            return this;
        }

        /** The options; see {@link Options} for the checks. */
        public Options build() {
            Objects.requireNonNull(dataDir, "data_dir");
            Path out = outDir == null ? dataDir : outDir;
            return new Options(dataDir, fileList, nranks, seed, out, skipBad, memoryBytes,
                    tempDir == null ? out : tempDir, progress);
        }
    }

    /**
     * What was written.
     *
     * @param lines input lines kept
     * @param padding lines repeated to make the total a multiple of {@code nranks}
     * @param linesPerFile lines in each output file
     * @param files the output files, rank order
     * @param fileList the new file list
     * @param badLines lines dropped by {@code skipBad}
     * @param badExamples the first of their messages ({@code file:line: what})
     * @param buckets temporary buckets used (1 when everything fit the budget)
     * @param bytesIn bytes of the input parts
     * @param bytesOut bytes of the output files
     * @param seconds wall time
     */
    public record Result(long lines, long padding, long linesPerFile, List<Path> files, Path fileList, long badLines,
                         List<String> badExamples, int buckets, long bytesIn, long bytesOut, double seconds) {

        /** Copies the lists. */
        public Result {
            files = List.copyOf(files);
            badExamples = List.copyOf(badExamples);
        }
    }
}
