package org.plsc4j.coordinator;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.zookeeper.server.ServerCnxnFactory;
import org.apache.zookeeper.server.ZooKeeperServer;

/**
 * A single ZooKeeper server inside this JVM, bound to 127.0.0.1 on a free port, for one-machine
 * jobs ({@code ./plsc4j train --workers N} without {@code --zk}).
 *
 * <p>Why ZooKeeper's own {@link ZooKeeperServer} + {@link ServerCnxnFactory} rather than
 * curator-test's {@code TestingServer}: the latter would put test libraries (JUnit) on the main
 * class path; the two server classes are what {@code ZooKeeperServerMain} uses, minus the admin
 * HTTP server and the JMX/config-file plumbing. Data (snapshots, transaction log) lives in
 * {@code dataDir}, so a restarted embedded server keeps the job's nodes.
 */
public final class EmbeddedZooKeeper implements AutoCloseable {

    /** ZooKeeper's tick: sessions may last 2 to 20 ticks (4 s to 40 s). */
    private static final int TICK_MILLIS = 2_000;

    private final ZooKeeperServer server;
    private final ServerCnxnFactory factory;
    private final AtomicBoolean closed = new AtomicBoolean();

    private EmbeddedZooKeeper(ZooKeeperServer server, ServerCnxnFactory factory) {
        this.server = server;
        this.factory = factory;
    }

    /**
     * Starts a server keeping its data in {@code dataDir} (created if needed).
     *
     * @throws CoordinatorException if it cannot bind or read its data
     */
    public static EmbeddedZooKeeper start(Path dataDir) {
        ServerCnxnFactory factory = null;
        ZooKeeperServer server = null;
        try {
            Files.createDirectories(dataDir);
            server = new ZooKeeperServer(dataDir.resolve("snapshots").toFile(), dataDir.resolve("log").toFile(),
                    TICK_MILLIS);
            factory = ServerCnxnFactory.createFactory(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 200);
            factory.startup(server);
            return new EmbeddedZooKeeper(server, factory);
        } catch (IOException | RuntimeException e) {
            stop(factory, server);
            throw new CoordinatorException("embedded zookeeper in " + dataDir + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stop(factory, server);
            throw new CoordinatorException("embedded zookeeper in " + dataDir + ": interrupted while starting", e);
        }
    }

    /** The bound port. */
    public int port() {
        return factory.getLocalPort();
    }

    /** "127.0.0.1:port", for {@link ZkClients#connect}. */
    public String connectString() {
        return "127.0.0.1:" + port();
    }

    /** Stops the server (clients lose their sessions' connection). Idempotent. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            stop(factory, server);
        }
    }

    private static void stop(ServerCnxnFactory factory, ZooKeeperServer server) {
        if (factory != null) {
            factory.shutdown();
        }
        if (server != null && server.isRunning()) {
            server.shutdown();
        }
        if (server != null) {
            try {
                server.getTxnLogFactory().close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
    }
}
