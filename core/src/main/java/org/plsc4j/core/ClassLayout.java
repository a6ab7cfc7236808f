package org.plsc4j.core;

import java.util.Objects;

/**
 * Which contiguous range of class ids each of {@code worldSize} ranks owns.
 *
 * <p>Why two kinds: checkpoints in the wild use both. PLSC gives every rank ceil(C/N) classes and the
 * last rank the remainder ({@link Kind#CEIL}: its {@code LargeScaleClassifier},
 * {@code num_local = (num_classes + world_size - 1) // world_size}, {@code num_classes % num_local} on the
 * last rank, as 1.x's {@code DistributedClassifier}; a layout where a rank would own nothing is
 * rejected, as PLSC fails there). insightface's partial_fc gives rank r C/N classes plus one when
 * r &lt; C%N ({@link Kind#BALANCED}, plsc4j's default: no rank is ever empty).
 */
public final class ClassLayout {

    /** The two partitioning rules. */
    public enum Kind {
        /** ceil(C/N) per rank, the last rank takes the remainder (PLSC's split). */
        CEIL,
        /** C/N per rank plus one for the first C%N ranks (insightface's partial_fc). */
        BALANCED;

        /** Parses "ceil" or "balanced" (any case); the message names the value on failure. */
        public static Kind parse(String s) {
            for (Kind k : values()) {
                if (k.name().equalsIgnoreCase(s)) {
                    return k;
                }
            }
            throw new IllegalArgumentException("layout : " + s + " (expected: ceil or balanced)");
        }
    }

    private final Kind kind;
    private final int numClasses;
    private final int worldSize;
    private final int[] starts; // worldSize + 1 entries

    private ClassLayout(Kind kind, int numClasses, int worldSize) {
        this.kind = Objects.requireNonNull(kind, "kind");
        if (worldSize < 1) {
            throw new IllegalArgumentException("world_size : " + worldSize + " (expected: >= 1)");
        }
        if (numClasses < worldSize) {
            throw new IllegalArgumentException("num_classes : " + numClasses
                    + " (expected: >= world_size = " + worldSize + ", every rank must own a class)");
        }
        this.numClasses = numClasses;
        this.worldSize = worldSize;
        this.starts = new int[worldSize + 1];
        if (kind == Kind.CEIL) {
            int per = (int) (((long) numClasses + worldSize - 1) / worldSize);
            for (int r = 0; r < worldSize; r++) {
                starts[r] = (int) Math.min((long) r * per, numClasses);
            }
            starts[worldSize] = numClasses;
            int lastSize = numClasses - starts[worldSize - 1];
            if (lastSize <= 0) {
                throw new IllegalArgumentException("num_classes : " + numClasses + " over world_size : " + worldSize
                        + " with the ceil layout gives " + per + " classes per rank and leaves rank "
                        + (worldSize - 1) + " empty (expected: every rank owns a class; use the balanced layout)");
            }
        } else {
            int base = numClasses / worldSize;
            int extra = numClasses % worldSize;
            int s = 0;
            for (int r = 0; r < worldSize; r++) {
                starts[r] = s;
                s += base + (r < extra ? 1 : 0);
            }
            starts[worldSize] = numClasses;
        }
    }

    /** The layout of {@code numClasses} over {@code worldSize} ranks. */
    public static ClassLayout of(Kind kind, int numClasses, int worldSize) {
        return new ClassLayout(kind, numClasses, worldSize);
    }

    /** The balanced layout (the default). */
    public static ClassLayout balanced(int numClasses, int worldSize) {
        return new ClassLayout(Kind.BALANCED, numClasses, worldSize);
    }

    /** PLSC's ceil layout. */
    public static ClassLayout ceil(int numClasses, int worldSize) {
        return new ClassLayout(Kind.CEIL, numClasses, worldSize);
    }

    /** The partitioning rule. */
    public Kind kind() {
        return kind;
    }

    /** Total number of classes C. */
    public int numClasses() {
        return numClasses;
    }

    /** Number of ranks N. */
    public int worldSize() {
        return worldSize;
    }

    /** First class id owned by {@code rank}. */
    public int start(int rank) {
        checkRank(rank);
        return starts[rank];
    }

    /** One past the last class id owned by {@code rank}. */
    public int end(int rank) {
        checkRank(rank);
        return starts[rank + 1];
    }

    /** Number of classes owned by {@code rank}. */
    public int size(int rank) {
        return end(rank) - start(rank);
    }

    /** The rank owning {@code classId}. */
    public int ownerOf(int classId) {
        if (classId < 0 || classId >= numClasses) {
            throw new IllegalArgumentException(
                    "label : " + classId + " (expected: 0 <= label < num_classes = " + numClasses + ")");
        }
        int lo = 0;
        int hi = worldSize - 1;
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (starts[mid] <= classId) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        return lo;
    }

    private void checkRank(int rank) {
        if (rank < 0 || rank >= worldSize) {
            throw new IllegalArgumentException("rank : " + rank + " (expected: 0 <= rank < " + worldSize + ")");
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ClassLayout l && l.kind == kind && l.numClasses == numClasses && l.worldSize == worldSize;
    }

    @Override
    public int hashCode() {
        return Objects.hash(kind, numClasses, worldSize);
    }

    @Override
    public String toString() {
        return kind.name().toLowerCase(java.util.Locale.ROOT) + "(" + numClasses + " classes over " + worldSize + " ranks)";
    }
}
