package org.plsc4j.serving.internal;

/**
 * A request the server refuses, with the HTTP status to answer and a message naming the field, the
 * value and what was expected (e.g. {@code "images[2] : undecodable ... (expected: a JPEG or PNG image)"}).
 */
public final class BadRequestException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final int status;

    /** A refusal with {@code status} (400, 401, 404, 405, 413...). */
    public BadRequestException(int status, String message) {
        super(message, null, false, false);
        this.status = status;
    }

    /** The HTTP status code. */
    public int status() {
        return status;
    }
}
