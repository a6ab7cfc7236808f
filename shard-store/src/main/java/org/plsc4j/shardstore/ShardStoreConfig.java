package org.plsc4j.shardstore;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * Settings of a {@link ShardStore}; build with {@link #builder()}. Every field is validated here,
 * and the message names the key. Keys that one store does not use are ignored by it.
 *
 * @param blockRows classes per block (all stores), default 1024
 * @param directory where the "local" store keeps its files (required by it); unused by "ignite"
 * @param fsync "local": force each block file to disk before the rename that publishes it
 * @param backups "ignite": copies of each partition on other nodes, at least 1
 * @param lossPolicy "ignite": {@code READ_WRITE_SAFE} (default) or {@code READ_ONLY_SAFE}: reads
 *     of a lost partition fail instead of returning nothing
 * @param discoveryPort "ignite": first discovery port on {@code host}
 * @param communicationPort "ignite": first communication port on {@code host}
 * @param portRange "ignite": how many ports after each first port the nodes may use; also the
 *     discovery addresses every node probes
 * @param client "ignite": join existing server nodes as a client node that holds no data
 * @param partitions "ignite": cache partitions
 * @param offHeapBytes "ignite": maximum off-heap memory of the node's data region
 * @param joinTimeout "ignite": how long to wait for the cluster (a client with no server fails after it)
 * @param cacheName "ignite": the cache that holds the blocks
 * @param workDirectory "ignite": the node's work directory; null means a fresh temp directory
 * @param host "ignite": the address this node binds and advertises (default 127.0.0.1: one machine);
 *     on a cluster the address the other hosts reach this one at
 * @param discoveryHosts "ignite": the other hosts whose discovery ports this node probes to join the
 *     cluster (besides {@code host}); workers fill it from the worker registry in ZooKeeper
 */
public record ShardStoreConfig(int blockRows, Path directory, boolean fsync, int backups, String lossPolicy,
                               int discoveryPort, int communicationPort, int portRange, boolean client,
                               int partitions, long offHeapBytes, Duration joinTimeout, String cacheName,
                               Path workDirectory, String host, List<String> discoveryHosts) {

    /** On 127.0.0.1 only (one machine). */
    public ShardStoreConfig(int blockRows, Path directory, boolean fsync, int backups, String lossPolicy,
                            int discoveryPort, int communicationPort, int portRange, boolean client,
                            int partitions, long offHeapBytes, Duration joinTimeout, String cacheName,
                            Path workDirectory) {
        this(blockRows, directory, fsync, backups, lossPolicy, discoveryPort, communicationPort, portRange, client,
                partitions, offHeapBytes, joinTimeout, cacheName, workDirectory, "127.0.0.1", List.of());
    }

    /** Validates every field. */
    public ShardStoreConfig {
        if (blockRows < 1) {
            throw new IllegalArgumentException("blockRows : " + blockRows + " (expected: >= 1)");
        }
        if (backups < 1) {
            throw new IllegalArgumentException("backups : " + backups
                    + " (expected: >= 1 for the ignite store; with 0 a leaving node loses its blocks silently)");
        }
        Objects.requireNonNull(lossPolicy, "lossPolicy");
        if (!lossPolicy.equals("READ_WRITE_SAFE") && !lossPolicy.equals("READ_ONLY_SAFE")) {
            throw new IllegalArgumentException("lossPolicy : " + lossPolicy
                    + " (expected: READ_WRITE_SAFE or READ_ONLY_SAFE; the other policies hide lost blocks)");
        }
        checkPort("discoveryPort", discoveryPort);
        checkPort("communicationPort", communicationPort);
        if (portRange < 1 || portRange > 100) {
            throw new IllegalArgumentException("portRange : " + portRange + " (expected: 1..100)");
        }
        if (discoveryPort + portRange - 1 > 65535 || communicationPort + portRange - 1 > 65535) {
            throw new IllegalArgumentException("portRange : " + portRange + " (expected: ports up to 65535)");
        }
        if (discoveryPort < communicationPort + portRange && communicationPort < discoveryPort + portRange) {
            throw new IllegalArgumentException("communicationPort : " + communicationPort
                    + " (expected: its range not to overlap the discovery ports " + discoveryPort + ".."
                    + (discoveryPort + portRange - 1) + ")");
        }
        if (partitions < 1 || partitions > 65000) {
            throw new IllegalArgumentException("partitions : " + partitions + " (expected: 1..65000)");
        }
        if (offHeapBytes < (16L << 20)) {
            throw new IllegalArgumentException("offHeapBytes : " + offHeapBytes + " (expected: >= 16 MiB)");
        }
        Objects.requireNonNull(joinTimeout, "joinTimeout");
        if (joinTimeout.isNegative() || joinTimeout.isZero()) {
            throw new IllegalArgumentException("joinTimeout : " + joinTimeout + " (expected: > 0)");
        }
        Objects.requireNonNull(cacheName, "cacheName");
        if (cacheName.isBlank()) {
            throw new IllegalArgumentException("cacheName : \"" + cacheName + "\" (expected: not blank)");
        }
        Objects.requireNonNull(host, "host");
        if (host.isBlank()) {
            throw new IllegalArgumentException("host : \"" + host + "\" (expected: an address of this host)");
        }
        discoveryHosts = List.copyOf(Objects.requireNonNull(discoveryHosts, "discoveryHosts"));
        for (String h : discoveryHosts) {
            if (h.isBlank() || h.contains(":") && !h.startsWith("[")) {
                throw new IllegalArgumentException("discoveryHosts : \"" + h
                        + "\" (expected: a host name or address without a port, IPv6 in brackets)");
            }
        }
    }

    private static void checkPort(String key, int port) {
        if (port < 1024 || port > 65535) {
            throw new IllegalArgumentException(key + " : " + port + " (expected: 1024..65535)");
        }
    }

    /** A builder with the defaults. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder starting from this config. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.blockRows = blockRows;
        b.directory = directory;
        b.fsync = fsync;
        b.backups = backups;
        b.lossPolicy = lossPolicy;
        b.discoveryPort = discoveryPort;
        b.communicationPort = communicationPort;
        b.portRange = portRange;
        b.client = client;
        b.partitions = partitions;
        b.offHeapBytes = offHeapBytes;
        b.joinTimeout = joinTimeout;
        b.cacheName = cacheName;
        b.workDirectory = workDirectory;
        b.host = host;
        b.discoveryHosts = discoveryHosts;
        return b;
    }

    /** Builds a {@link ShardStoreConfig}; fields are checked by {@link #build()}. */
    public static final class Builder {
        private int blockRows = 1024;
        private Path directory;
        private boolean fsync = true;
        private int backups = 1;
        private String lossPolicy = "READ_WRITE_SAFE";
        private int discoveryPort = 47500;
        private int communicationPort = 47100;
        private int portRange = 10;
        private boolean client;
        private int partitions = 64;
        private long offHeapBytes = 512L << 20;
        private Duration joinTimeout = Duration.ofSeconds(20);
        private String cacheName = "plsc4j-fc-blocks";
        private Path workDirectory;
        private String host = "127.0.0.1";
        private List<String> discoveryHosts = List.of();

        private Builder() {
        }

        public Builder blockRows(int v) {
            blockRows = v;
            return this;
        }

        public Builder directory(Path v) {
            directory = v;
            return this;
        }

        public Builder fsync(boolean v) {
            fsync = v;
            return this;
        }

        public Builder backups(int v) {
            backups = v;
            return this;
        }

        public Builder lossPolicy(String v) {
            lossPolicy = v;
            return this;
        }

        public Builder discoveryPort(int v) {
            discoveryPort = v;
            return this;
        }

        public Builder communicationPort(int v) {
            communicationPort = v;
            return this;
        }

        public Builder portRange(int v) {
            portRange = v;
            return this;
        }

        public Builder client(boolean v) {
            client = v;
            return this;
        }

        public Builder partitions(int v) {
            partitions = v;
            return this;
        }

        public Builder offHeapBytes(long v) {
            offHeapBytes = v;
            return this;
        }

        public Builder joinTimeout(Duration v) {
            joinTimeout = v;
            return this;
        }

        public Builder cacheName(String v) {
            cacheName = v;
            return this;
        }

        public Builder workDirectory(Path v) {
            workDirectory = v;
            return this;
        }

        public Builder host(String v) {
            host = v;
            return this;
        }

        public Builder discoveryHosts(List<String> v) {
            discoveryHosts = v;
            return this;
        }

        public ShardStoreConfig build() {
            return new ShardStoreConfig(blockRows, directory, fsync, backups, lossPolicy, discoveryPort,
                    communicationPort, portRange, client, partitions, offHeapBytes, joinTimeout, cacheName,
                    workDirectory, host, discoveryHosts);
        }
    }
}
