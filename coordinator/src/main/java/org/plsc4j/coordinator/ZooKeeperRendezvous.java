package org.plsc4j.coordinator;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Watcher;
import org.plsc4j.core.collective.CollectiveException;
import org.plsc4j.core.collective.Rendezvous;

/**
 * A {@link Rendezvous} through the job's ZooKeeper nodes: rank r of generation g writes its
 * "host:port" to {@code /plsc4j/jobs/<job>/rendezvous/<g>/rank-<r>} and waits (on a children watch,
 * no polling) until all {@code worldSize} ranks have written theirs.
 *
 * <p>Why: in a cluster the workers already share ZooKeeper and a generation number; this lets the
 * Netty collective join through it instead of a TCP rendezvous server on a master address. The
 * generation node holds the world size, so a rank of a different world size is refused with a
 * message rather than hanging. The nodes are persistent (a rank that finished and exited must not
 * take its address away from a slower peer); the coordinator deletes older generations' nodes.
 */
public final class ZooKeeperRendezvous implements Rendezvous {

    private final CuratorFramework client;
    private final JobPaths paths;
    private final long generation;

    /** A rendezvous of generation {@code generation} of job {@code jobId}. */
    public ZooKeeperRendezvous(CuratorFramework client, String jobId, long generation) {
        this.client = client;
        this.paths = new JobStore(client, jobId).paths();
        if (generation < 1) {
            throw new IllegalArgumentException("generation : " + generation + " (expected: >= 1)");
        }
        this.generation = generation;
    }

    @Override
    public List<String> exchange(int rank, int worldSize, String myAddress, Duration timeout) {
        if (worldSize < 1 || rank < 0 || rank >= worldSize) {
            throw new IllegalArgumentException("rank : " + rank + " / world_size : " + worldSize
                    + " (expected: 0 <= rank < world_size)");
        }
        if (myAddress == null || myAddress.lastIndexOf(':') <= 0) {
            throw new IllegalArgumentException("address : " + myAddress + " (expected: host:port)");
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        String dir = paths.rendezvous(generation);
        String where = "zookeeper rendezvous " + dir;
        try {
            publish(dir, rank, worldSize, myAddress, where);
            Object monitor = new Object();
            boolean[] changed = {false};
            Watcher watcher = event -> {
                synchronized (monitor) {
                    changed[0] = true;
                    monitor.notifyAll();
                }
            };
            while (true) {
                synchronized (monitor) {
                    changed[0] = false;
                }
                List<String> children = client.getChildren().usingWatcher(watcher).forPath(dir);
                Set<Integer> present = new HashSet<>();
                for (String c : children) {
                    if (c.startsWith("rank-")) {
                        present.add(Integer.parseInt(c.substring("rank-".length())));
                    }
                }
                List<Integer> missing = new ArrayList<>();
                for (int r = 0; r < worldSize; r++) {
                    if (!present.contains(r)) {
                        missing.add(r);
                    }
                }
                if (missing.isEmpty()) {
                    List<String> out = new ArrayList<>(worldSize);
                    for (int r = 0; r < worldSize; r++) {
                        out.add(new String(client.getData().forPath(paths.rendezvous(generation, r)),
                                StandardCharsets.UTF_8));
                    }
                    return List.copyOf(out);
                }
                synchronized (monitor) {
                    while (!changed[0]) {
                        long left = deadline - System.nanoTime();
                        if (left <= 0) {
                            throw new CollectiveException(where + ": rank " + rank + " timed out after " + timeout
                                    + " waiting for rank(s) " + missing + " of world_size " + worldSize);
                        }
                        TimeUnit.NANOSECONDS.timedWait(monitor, left);
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CollectiveException(where + ": rank " + rank + " interrupted", e);
        } catch (CollectiveException e) {
            throw e;
        } catch (Exception e) {
            throw new CollectiveException(where + ": rank " + rank + ": " + e, e);
        }
    }

    private void publish(String dir, int rank, int worldSize, String myAddress, String where) throws Exception {
        byte[] ws = Integer.toString(worldSize).getBytes(StandardCharsets.US_ASCII);
        try {
            client.create().creatingParentsIfNeeded().forPath(dir, ws);
        } catch (KeeperException.NodeExistsException exists) {
            String other = new String(client.getData().forPath(dir), StandardCharsets.US_ASCII);
            if (!other.equals(new String(ws, StandardCharsets.US_ASCII))) {
                throw new CollectiveException(where + ": rank " + rank + " asked for world_size " + worldSize
                        + " but generation " + generation + " has world_size " + other);
            }
        }
        String node = paths.rendezvous(generation, rank);
        byte[] addr = myAddress.getBytes(StandardCharsets.UTF_8);
        try {
            client.create().forPath(node, addr);
        } catch (KeeperException.NodeExistsException again) {
            client.setData().forPath(node, addr); // the rank restarted within the same generation
        }
    }
}
