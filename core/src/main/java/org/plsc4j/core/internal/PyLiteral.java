package org.plsc4j.core.internal;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parses the Python literal subset that {@code .npy} headers use: a dict with string keys whose
 * values are strings, {@code True}/{@code False}, integers and tuples of integers.
 *
 * <p>Hand-written because the header is a Python {@code repr}, not JSON (single quotes, tuples,
 * {@code True}); no library on our class path parses it. Values come back as {@link String},
 * {@link Boolean}, {@link Long} and {@code List<Long>} (tuples). Errors throw
 * {@link IllegalArgumentException} with the position and what was expected.
 */
public final class PyLiteral {

    private final String s;
    private int pos;

    private PyLiteral(String s) {
        this.s = s;
    }

    /** Parses {@code text} as a dict literal; trailing whitespace is allowed, anything else after the dict is not. */
    public static Map<String, Object> parseDict(String text) {
        PyLiteral p = new PyLiteral(text);
        Map<String, Object> dict = p.dict();
        p.skipSpace();
        if (p.pos != p.s.length()) {
            throw p.error("end of header after the dict");
        }
        return dict;
    }

    private Map<String, Object> dict() {
        skipSpace();
        expect('{');
        Map<String, Object> out = new LinkedHashMap<>();
        while (true) {
            skipSpace();
            if (peek() == '}') {
                pos++;
                return out;
            }
            String key = string();
            skipSpace();
            expect(':');
            skipSpace();
            Object value = value();
            if (out.put(key, value) != null) {
                throw error("no duplicate key '" + key + "'");
            }
            skipSpace();
            char c = peek();
            if (c == ',') {
                pos++;
            } else if (c != '}') {
                throw error("',' or '}'");
            }
        }
    }

    private Object value() {
        char c = peek();
        if (c == '\'' || c == '"') {
            return string();
        }
        if (c == '(') {
            return tuple();
        }
        if (c == '-' || Character.isDigit(c)) {
            return integer();
        }
        if (s.startsWith("True", pos)) {
            pos += 4;
            return Boolean.TRUE;
        }
        if (s.startsWith("False", pos)) {
            pos += 5;
            return Boolean.FALSE;
        }
        throw error("a string, True, False, an integer or a tuple");
    }

    private List<Long> tuple() {
        expect('(');
        List<Long> out = new ArrayList<>();
        boolean sawComma = false;
        while (true) {
            skipSpace();
            if (peek() == ')') {
                pos++;
                if (out.size() == 1 && !sawComma) {
                    throw error("a ',' in a one-element tuple"); // (5) is an int in Python, not a tuple
                }
                return out;
            }
            out.add(integer());
            skipSpace();
            char c = peek();
            if (c == ',') {
                pos++;
                sawComma = true;
            } else if (c != ')') {
                throw error("',' or ')'");
            }
        }
    }

    private long integer() {
        int start = pos;
        if (peek() == '-') {
            pos++;
        }
        while (pos < s.length() && Character.isDigit(s.charAt(pos))) {
            pos++;
        }
        if (peek() == 'L') { // Python 2 longs
            pos++;
            try {
                return Long.parseLong(s.substring(start, pos - 1));
            } catch (NumberFormatException e) {
                throw error("an integer");
            }
        }
        try {
            return Long.parseLong(s.substring(start, pos));
        } catch (NumberFormatException e) {
            pos = start;
            throw error("an integer that fits in 64 bits");
        }
    }

    private String string() {
        char q = peek();
        if (q != '\'' && q != '"') {
            throw error("a quoted string");
        }
        int end = s.indexOf(q, pos + 1);
        if (end < 0) {
            throw error("a closing " + q);
        }
        String out = s.substring(pos + 1, end);
        if (out.indexOf('\\') >= 0) {
            throw error("a string without escapes");
        }
        pos = end + 1;
        return out;
    }

    private void skipSpace() {
        while (pos < s.length() && Character.isWhitespace(s.charAt(pos))) {
            pos++;
        }
    }

    private char peek() {
        return pos < s.length() ? s.charAt(pos) : '\0';
    }

    private void expect(char c) {
        if (peek() != c) {
            throw error("'" + c + "'");
        }
        pos++;
    }

    private IllegalArgumentException error(String expected) {
        String found = pos < s.length() ? "'" + s.substring(pos, Math.min(s.length(), pos + 12)) + "'" : "end of text";
        return new IllegalArgumentException("at character " + pos + ": " + found + " (expected: " + expected + ")");
    }
}
