package org.plsc4j.coordinator;

/**
 * A coordination step failed: ZooKeeper refused or lost an operation, a wait timed out (the message
 * names what is missing), or stored data does not have the documented shape.
 *
 * <p>Why unchecked: callers (workers, the launcher) cannot recover from these locally; they report
 * the message and stop or re-register.
 */
public class CoordinatorException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** An exception whose message names the path, the job or the missing workers. */
    public CoordinatorException(String message) {
        super(message);
    }

    /** An exception with the underlying ZooKeeper/Curator cause. */
    public CoordinatorException(String message, Throwable cause) {
        super(message, cause);
    }
}
