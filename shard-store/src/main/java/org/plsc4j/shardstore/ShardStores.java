package org.plsc4j.shardstore;

import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

/** Finds {@link ShardStoreProvider}s with {@link ServiceLoader} and opens stores by name. */
public final class ShardStores {

    private ShardStores() {
    }

    /** All providers on the class path, in class-path order. */
    public static List<ShardStoreProvider> providers() {
        List<ShardStoreProvider> out = new ArrayList<>();
        ServiceLoader.load(ShardStoreProvider.class).forEach(out::add);
        return out;
    }

    /**
     * The provider called {@code name}.
     *
     * @throws IllegalArgumentException naming the known stores when none matches, or the reason
     *     when it exists but cannot run here
     */
    public static ShardStoreProvider provider(String name) {
        List<String> known = new ArrayList<>();
        for (ShardStoreProvider p : providers()) {
            known.add(p.name());
            if (p.name().equals(name)) {
                if (!p.isAvailable()) {
                    throw new IllegalArgumentException(
                            "shard store : " + name + " is not available here: " + p.unavailableReason());
                }
                return p;
            }
        }
        throw new IllegalArgumentException("shard store : " + name + " (expected one of " + known + ")");
    }

    /** Opens a store with the named implementation. */
    public static ShardStore open(String name, ShardStoreConfig config) {
        return provider(name).open(config);
    }
}
