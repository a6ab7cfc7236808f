package org.plsc4j.worker;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import org.plsc4j.core.collective.Collective;

/**
 * Who a {@link Trainer} trains with, generation after generation.
 *
 * <p>Why an interface: a job launched with a fixed group ({@link #fixed}) never changes, while an
 * elastic job (the ZooKeeper coordinator, module {@code elastic}) publishes a new generation when a
 * worker dies or joins. The trainer asks at every step boundary whether its generation is
 * {@link #superseded superseded}; if so (or if a collective operation fails because a peer is gone)
 * it saves its FC rows to {@link #rows()}, closes the collective and {@link #join joins} the next
 * generation, where it re-partitions the FC from those rows and continues from the same step.
 */
public interface Membership extends AutoCloseable {

    /**
     * This worker's place in one generation.
     *
     * @param generation the generation number (&gt;= 1)
     * @param collective the group of that generation, owned by the trainer until it leaves
     */
    record Member(long generation, Collective collective) {

        /** Checks the fields. */
        public Member {
            Objects.requireNonNull(collective, "collective");
            if (generation < 1) {
                throw new IllegalArgumentException("generation : " + generation + " (expected: >= 1)");
            }
        }
    }

    /**
     * Blocks until this worker is a member of a generation numbered above {@code after} and its
     * collective is open.
     *
     * @throws RuntimeException when no such generation comes in time or the job failed; the message
     *     says why
     */
    Member join(long after);

    /** Whether a generation newer than {@code generation} exists; cheap, called at every step. */
    boolean superseded(long generation);

    /** Whether generations can change (false: collective failures end the run at once). */
    boolean elastic();

    /** Where FC rows live between generations; null when {@link #elastic()} is false. */
    FcRowStore rows();

    /** Called once by rank 0 when the job has finished, before any rank leaves. */
    default void finished() {
    }

    /** Leaves the job (deregisters); idempotent. Does not close the collectives handed out. */
    @Override
    void close();

    /** A single generation of the given, already open, group. */
    static Membership fixed(Collective collective) {
        Objects.requireNonNull(collective, "collective");
        AtomicBoolean joined = new AtomicBoolean();
        return new Membership() {
            @Override
            public Member join(long after) {
                if (after != 0 || !joined.compareAndSet(false, true)) {
                    throw new IllegalStateException("a fixed group has one generation (asked for one after " + after
                            + ")");
                }
                return new Member(1, collective);
            }

            @Override
            public boolean superseded(long generation) {
                return false;
            }

            @Override
            public boolean elastic() {
                return false;
            }

            @Override
            public FcRowStore rows() {
                return null;
            }

            @Override
            public void close() {
            }
        };
    }
}
