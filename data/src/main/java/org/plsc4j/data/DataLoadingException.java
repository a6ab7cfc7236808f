package org.plsc4j.data;

/**
 * A failure of the {@link BatchLoader}'s threads, rethrown on the consumer's thread. The message is
 * the original's (e.g. a {@link BadDataException}'s {@code file:line: ...}) and the original is the
 * cause. An {@link IllegalStateException}, so that the CLI prints the message as it is.
 */
public final class DataLoadingException extends IllegalStateException {

    private static final long serialVersionUID = 1L;

    /**
     * @param message the original failure's message
     * @param cause the original failure
     */
    public DataLoadingException(String message, Throwable cause) {
        super(message, cause);
    }
}
