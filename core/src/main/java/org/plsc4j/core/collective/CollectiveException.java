package org.plsc4j.core.collective;

/** A collective operation failed: a peer is unreachable, timed out, refused the handshake or the group is closed. */
public class CollectiveException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Creates an exception with a message naming the peer or the cause. */
    public CollectiveException(String message) {
        super(message);
    }

    /** Creates an exception with a message and the underlying cause. */
    public CollectiveException(String message, Throwable cause) {
        super(message, cause);
    }
}
