package org.plsc4j.hdfs;

import java.io.IOException;

/**
 * A transfer to or from the remote file system failed for good; the message names the remote path and
 * what was expected.
 *
 * <p>Why its own type: callers (the trainer's upload listener, the CLI) must tell "the remote side
 * refused or the data is wrong" from an ordinary local I/O error, and {@link #verification()} tells a
 * checksum/size mismatch, which retrying cannot fix, from an exhausted retry budget.
 */
public class HdfsException extends IOException {

    private static final long serialVersionUID = 1L;

    private final boolean verification;

    /** A failure (after retries when {@code cause} was transient). */
    public HdfsException(String message, Throwable cause) {
        super(message, cause);
        this.verification = false;
    }

    /** A size or checksum mismatch against the manifest (never retried). */
    public HdfsException(String message, boolean verification) {
        super(message);
        this.verification = verification;
    }

    /** Whether this is a size or checksum mismatch against the manifest. */
    public boolean verification() {
        return verification;
    }
}
