package org.plsc4j.checkpoint;

import java.io.IOException;

/**
 * A checkpoint that is damaged, incomplete or inconsistent (bad manifest field, checksum mismatch,
 * missing rank), or a write that would break the checkpoint contract (overwriting a good checkpoint).
 *
 * <p>Why checked and an {@link IOException}: it is about data on disk, found while doing I/O, and a
 * trainer handles it like other I/O failures (fall back to an older checkpoint, report the file). The
 * message names the file, the field, the value found and what was expected.
 */
public final class CheckpointException extends IOException {

    private static final long serialVersionUID = 1L;

    /** A failure described by {@code message}. */
    public CheckpointException(String message) {
        super(message);
    }

    /** A failure described by {@code message}, caused by {@code cause}. */
    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}
