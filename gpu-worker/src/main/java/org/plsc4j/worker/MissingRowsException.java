package org.plsc4j.worker;

import java.util.List;

/**
 * A generation of an elastic job could not read FC rows that were trained: the shard store was
 * unreachable or lost blocks beyond its backups. Thrown on every rank of the generation (they agree
 * on it), so the job stops rather than silently restarting trained class centers from their initial
 * values; {@code allow_missing_rows: true} accepts the loss instead (counted in {@code metrics.jsonl}).
 */
public final class MissingRowsException extends IllegalStateException {

    private static final long serialVersionUID = 1L;

    /** Missing classes of the whole generation (possibly only the first ranges of each rank). */
    private final transient List<FcRowStore.Range> classes;
    private final long missingRows;

    MissingRowsException(String message, List<FcRowStore.Range> classes, long missingRows) {
        super(message);
        this.classes = List.copyOf(classes);
        this.missingRows = missingRows;
    }

    /** The missing classes named in the message (each rank's first ranges), ascending. */
    public List<FcRowStore.Range> classes() {
        return classes == null ? List.of() : classes;
    }

    /** How many rows were missing over all ranks. */
    public long missingRows() {
        return missingRows;
    }
}
