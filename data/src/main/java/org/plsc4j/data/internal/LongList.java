package org.plsc4j.data.internal;

import java.util.Arrays;

/** A growable long[]. */
public final class LongList {
    private long[] a = new long[1024];
    private int n;

    /** Appends {@code v}. */
    public void add(long v) {
        if (n == a.length) {
            a = Arrays.copyOf(a, a.length * 2);
        }
        a[n++] = v;
    }

    /** Number of elements. */
    public int size() {
        return n;
    }

    /** A trimmed copy. */
    public long[] toArray() {
        return Arrays.copyOf(a, n);
    }
}
