package org.plsc4j.data.internal;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.plsc4j.data.BadDataException;

/**
 * The rules of one line of a PLSC base64 part, {@code <base64 image>\t<label>}, shared by the
 * dataset reader ({@link Base64Dataset}) and the preparation tool ({@code preprocess-base64}) so
 * that both accept and reject the same lines with the same messages.
 *
 * <p>The image field is everything before the first tab (trailing spaces and a trailing CR are
 * ignored), the label everything after it, stripped. A line that is empty or only whitespace and has
 * no tab is blank (ignored by both).
 */
public final class Base64Lines {

    private Base64Lines() {
    }

    /**
     * The part files named by a base64 data set's file list (one per line, relative to {@code dir};
     * blank lines ignored), each checked to exist.
     *
     * @param missing what the error says was expected when the list itself is missing
     * @throws BadDataException naming the list (and its line for a missing part file)
     */
    public static List<Path> partFiles(Path list, Path dir, String missing) throws IOException {
        if (!Files.isRegularFile(list)) {
            throw new BadDataException(list.toString(), 0, "not found (expected: " + missing + ")");
        }
        List<Path> parts = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(list, StandardCharsets.UTF_8)) {
            int lineNo = 0;
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                lineNo++;
                String s = line.strip();
                if (s.isEmpty()) {
                    continue;
                }
                Path p = dir.resolve(s);
                if (!Files.isRegularFile(p)) {
                    throw new BadDataException(list.toString(), lineNo, "part file : " + s
                            + " not found (expected: a file at " + p.toAbsolutePath() + ")");
                }
                parts.add(p);
            }
        }
        return parts;
    }

    /** The error for a line without a tab; {@code head} is its beginning, {@code longer} when cut. */
    public static BadDataException noTab(String file, long line, String head, boolean longer) {
        return new BadDataException(file, line, "line : '" + Labels.abbreviate(head.strip())
                + (longer ? "..." : "") + "' has no tab (expected: '<base64 image>\\t<label>')");
    }

    /** The error for a line whose image field is empty. */
    public static BadDataException emptyImage(String file, long line) {
        return new BadDataException(file, line, "image : empty (expected: base64 text before the tab)");
    }

    /** The error for an image field that does not decode. */
    public static BadDataException invalidBase64(String file, long line, IllegalArgumentException e) {
        return new BadDataException(file, line, "image : invalid base64, " + e.getMessage()
                + " (expected: standard base64 of a JPEG or PNG)", e);
    }

    /** The length of {@code b[from, to)} without trailing spaces and CRs. */
    public static int trimmedEnd(byte[] b, int from, int to) {
        int n = to;
        while (n > from && (b[n - 1] == '\r' || b[n - 1] == ' ')) {
            n--;
        }
        return n;
    }

    /** Whether {@code b[from, to)} is only spaces, tabs and CRs (a blank line). */
    public static boolean blank(byte[] b, int from, int to) {
        for (int i = from; i < to; i++) {
            byte c = b[i];
            if (c != ' ' && c != '\r' && c != '\t') {
                return false;
            }
        }
        return true;
    }

    /**
     * Checks the whole line {@code b[from, to)} (no newline; a trailing CR allowed): a tab, a non-empty
     * image field that is valid standard base64 (it is decoded; the image itself is not), and a label
     * that is an integer >= 0. The caller skips blank lines first ({@link #blank}).
     *
     * @return the label
     * @throws BadDataException naming {@code file:line}, the field and what was expected
     */
    public static int check(byte[] b, int from, int to, String file, long line) {
        int tab = -1;
        for (int i = from; i < to; i++) {
            if (b[i] == '\t') {
                tab = i;
                break;
            }
        }
        if (tab < 0) {
            int n = Math.min(to - from, 40);
            throw noTab(file, line, new String(b, from, n, StandardCharsets.ISO_8859_1), to - from > n);
        }
        int imageEnd = trimmedEnd(b, from, tab);
        if (imageEnd == from) {
            throw emptyImage(file, line);
        }
        try {
            Base64.getDecoder().decode(ByteBuffer.wrap(b, from, imageEnd - from));
        } catch (IllegalArgumentException e) {
            throw invalidBase64(file, line, e);
        }
        int label = digits(b, tab + 1, to);
        if (label >= 0) {
            return label;
        }
        String text = new String(b, tab + 1, to - tab - 1, StandardCharsets.ISO_8859_1).strip();
        return Labels.parseNonNegative(text, file, line); // throws the message, or parses what digits() declined
    }

    /**
     * The fast path of a label field: optional spaces/tabs/CR around 1 to 9 ASCII digits, else -1 (the
     * caller then goes through {@link Labels#parseNonNegative} for the value or the message).
     */
    private static int digits(byte[] b, int from, int to) {
        int s = from;
        int e = to;
        while (s < e && (b[s] == ' ' || b[s] == '\t' || b[s] == '\r')) {
            s++;
        }
        while (e > s && (b[e - 1] == ' ' || b[e - 1] == '\t' || b[e - 1] == '\r')) {
            e--;
        }
        if (e == s || e - s > 9) {
            return -1;
        }
        int v = 0;
        for (int i = s; i < e; i++) {
            int d = b[i] - '0';
            if (d < 0 || d > 9) {
                return -1;
            }
            v = v * 10 + d;
        }
        return v;
    }
}
