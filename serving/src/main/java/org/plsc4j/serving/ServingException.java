package org.plsc4j.serving;

import java.io.IOException;

/**
 * The server refused or failed a request: the HTTP status (400 bad input, 401 token, 413 too large,
 * 5xx server side) and the server's message, which names the field and what was expected.
 */
public final class ServingException extends IOException {

    private static final long serialVersionUID = 1L;

    private final int status;

    /** A refusal with {@code status} and the server's {@code message}. */
    public ServingException(int status, String message) {
        super("HTTP " + status + ": " + message);
        this.status = status;
    }

    /** The HTTP status code. */
    public int status() {
        return status;
    }
}
