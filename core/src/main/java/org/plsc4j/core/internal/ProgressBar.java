package org.plsc4j.core.internal;

import java.io.PrintStream;
import java.util.Locale;

/**
 * A one-line progress bar on stderr for long work (an epoch, loading, an evaluation): redrawn in
 * place on a terminal, and a plain line every tenth of the way (at most every 10 s) when stderr is
 * a file or a pipe, so logs stay readable. In core because training, evaluation (gpu-worker) and data
 * preparation (data) all report progress the same way.
 */
public final class ProgressBar implements AutoCloseable {

    private final String label;
    private final long total;
    private final PrintStream out;
    private final boolean terminal;
    private final long startNanos = System.nanoTime();
    private long lastPrintNanos;
    private long lastTenth = -1;
    private long done;

    /** A bar for {@code total} units of work. */
    public ProgressBar(String label, long total) {
        this(label, total, System.err, System.console() != null);
    }

    /** A bar writing to {@code out}, redrawn in place when {@code terminal}, else plain lines (tests use this). */
    public ProgressBar(String label, long total, PrintStream out, boolean terminal) {
        this.label = label;
        this.total = Math.max(1, total);
        this.out = out;
        this.terminal = terminal;
    }

    /** Advances by {@code n} units; {@code note} (e.g. "loss 3.21") is shown beside the bar. */
    public synchronized void step(long n, String note) {
        done = Math.min(total, done + n);
        long now = System.nanoTime();
        long tenth = done * 10 / total;
        if (terminal) {
            if (now - lastPrintNanos > 100_000_000L || done == total) {
                lastPrintNanos = now;
                out.print("\r" + render(note));
                out.flush();
            }
        } else if (tenth != lastTenth && (now - lastPrintNanos > 10_000_000_000L || done == total || lastTenth < 0)) {
            lastTenth = tenth;
            lastPrintNanos = now;
            out.println(render(note));
        }
    }

    /** The text of the bar as it would be drawn now. */
    synchronized String render(String note) {
        int width = 30;
        int filled = (int) (width * done / total);
        double secs = (System.nanoTime() - startNanos) / 1e9;
        double eta = done == 0 ? Double.NaN : secs * (total - done) / done;
        return String.format(Locale.ROOT, "%s [%s%s] %d/%d %.0fs%s%s", label, "#".repeat(filled),
                ".".repeat(width - filled), done, total, secs,
                Double.isNaN(eta) || done == total ? "" : String.format(Locale.ROOT, " eta %.0fs", eta),
                note == null || note.isEmpty() ? "" : "  " + note);
    }

    @Override
    public synchronized void close() {
        if (terminal) {
            out.println();
            out.flush();
        }
    }
}
