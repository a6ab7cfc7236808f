package org.plsc4j.worker.internal;

import java.io.PrintStream;

/**
 * Runs a library call with {@code System.out} pointed at {@code System.err}. SameDiff 1.0.0-M2.1's
 * {@code createGradFunction} prints one "Added differentiated op ..." line per op with
 * {@code System.out.println}; plsc4j's commands keep stdout for results, so the one-time gradient
 * graph build is wrapped in this. Process-wide while it runs (serialised by a lock).
 */
final class StdoutToStderr {

    private StdoutToStderr() {
    }

    static synchronized void run(Runnable r) {
        PrintStream out = System.out;
        System.setOut(System.err);
        try {
            r.run();
        } finally {
            System.setOut(out);
        }
    }
}
