package org.plsc4j.shardstore.internal;

import org.plsc4j.shardstore.ShardStore;
import org.plsc4j.shardstore.ShardStoreConfig;
import org.plsc4j.shardstore.ShardStoreProvider;

/** Provides the "local" store ({@link LocalFileShardStore}). */
public final class LocalFileShardStoreProvider implements ShardStoreProvider {

    @Override
    public String name() {
        return "local";
    }

    @Override
    public ShardStore open(ShardStoreConfig config) {
        return new LocalFileShardStore(config);
    }
}
