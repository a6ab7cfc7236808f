package org.plsc4j.shardstore;

/**
 * Service-provider interface of a {@link ShardStore} implementation ("local", "ignite"),
 * registered in {@code META-INF/services/org.plsc4j.shardstore.ShardStoreProvider}.
 */
public interface ShardStoreProvider {

    /** Short name used in configs and on the command line. */
    String name();

    /** Whether this store can run here; cheap, never throws. */
    default boolean isAvailable() {
        return true;
    }

    /** Why {@link #isAvailable()} is false, for the error message; empty when available. */
    default String unavailableReason() {
        return "";
    }

    /**
     * Opens a store.
     *
     * @throws IllegalArgumentException when {@code config} does not suit this store, naming the key
     */
    ShardStore open(ShardStoreConfig config);
}
