package org.plsc4j.core;

import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * The seed of randomized tests (Lucene style): {@code -Dtests.seed=N} reproduces a run; otherwise a
 * fresh seed per JVM. A failing test prints the seed that reproduces it.
 */
public final class TestSeed implements TestWatcher {

    /** The base seed of this test JVM. */
    public static final long BASE = Long.getLong("tests.seed", System.nanoTime() ^ 0x1234_5678_9ABCL);

    /** A seed for one named use, derived from the base seed. */
    public static long of(String name) {
        return BASE * 31 + name.hashCode();
    }

    @Override
    public void testFailed(ExtensionContext context, Throwable cause) {
        System.err.println("FAILED " + context.getDisplayName() + " -- reproduce with -Dtests.seed=" + BASE);
    }
}
