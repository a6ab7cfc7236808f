package org.plsc4j.worker;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.plsc4j.core.collective.Collective;

/**
 * The classes a generation could not read from the shard store, gathered from every rank so that
 * each rank's error names the same classes (at most {@link #PER_RANK} ranges of each rank).
 */
final class MissingRows {

    /** Ranges each rank contributes to the message. */
    static final int PER_RANK = 8;

    private MissingRows() {
    }

    /** Every rank's first missing ranges, ascending (a collective call: every rank makes it). */
    static List<FcRowStore.Range> gather(Collective c, List<FcRowStore.Range> mine) {
        int[] send = new int[2 * PER_RANK];
        java.util.Arrays.fill(send, -1);
        for (int i = 0; i < Math.min(PER_RANK, mine.size()); i++) {
            send[2 * i] = mine.get(i).start();
            send[2 * i + 1] = mine.get(i).end();
        }
        int[] recv = new int[send.length * c.worldSize()];
        c.allGather(send, recv);
        List<FcRowStore.Range> all = new ArrayList<>();
        for (int i = 0; i < recv.length; i += 2) {
            if (recv[i] >= 0) {
                all.add(new FcRowStore.Range(recv[i], recv[i + 1]));
            }
        }
        all.sort(Comparator.comparingInt(FcRowStore.Range::start));
        return all;
    }

    /** The error of a generation that lost trained rows, naming the key, the classes and the store. */
    static String message(long generation, long missing, List<FcRowStore.Range> classes, String store) {
        StringBuilder s = new StringBuilder("allow_missing_rows : false (generation ").append(generation)
                .append(" cannot read ").append(missing).append(" trained rows from the ").append(store)
                .append(": classes ");
        for (int i = 0; i < classes.size(); i++) {
            s.append(i == 0 ? "" : ", ").append(classes.get(i));
        }
        long named = classes.stream().mapToLong(FcRowStore.Range::size).sum();
        if (named < missing) {
            s.append(" and more");
        }
        return s.append("; the store was unreachable or lost blocks beyond its backups. Stopping rather than"
                + " restarting trained class centers from their initial values (expected: every trained row in the"
                + " store, or allow_missing_rows: true to continue with them reset, counted in metrics.jsonl)")
                .toString();
    }
}
