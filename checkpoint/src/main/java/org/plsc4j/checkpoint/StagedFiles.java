package org.plsc4j.checkpoint;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.plsc4j.core.FcDtype;

/**
 * The files of a checkpoint's staging directory as the commit sees them, wherever they are: the
 * writer's own local directory, or a directory that every rank uploaded its part to (ranks that do
 * not share a disk commit through a file system all of them reach, e.g. HDFS). Paths are relative to
 * the staging directory, with '/'.
 *
 * <p>Why a view: the commit's checks (every rank's sidecar present and consistent, each file of the
 * size its rank wrote, one FC type) are the checkpoint layout's rule; they must be the same for a
 * local and a remote commit.
 */
public interface StagedFiles {

    /** Whether {@code path} is a file. */
    boolean isFile(String path) throws IOException;

    /** The size of file {@code path} in bytes. */
    long size(String path) throws IOException;

    /** The content of small file {@code path} (a sidecar). */
    byte[] read(String path) throws IOException;

    /** The names of the entries of directory {@code dir} (empty when it does not exist). */
    List<String> list(String dir) throws IOException;

    /** How messages name {@code path} (default: the path itself). */
    default String describe(String path) {
        return path;
    }

    /** The FC storage type of {@code .npy} file {@code path}, from its header. */
    FcDtype fcDtype(String path) throws IOException;

    /** Bytes of an {@code .npy} header that {@link #fcDtypeOfHeader} needs at most. */
    int HEADER_BYTES = 512;

    /**
     * The FC storage type named by the first bytes of an {@code .npy} file ({@code <f4}, {@code <f2},
     * {@code <u2}); {@code name} names the file in the error.
     */
    static FcDtype fcDtypeOfHeader(byte[] head, String name) throws CheckpointException {
        String h = new String(head, StandardCharsets.ISO_8859_1);
        Matcher m = DESCR.matcher(h);
        if (h.length() < 10 || !h.startsWith("\u0093NUMPY") || !m.find()) {
            throw new CheckpointException(name + ": not an .npy file with a 'descr' (expected: an FC shard)");
        }
        return switch (m.group(1)) {
            case "<f4" -> FcDtype.FLOAT32;
            case "<f2" -> FcDtype.FLOAT16;
            case "<u2" -> FcDtype.BFLOAT16;
            default -> throw new CheckpointException(name + ": dtype : " + m.group(1)
                    + " (expected: <f4, <f2 or <u2 for an FC shard)");
        };
    }

    /** The dtype entry of an .npy header dict. */
    Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']+)'");
}
