package org.plsc4j.data.internal;

import java.util.Arrays;

/** A growable int[] (the index of a dataset with millions of samples must not box). */
public final class IntList {
    private int[] a = new int[1024];
    private int n;

    /** Appends {@code v}. */
    public void add(int v) {
        if (n == a.length) {
            a = Arrays.copyOf(a, a.length * 2);
        }
        a[n++] = v;
    }

    /** Element {@code i}. */
    public int get(int i) {
        return a[i];
    }

    /** Number of elements. */
    public int size() {
        return n;
    }

    /** A trimmed copy. */
    public int[] toArray() {
        return Arrays.copyOf(a, n);
    }
}
