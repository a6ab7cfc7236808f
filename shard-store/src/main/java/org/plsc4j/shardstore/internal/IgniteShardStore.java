package org.plsc4j.shardstore.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import javax.cache.Cache;
import javax.cache.CacheException;
import javax.cache.processor.MutableEntry;
import org.apache.ignite.Ignite;
import org.apache.ignite.IgniteCache;
import org.apache.ignite.IgniteException;
import org.apache.ignite.Ignition;
import org.apache.ignite.cache.CacheAtomicityMode;
import org.apache.ignite.cache.CacheEntryProcessor;
import org.apache.ignite.cache.CacheMode;
import org.apache.ignite.cache.CacheRebalanceMode;
import org.apache.ignite.cache.CacheWriteSynchronizationMode;
import org.apache.ignite.cache.PartitionLossPolicy;
import org.apache.ignite.cache.affinity.rendezvous.RendezvousAffinityFunction;
import org.apache.ignite.cache.query.QueryCursor;
import org.apache.ignite.cache.query.ScanQuery;
import org.apache.ignite.configuration.CacheConfiguration;
import org.apache.ignite.configuration.DataRegionConfiguration;
import org.apache.ignite.configuration.DataStorageConfiguration;
import org.apache.ignite.configuration.IgniteConfiguration;
import org.apache.ignite.failure.StopNodeFailureHandler;
import org.apache.ignite.lang.IgniteBiPredicate;
import org.apache.ignite.logger.NullLogger;
import org.apache.ignite.spi.communication.tcp.TcpCommunicationSpi;
import org.apache.ignite.spi.discovery.tcp.TcpDiscoverySpi;
import org.apache.ignite.spi.discovery.tcp.ipfinder.vm.TcpDiscoveryVmIpFinder;
import org.plsc4j.shardstore.FcBlock;
import org.plsc4j.shardstore.ShardStore;
import org.plsc4j.shardstore.ShardStoreConfig;
import org.plsc4j.shardstore.ShardStoreException;

/**
 * The "ignite" store: an Apache Ignite 2.x node started inside this process (a server node that
 * holds part of the blocks, or with {@code client} a client node that only talks to the servers),
 * and one PARTITIONED cache of blocks.
 *
 * <p>Why these settings: {@code backups >= 1} with FULL_SYNC writes, so that a put has reached the
 * backup copy when it returns and one node can leave without losing a block; a safe
 * {@link PartitionLossPolicy} so that if more nodes leave than there are backups, reads of lost
 * blocks fail instead of returning "no block" (Ignite's default policy silently forgets them).
 * Discovery and communication bind to the configured host only (127.0.0.1 unless told otherwise), on
 * the configured small port ranges, with a static IP finder of that host and the configured discovery
 * hosts (workers take them from the worker registry in ZooKeeper): nodes never find strangers by
 * multicast. No peer class loading (values are
 * byte[] and keys strings, nothing to ship), no thin-client or REST connector, Ignite's own logging
 * off ({@link NullLogger}) so that no banner reaches CI logs.
 *
 * <p>Keys are {@code "job/block"} strings; values are {@link BlockCodec} byte[] (header with the
 * block's class range, dim and version, the floats, a CRC32C checked on every read).
 *
 * <p>{@link #merge} is one {@link IgniteCache#invoke} of {@link MergeProcessor}: the read, the
 * merge and the write run on the block's primary node under its per-key lock (the ATOMIC cache
 * supports invoke), and the result reaches the backups before invoke returns (FULL_SYNC). The
 * processor's class is on every node's class path (the nodes are embedded in one application), so
 * it needs no peer class loading.
 */
public final class IgniteShardStore implements ShardStore {

    private static final AtomicInteger INSTANCES = new AtomicInteger();

    private final ShardStoreConfig config;
    private final String instanceName;
    private final Path workDir;
    private final boolean ownWorkDir;
    private final Ignite ignite;
    private final IgniteCache<String, byte[]> cache;
    private final AtomicBoolean closed = new AtomicBoolean();

    public IgniteShardStore(ShardStoreConfig config) {
        this.config = Objects.requireNonNull(config, "config");
        this.instanceName = "plsc4j-shardstore-" + ProcessHandle.current().pid() + "-" + INSTANCES.incrementAndGet();
        try {
            if (config.workDirectory() != null) {
                workDir = Files.createDirectories(config.workDirectory());
                ownWorkDir = false;
            } else {
                workDir = Files.createTempDirectory("plsc4j-ignite-");
                ownWorkDir = true;
            }
        } catch (IOException e) {
            throw new ShardStoreException("cannot create the Ignite work directory: " + e, e);
        }
        try {
            ignite = Ignition.start(igniteConfig());
            cache = ignite.getOrCreateCache(cacheConfig());
        } catch (IgniteException | CacheException e) {
            stopQuietly();
            throw new ShardStoreException("cannot start Ignite node " + instanceName + " (discovery " + config.host()
                    + ":" + config.discoveryPort() + ".." + (config.discoveryPort() + config.portRange() - 1)
                    + ", probing " + discoveryAddresses() + "): " + e, e);
        }
    }

    /** {@code host:first..last} of this host and every discovery host, each once. */
    private List<String> discoveryAddresses() {
        String range = ":" + config.discoveryPort() + ".." + (config.discoveryPort() + config.portRange() - 1);
        List<String> addrs = new ArrayList<>();
        addrs.add(config.host() + range);
        for (String h : config.discoveryHosts()) {
            if (!addrs.contains(h + range)) {
                addrs.add(h + range);
            }
        }
        return addrs;
    }

    private IgniteConfiguration igniteConfig() {
        TcpDiscoveryVmIpFinder finder = new TcpDiscoveryVmIpFinder();
        finder.setAddresses(discoveryAddresses());
        TcpDiscoverySpi disco = new TcpDiscoverySpi();
        disco.setIpFinder(finder);
        disco.setLocalAddress(config.host());
        disco.setLocalPort(config.discoveryPort());
        disco.setLocalPortRange(config.portRange() - 1);
        disco.setJoinTimeout(config.joinTimeout().toMillis());
        TcpCommunicationSpi comm = new TcpCommunicationSpi();
        comm.setLocalAddress(config.host());
        comm.setLocalPort(config.communicationPort());
        comm.setLocalPortRange(config.portRange() - 1);
        DataRegionConfiguration region = new DataRegionConfiguration();
        region.setName("plsc4j-blocks");
        region.setInitialSize(Math.min(64L << 20, config.offHeapBytes()));
        region.setMaxSize(config.offHeapBytes());
        DataStorageConfiguration storage = new DataStorageConfiguration();
        storage.setDefaultDataRegionConfiguration(region);
        IgniteConfiguration c = new IgniteConfiguration();
        c.setIgniteInstanceName(instanceName);
        c.setClientMode(config.client());
        c.setPeerClassLoadingEnabled(false);
        c.setGridLogger(new NullLogger());
        c.setLocalHost(config.host());
        c.setDiscoverySpi(disco);
        c.setCommunicationSpi(comm);
        c.setDataStorageConfiguration(storage);
        c.setClientConnectorConfiguration(null);
        c.setConnectorConfiguration(null);
        c.setMetricsLogFrequency(0);
        c.setWorkDirectory(workDir.toString());
        // a critical failure stops this node only, never halts the JVM that trains
        c.setFailureHandler(new StopNodeFailureHandler());
        c.setPublicThreadPoolSize(4);
        c.setSystemThreadPoolSize(4);
        c.setQueryThreadPoolSize(2);
        c.setServiceThreadPoolSize(2);
        c.setDataStreamerThreadPoolSize(2);
        c.setManagementThreadPoolSize(2);
        c.setPeerClassLoadingThreadPoolSize(1);
        c.setAsyncCallbackPoolSize(2);
        c.setStripedPoolSize(4);
        c.setRebalanceThreadPoolSize(2);
        return c;
    }

    private CacheConfiguration<String, byte[]> cacheConfig() {
        CacheConfiguration<String, byte[]> cc = new CacheConfiguration<>(config.cacheName());
        cc.setCacheMode(CacheMode.PARTITIONED);
        cc.setAtomicityMode(CacheAtomicityMode.ATOMIC);
        cc.setBackups(config.backups());
        cc.setWriteSynchronizationMode(CacheWriteSynchronizationMode.FULL_SYNC);
        cc.setPartitionLossPolicy(PartitionLossPolicy.valueOf(config.lossPolicy()));
        cc.setRebalanceMode(CacheRebalanceMode.ASYNC);
        cc.setAffinity(new RendezvousAffinityFunction(false, config.partitions()));
        cc.setCopyOnRead(false);
        return cc;
    }

    @Override
    public String name() {
        return "ignite";
    }

    @Override
    public ShardStoreConfig config() {
        return config;
    }

    /** The embedded node (for tests and tools: topology, rebalancing). */
    public Ignite ignite() {
        return ignite;
    }

    /** Waits until this node's cache has finished rebalancing after a topology change. */
    @SuppressWarnings("deprecation")
    public void awaitRebalanced() {
        checkOpen();
        try {
            cache.rebalance().get(config.joinTimeout().toMillis());
        } catch (IgniteException e) {
            throw new ShardStoreException("rebalancing on " + instanceName + " did not finish: " + e, e);
        }
    }

    static String key(String job, int block) {
        return job + "/" + block;
    }

    @Override
    public void put(FcBlock b) {
        checkOpen();
        ShardStore.checkInBlock(b, config.blockRows());
        try {
            cache.put(key(b.job(), b.block()), BlockCodec.encode(b));
        } catch (CacheException | IgniteException e) {
            throw new ShardStoreException("cannot put " + b + ": " + e, e);
        }
    }

    @Override
    public void putAll(Collection<FcBlock> blocks) {
        checkOpen();
        Objects.requireNonNull(blocks, "blocks");
        // sorted keys: concurrent putAll calls with overlapping keys must not deadlock
        Map<String, byte[]> batch = new TreeMap<>();
        for (FcBlock b : blocks) {
            ShardStore.checkInBlock(b, config.blockRows());
            batch.put(key(b.job(), b.block()), BlockCodec.encode(b));
        }
        try {
            cache.putAll(batch);
        } catch (CacheException | IgniteException e) {
            throw new ShardStoreException("cannot put " + blocks.size() + " blocks: " + e, e);
        }
    }

    @Override
    public void merge(FcBlock piece) {
        checkOpen();
        ShardStore.checkInBlock(piece, config.blockRows());
        String k = key(piece.job(), piece.block());
        String failure;
        try {
            failure = cache.invoke(k, new MergeProcessor(), piece.job(), BlockCodec.encode(piece),
                    "ignite:" + config.cacheName() + "/" + k);
        } catch (CacheException | IgniteException e) {
            throw new ShardStoreException("cannot merge " + piece + " (lost partition?): " + e, e);
        }
        if (failure != null) {
            if (failure.startsWith(MergeProcessor.BAD_ARGUMENT)) {
                throw new IllegalArgumentException(failure.substring(MergeProcessor.BAD_ARGUMENT.length()));
            }
            throw new ShardStoreException("cannot merge " + piece + ": " + failure);
        }
    }

    /**
     * The atomic read-merge-write of {@link #merge}, run by Ignite on the key's primary node.
     * Arguments: the job, the {@link BlockCodec} bytes of the piece, and where the block is (for
     * messages). Returns null when merged, else why not ({@link #BAD_ARGUMENT} and the message of
     * the {@link IllegalArgumentException}, or a corrupt stored block), leaving the entry as it
     * was: a message is simpler to send back than an exception, which Ignite would wrap. A named
     * class with no state, not a lambda: Ignite marshals it to the primary node. Merging the same
     * piece twice gives the same block, so a retry by Ignite is harmless.
     */
    static final class MergeProcessor implements CacheEntryProcessor<String, byte[], String> {
        private static final long serialVersionUID = 1L;
        static final String BAD_ARGUMENT = "IllegalArgumentException: ";

        @Override
        public String process(MutableEntry<String, byte[]> entry, Object... args) {
            String job = (String) args[0];
            byte[] bytes = (byte[]) args[1];
            String where = (String) args[2];
            try {
                byte[] old = entry.getValue();
                if (old == null) {
                    entry.setValue(bytes);
                    return null;
                }
                FcBlock piece = BlockCodec.decode(job, bytes, "the piece to merge into " + where);
                FcBlock stored = BlockCodec.decode(job, old, where);
                try {
                    entry.setValue(BlockCodec.encode(BlockMerge.merge(stored, piece)));
                } catch (IllegalArgumentException e) {
                    return BAD_ARGUMENT + e.getMessage();
                }
                return null;
            } catch (ShardStoreException e) {
                return e.getMessage();
            }
        }
    }

    @Override
    public Optional<FcBlock> get(String job, int block) {
        checkOpen();
        ShardStore.checkJob(job);
        if (block < 0) {
            throw new IllegalArgumentException("block : " + block + " (expected: >= 0)");
        }
        String k = key(job, block);
        byte[] v;
        try {
            v = cache.get(k);
        } catch (CacheException | IgniteException e) {
            throw new ShardStoreException("cannot get block " + k + " (lost partition?): " + e, e);
        }
        return v == null ? Optional.empty() : Optional.of(decode(job, block, k, v));
    }

    @Override
    public Map<Integer, FcBlock> getAll(String job, Collection<Integer> blocks) {
        checkOpen();
        ShardStore.checkJob(job);
        Objects.requireNonNull(blocks, "blocks");
        Map<String, Integer> keys = new LinkedHashMap<>();
        for (Integer b : blocks) {
            if (Objects.requireNonNull(b, "block") < 0) {
                throw new IllegalArgumentException("block : " + b + " (expected: >= 0)");
            }
            keys.put(key(job, b), b);
        }
        Map<String, byte[]> got;
        try {
            got = cache.getAll(keys.keySet());
        } catch (CacheException | IgniteException e) {
            throw new ShardStoreException("cannot get " + keys.size() + " blocks of " + job + " (lost partition?): "
                    + e, e);
        }
        Map<Integer, FcBlock> out = new LinkedHashMap<>();
        for (Map.Entry<String, Integer> e : keys.entrySet()) {
            byte[] v = got.get(e.getKey());
            if (v != null) {
                out.put(e.getValue(), decode(job, e.getValue(), e.getKey(), v));
            }
        }
        return out;
    }

    private FcBlock decode(String job, int block, String k, byte[] v) {
        FcBlock b = BlockCodec.decode(job, v, "ignite:" + config.cacheName() + "/" + k);
        if (b.block() != block) {
            throw new ShardStoreException("corrupt block ignite:" + k + ": holds block " + b.block());
        }
        return b;
    }

    @Override
    public int remove(String job) {
        checkOpen();
        String prefix = ShardStore.checkJob(job) + "/";
        IgniteBiPredicate<String, byte[]> filter = new KeyPrefix(prefix);
        List<String> keys = new ArrayList<>();
        try (QueryCursor<Cache.Entry<String, byte[]>> cur = cache.query(new ScanQuery<>(filter))) {
            for (Cache.Entry<String, byte[]> e : cur) {
                keys.add(e.getKey());
            }
        } catch (CacheException | IgniteException e) {
            throw new ShardStoreException("cannot list the blocks of " + job + ": " + e, e);
        }
        try {
            cache.removeAll(new java.util.TreeSet<>(keys));
        } catch (CacheException | IgniteException e) {
            throw new ShardStoreException("cannot remove the blocks of " + job + ": " + e, e);
        }
        return keys.size();
    }

    /**
     * Scan filter on key prefixes. A named class, not a lambda: Ignite marshals the filter to every
     * node and cannot marshal a SerializedLambda without yet another --add-opens.
     */
    static final class KeyPrefix implements IgniteBiPredicate<String, byte[]> {
        private static final long serialVersionUID = 1L;
        private final String prefix;

        KeyPrefix(String prefix) {
            this.prefix = prefix;
        }

        @Override
        public boolean apply(String key, byte[] value) {
            return key.startsWith(prefix);
        }
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            stopQuietly();
        }
    }

    private void stopQuietly() {
        try {
            Ignition.stop(instanceName, true);
        } catch (RuntimeException ignored) {
            // already stopped by its failure handler
        }
        if (ownWorkDir) {
            deleteTree(workDir);
        }
    }

    private static void deleteTree(Path dir) {
        try (var s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort
                }
            });
        } catch (IOException ignored) {
            // best effort
        }
    }

    private void checkOpen() {
        if (closed.get()) {
            throw new IllegalStateException("the ignite shard store " + instanceName + " is closed");
        }
    }

    @Override
    public String toString() {
        return "IgniteShardStore[" + instanceName + ", " + (config.client() ? "client" : "server") + ", discovery "
                + config.host() + ":" + config.discoveryPort() + "+" + config.portRange() + ", backups " + config.backups() + "]";
    }
}
