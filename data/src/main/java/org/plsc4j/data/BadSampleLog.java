package org.plsc4j.data;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The samples that were dropped because {@code skipBadSamples} is on. Skipping must never be
 * silent: every skipped sample is counted, logged (the first {@value #LOGGED} at WARN, the rest at
 * DEBUG) and the first {@value #KEPT} messages are kept so that a trainer can report them.
 * Thread-safe.
 */
public final class BadSampleLog {

    /** Messages logged at WARN before switching to DEBUG. */
    public static final int LOGGED = 20;

    /** Messages kept for {@link #examples()}. */
    public static final int KEPT = 100;

    private static final Logger LOG = LoggerFactory.getLogger(BadSampleLog.class);

    private final AtomicLong count = new AtomicLong();
    private final List<String> examples = new ArrayList<>();

    /** Counts and logs one skipped sample. */
    public void skipped(BadDataException e) {
        long n = count.incrementAndGet();
        if (n <= LOGGED) {
            LOG.warn("skipping bad sample ({} so far): {}", n, e.getMessage());
        } else {
            LOG.debug("skipping bad sample ({} so far): {}", n, e.getMessage());
        }
        synchronized (examples) {
            if (examples.size() < KEPT) {
                examples.add(e.getMessage());
            }
        }
    }

    /** How many samples were skipped. */
    public long count() {
        return count.get();
    }

    /** The first {@value #KEPT} messages, in the order they were recorded. */
    public List<String> examples() {
        synchronized (examples) {
            return List.copyOf(examples);
        }
    }
}
