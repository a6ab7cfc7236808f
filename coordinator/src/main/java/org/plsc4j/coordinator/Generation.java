package org.plsc4j.coordinator;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.plsc4j.core.ClassLayout;

/**
 * One published membership of a job: its number and, per rank, the worker and its class range.
 *
 * <p>Why immutable and validated on construction: a generation is the unit workers act on
 * (re-partition, reopen the collective); a reader must either get a complete, consistent one or an
 * exception — never ranks with gaps or class ranges that do not tile {@code [0, numClasses)}.
 *
 * @param number the generation number, &gt;= 1, increasing by one per publication
 * @param numClasses C
 * @param layout the layout the ranges were cut with
 * @param ranks the ranks in order 0..N-1
 * @param restarts how many restarts the job has had up to and including this generation: the number
 *     of generations so far published because a member of the previous one was lost (torchrun's
 *     restart count; joins do not count). Stored here so that it is written atomically with the
 *     generation and a coordinator taking over continues the count.
 */
public record Generation(long number, int numClasses, ClassLayout.Kind layout, List<RankAssignment> ranks,
        int restarts) {

    /** Validates completeness: dense ranks, contiguous class ranges covering every class exactly once. */
    public Generation {
        Objects.requireNonNull(layout, "layout");
        ranks = List.copyOf(Objects.requireNonNull(ranks, "ranks"));
        if (number < 1) {
            throw new IllegalArgumentException("generation : " + number + " (expected: >= 1)");
        }
        if (restarts < 0) {
            throw new IllegalArgumentException("generation " + number + ": restarts : " + restarts
                    + " (expected: >= 0)");
        }
        if (ranks.isEmpty()) {
            throw new IllegalArgumentException("generation " + number + ": ranks : [] (expected: at least one rank)");
        }
        int next = 0;
        for (int r = 0; r < ranks.size(); r++) {
            RankAssignment a = ranks.get(r);
            if (a.rank() != r) {
                throw new IllegalArgumentException("generation " + number + ": ranks[" + r + "].rank : " + a.rank()
                        + " (expected: " + r + ")");
            }
            if (a.classStart() != next || a.classEnd() <= a.classStart()) {
                throw new IllegalArgumentException("generation " + number + ": rank " + r + " classes ["
                        + a.classStart() + ", " + a.classEnd() + ") (expected: a non-empty range starting at " + next + ")");
            }
            next = a.classEnd();
        }
        if (next != numClasses) {
            throw new IllegalArgumentException("generation " + number + ": class ranges end at " + next
                    + " (expected: num_classes = " + numClasses + ")");
        }
    }

    /** A generation with no restarts so far (kept for callers written before the restart count). */
    public Generation(long number, int numClasses, ClassLayout.Kind layout, List<RankAssignment> ranks) {
        this(number, numClasses, layout, ranks, 0);
    }

    /**
     * The generation {@code number} of {@code members} (in rank order), class ranges from the
     * spec's layout over {@code members.size()} ranks, with no restarts so far.
     */
    public static Generation of(long number, JobSpec spec, List<RegisteredWorker> members) {
        return of(number, spec, members, 0);
    }

    /**
     * Like {@link #of(long, JobSpec, List)} with the job's restart count up to and including this
     * generation (the coordinator carries it from one generation to the next).
     */
    public static Generation of(long number, JobSpec spec, List<RegisteredWorker> members, int restarts) {
        ClassLayout layout = spec.layoutFor(members.size());
        List<RankAssignment> ranks = new ArrayList<>(members.size());
        for (int r = 0; r < members.size(); r++) {
            RegisteredWorker w = members.get(r);
            ranks.add(new RankAssignment(r, w.workerId(), w.info().host(), w.info().port(), layout.start(r),
                    layout.end(r)));
        }
        return new Generation(number, spec.numClasses(), spec.layout(), ranks, restarts);
    }

    /** Number of ranks N. */
    public int worldSize() {
        return ranks.size();
    }

    /** The worker ids in rank order. */
    public List<String> workerIds() {
        return ranks.stream().map(RankAssignment::workerId).toList();
    }

    /** The assignment of {@code workerId}, if it is a member. */
    public Optional<RankAssignment> assignmentOf(String workerId) {
        return ranks.stream().filter(a -> a.workerId().equals(workerId)).findFirst();
    }

    /** The class layout the ranges follow. */
    public ClassLayout classLayout() {
        return ClassLayout.of(layout, numClasses, ranks.size());
    }
}
