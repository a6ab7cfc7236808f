package org.plsc4j.coordinator;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.plsc4j.coordinator.internal.JobAclProvider;

/**
 * Builds the Curator clients every coordinator, worker and tool of a job uses.
 *
 * <p>Why one factory: the ACL scheme only protects a job when every client that writes it
 * authenticates the same way. With {@code zk_auth} "user:password" the client adds a digest
 * identity and creates job nodes readable and writable by that identity only, so other clients
 * (anonymous, or with other credentials) can neither read the job token nor change assignments.
 */
public final class ZkClients {

    /** Default session timeout: a killed worker's registration vanishes after about this long. */
    public static final Duration DEFAULT_SESSION_TIMEOUT = Duration.ofSeconds(10);

    private ZkClients() {
    }

    /**
     * A started client of {@code connectString}.
     *
     * @param zkAuth "user:password" for digest authentication and creator-only ACLs, or null/empty
     *     for open ACLs (a trusted network)
     * @param sessionTimeout the ZooKeeper session timeout
     */
    public static CuratorFramework connect(String connectString, String zkAuth, Duration sessionTimeout) {
        CuratorFramework c = newClient(connectString, zkAuth, sessionTimeout);
        c.start();
        return c;
    }

    /** Like {@link #connect} but not started (call {@code start()}). */
    public static CuratorFramework newClient(String connectString, String zkAuth, Duration sessionTimeout) {
        Objects.requireNonNull(connectString, "connectString");
        if (connectString.isBlank()) {
            throw new IllegalArgumentException("zk : \"\" (expected: host:port[,host:port...][/chroot])");
        }
        if (sessionTimeout.isNegative() || sessionTimeout.isZero() || sessionTimeout.toMillis() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("session_timeout : " + sessionTimeout + " (expected: > 0)");
        }
        CuratorFrameworkFactory.Builder b = CuratorFrameworkFactory.builder()
                .connectString(connectString)
                .sessionTimeoutMs((int) sessionTimeout.toMillis())
                .connectionTimeoutMs((int) Math.min(sessionTimeout.toMillis(), 15_000))
                .retryPolicy(new ExponentialBackoffRetry(100, 5, 2_000));
        if (zkAuth != null && !zkAuth.isEmpty()) {
            int colon = zkAuth.indexOf(':');
            if (colon <= 0 || colon == zkAuth.length() - 1) {
                throw new IllegalArgumentException("zk_auth : \"" + zkAuth.substring(0, Math.max(0, colon))
                        + ":…\" (expected: user:password, both non-empty)");
            }
            b.authorization("digest", zkAuth.getBytes(StandardCharsets.UTF_8)).aclProvider(new JobAclProvider());
        }
        return b.build();
    }
}
