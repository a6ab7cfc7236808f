package org.plsc4j.worker.internal;

import java.io.PrintStream;
import org.plsc4j.core.internal.ProgressBar;

/** Test access to a non-terminal {@link ProgressBar} writing to a given stream. */
public final class ProgressBarProbe implements AutoCloseable {
    private final ProgressBar bar;

    public ProgressBarProbe(String label, long total, PrintStream out) {
        this.bar = new ProgressBar(label, total, out, false);
    }

    public void step(long n, String note) {
        bar.step(n, note);
    }

    @Override
    public void close() {
        bar.close();
    }
}
