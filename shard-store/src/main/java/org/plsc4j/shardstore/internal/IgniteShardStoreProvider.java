package org.plsc4j.shardstore.internal;

import org.plsc4j.shardstore.ShardStore;
import org.plsc4j.shardstore.ShardStoreConfig;
import org.plsc4j.shardstore.ShardStoreProvider;

/** Provides the "ignite" store ({@link IgniteShardStore}). */
public final class IgniteShardStoreProvider implements ShardStoreProvider {

    @Override
    public String name() {
        return "ignite";
    }

    @Override
    public ShardStore open(ShardStoreConfig config) {
        return new IgniteShardStore(config);
    }
}
