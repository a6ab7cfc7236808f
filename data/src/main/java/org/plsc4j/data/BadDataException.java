package org.plsc4j.data;

/**
 * A sample or a line of a dataset or verification file that cannot be used. The message always
 * starts with {@code file:line:} (line 1-based; the line is left out where a file has no lines,
 * e.g. a {@code .bin} pickle) so that the user can open the offending place directly.
 *
 * <p>An {@link IllegalArgumentException} because bad data is bad input: the CLI prints its message
 * as it is.
 */
public final class BadDataException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    private final String file;
    private final long line;

    /**
     * @param file the file, as the user knows it
     * @param line 1-based line number, or 0 when the file has no lines
     * @param problem what is wrong, in the style {@code "label : 12 (expected: 0 <= label < 10)"}
     */
    public BadDataException(String file, long line, String problem) {
        this(file, line, problem, null);
    }

    /** As {@link #BadDataException(String, long, String)}, with the exception that revealed the problem. */
    public BadDataException(String file, long line, String problem, Throwable cause) {
        super(where(file, line) + ": " + problem, cause);
        this.file = file;
        this.line = line;
    }

    /** {@code file:line}, or {@code file} when {@code line} is 0. */
    public static String where(String file, long line) {
        return line > 0 ? file + ":" + line : file;
    }

    /** The file that holds the bad data. */
    public String file() {
        return file;
    }

    /** The 1-based line, 0 when the file has no lines. */
    public long line() {
        return line;
    }
}
