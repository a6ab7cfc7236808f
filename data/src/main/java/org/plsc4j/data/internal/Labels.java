package org.plsc4j.data.internal;

import org.plsc4j.data.BadDataException;

/** Parsing and range-checking of label fields, shared by both dataset formats. */
public final class Labels {

    private Labels() {
    }

    /**
     * Parses {@code text} as a label in [0, numClasses).
     *
     * @throws BadDataException naming {@code file:line}, the value and the expected range
     */
    public static int parse(String text, int numClasses, String file, long line) {
        int label;
        try {
            label = Integer.parseInt(text);
        } catch (NumberFormatException e) {
            throw new BadDataException(file, line, "label : '" + abbreviate(text) + "' (expected: an integer)");
        }
        if (label < 0 || label >= numClasses) {
            throw new BadDataException(file, line, "label : " + label
                    + " (expected: 0 <= label < num_classes = " + numClasses + ")");
        }
        return label;
    }

    /**
     * Parses {@code text} as a non-negative label, for tools that do not know {@code num_classes}
     * (e.g. {@code preprocess-base64}).
     *
     * @throws BadDataException naming {@code file:line}, the value and what was expected
     */
    public static int parseNonNegative(String text, String file, long line) {
        int label;
        try {
            label = Integer.parseInt(text);
        } catch (NumberFormatException e) {
            throw new BadDataException(file, line, "label : '" + abbreviate(text) + "' (expected: an integer)");
        }
        if (label < 0) {
            throw new BadDataException(file, line, "label : " + label + " (expected: an integer >= 0)");
        }
        return label;
    }

    /** At most 60 characters of {@code s}, for messages. */
    public static String abbreviate(String s) {
        return s.length() <= 60 ? s : s.substring(0, 57) + "...";
    }
}
