package org.plsc4j.coordinator.internal;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.plsc4j.coordinator.Generation;
import org.plsc4j.coordinator.JobSpec;
import org.plsc4j.coordinator.RegisteredWorker;
import org.plsc4j.coordinator.WorkerInfo;

/**
 * The torchrun-like membership rule, as a pure function of the registry, the current generation
 * and how long the registry has been unchanged (so it is tested without ZooKeeper).
 *
 * <p>The members of the next generation are the first {@code max_workers} registered workers in
 * registration order (the rest are standbys). If they equal the current generation's members
 * nothing happens. Otherwise: fewer than {@code min_workers} → wait; {@code max_workers} present →
 * publish now; else publish once the registry has been unchanged for the settle window.
 *
 * <p>Device kinds are never mixed: only workers of the generation's device kind
 * ({@link WorkerInfo#deviceKind()}: "cpu", "cuda") are candidates. The kind is the current generation's
 * while one of its members is still registered, else the first registered worker's; workers of another
 * kind wait as standbys.
 *
 * <p>{@link #lostMembers} tells the coordinator whether the next generation is a restart (a member
 * of the current generation is gone) or a scale-up (only joins), for {@code max_restarts}.
 */
public final class GenerationPolicy {

    private GenerationPolicy() {
    }

    /** What to do now. */
    public sealed interface Decision permits UpToDate, Wait, Settle, Publish {
    }

    /** The current generation matches the registry. */
    public record UpToDate(int standbys) implements Decision {
    }

    /** Too few workers; {@code message} says how many more are needed. */
    public record Wait(String message) implements Decision {
    }

    /** A new generation is due once {@code remaining} more time passes without a change. */
    public record Settle(Duration remaining, List<RegisteredWorker> members) implements Decision {
    }

    /** Publish a generation of {@code members} (in rank order) now. */
    public record Publish(List<RegisteredWorker> members) implements Decision {
    }

    /**
     * Decides.
     *
     * @param registered the registered workers in registration order
     * @param current the current generation, or null
     * @param unchangedFor how long {@code registered} has been as it is
     */
    public static Decision decide(JobSpec spec, List<RegisteredWorker> registered, Generation current,
            Duration unchangedFor) {
        String kind = kindOf(current, registered);
        List<RegisteredWorker> candidates = registered.stream().filter(w -> w.info().deviceKind().equals(kind)).toList();
        List<RegisteredWorker> members = candidates.subList(0, Math.min(spec.maxWorkers(), candidates.size()));
        List<String> ids = members.stream().map(RegisteredWorker::workerId).toList();
        if (current != null && current.workerIds().equals(ids)) {
            return new UpToDate(registered.size() - members.size());
        }
        if (members.size() < spec.minWorkers()) {
            int more = spec.minWorkers() - members.size();
            int others = registered.size() - candidates.size();
            return new Wait("waiting for " + more + " more workers (have "
                    + members.size() + ", min " + spec.minWorkers() + ")"
                    + (others == 0 ? "" : " of device kind " + kind + "; " + others
                    + " registered workers of another kind are not mixed in"));
        }
        if (members.size() >= spec.maxWorkers() || unchangedFor.compareTo(spec.settle()) >= 0) {
            return new Publish(List.copyOf(members));
        }
        return new Settle(spec.settle().minus(unchangedFor), List.copyOf(members));
    }

    /**
     * The device kind of the next generation: that of the current generation's first member still
     * registered, else that of the first registered worker ("cpu" when there is none).
     */
    static String kindOf(Generation current, List<RegisteredWorker> registered) {
        if (current != null) {
            Set<String> members = Set.copyOf(current.workerIds());
            for (RegisteredWorker w : registered) {
                if (members.contains(w.workerId())) {
                    return w.info().deviceKind();
                }
            }
        }
        return registered.isEmpty() ? "cpu" : registered.get(0).info().deviceKind();
    }

    /**
     * The members of {@code current} that are no longer registered, in rank order (empty when
     * {@code current} is null). Why: a generation published while this is non-empty is a restart
     * in torchrun's sense and counts against {@code max_restarts}; one caused only by joins or by
     * a standby leaving is not.
     */
    public static List<String> lostMembers(Generation current, List<RegisteredWorker> registered) {
        if (current == null) {
            return List.of();
        }
        Set<String> present = registered.stream().map(RegisteredWorker::workerId).collect(Collectors.toSet());
        return current.workerIds().stream().filter(w -> !present.contains(w)).toList();
    }
}
