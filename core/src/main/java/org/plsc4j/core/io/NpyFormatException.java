package org.plsc4j.core.io;

import java.io.IOException;

/**
 * A file that is not a {@code .npy} file plsc4j can read, or one that is damaged (bad magic, header
 * field, truncated data).
 *
 * <p>Why a checked {@link IOException}: it is a property of data on disk, found while doing I/O, and
 * callers that already handle I/O failures (retry from another checkpoint, report the file) handle
 * it the same way. The message names the file and the field, its value and what was expected.
 */
public final class NpyFormatException extends IOException {

    private static final long serialVersionUID = 1L;

    /** A format error described by {@code message} (which names the file). */
    public NpyFormatException(String message) {
        super(message);
    }
}
