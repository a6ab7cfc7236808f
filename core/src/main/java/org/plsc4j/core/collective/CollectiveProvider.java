package org.plsc4j.core.collective;

/**
 * Service-provider interface of a {@link Collective} backend ("inprocess", "netty", "nccl"),
 * registered in {@code META-INF/services/org.plsc4j.core.collective.CollectiveProvider}.
 */
public interface CollectiveProvider {

    /** Short name used in configs and on the command line. */
    String name();

    /** Whether this backend can run here (NCCL needs a GPU); cheap, never throws. */
    default boolean isAvailable() {
        return true;
    }

    /** Why {@link #isAvailable()} is false, for the error message; empty when available. */
    default String unavailableReason() {
        return "";
    }

    /**
     * Joins the group described by {@code config}; blocks until every member is connected or the
     * config's timeout passes.
     */
    Collective join(CollectiveConfig config);
}
