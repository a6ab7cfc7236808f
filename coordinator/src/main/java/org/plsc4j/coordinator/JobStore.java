package org.plsc4j.coordinator;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.imps.CuratorFrameworkState;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.data.Stat;
import org.plsc4j.coordinator.internal.Json;

/**
 * Reads and writes one job's nodes under {@code /plsc4j/jobs/<job>} ({@link JobPaths}).
 *
 * <p>Why generations are written the way they are: {@link #publish} creates the generation node
 * and bumps the {@code generation} pointer in one ZooKeeper transaction, guarded by the pointer's
 * version. A reader that follows the pointer therefore always finds a complete generation, and
 * of two coordinators that both believe they lead, only one can publish a given number.
 *
 * <p>Thread-safe; it holds no state besides the client, which the caller owns.
 */
public final class JobStore {

    private final CuratorFramework client;
    private final JobPaths paths;

    /** The store of job {@code jobId} over a started {@code client}. */
    public JobStore(CuratorFramework client, String jobId) {
        this.client = Objects.requireNonNull(client, "client");
        this.paths = JobPaths.of(jobId);
        if (client.getState() != CuratorFrameworkState.STARTED) {
            throw new IllegalStateException("client : " + client.getState() + " (expected: STARTED)");
        }
    }

    /** The job's paths. */
    public JobPaths paths() {
        return paths;
    }

    /** The client. */
    public CuratorFramework client() {
        return client;
    }

    /** Whether the job's root node exists. */
    public boolean exists() {
        return call("check " + paths.root(), () -> client.checkExists().forPath(paths.root()) != null);
    }

    /**
     * Creates the job (spec, token, config, generation pointer "0" and the empty parents) in one
     * transaction, unless it exists.
     *
     * @return true if created; false if it existed with the same spec
     * @throws CoordinatorException if it exists with another spec (the message names both)
     */
    public boolean createJob(JobSpec spec, byte[] config, String token) {
        Objects.requireNonNull(token, "token");
        Objects.requireNonNull(config, "config");
        if (!spec.jobId().equals(paths.jobId())) {
            throw new IllegalArgumentException("spec.job : " + spec.jobId() + " (expected: " + paths.jobId() + ")");
        }
        try {
            try {
                client.create().creatingParentsIfNeeded().forPath(JobPaths.JOBS, new byte[0]);
            } catch (KeeperException.NodeExistsException exists) {
                // another job created it
            }
            client.transaction().forOperations(
                    client.transactionOp().create().withMode(CreateMode.PERSISTENT).forPath(paths.root(), Json.spec(spec)),
                    client.transactionOp().create().forPath(paths.token(), token.getBytes(StandardCharsets.UTF_8)),
                    client.transactionOp().create().forPath(paths.config(), config),
                    client.transactionOp().create().forPath(paths.generation(), "0".getBytes(StandardCharsets.US_ASCII)),
                    client.transactionOp().create().forPath(paths.generations(), new byte[0]),
                    client.transactionOp().create().forPath(paths.workers(), new byte[0]),
                    client.transactionOp().create().forPath(paths.rendezvous(), new byte[0]));
            return true;
        } catch (KeeperException.NodeExistsException e) {
            JobSpec existing = readSpec();
            if (!existing.equals(spec)) {
                throw new CoordinatorException("job " + paths.jobId() + " exists with spec " + existing
                        + " (expected: " + spec + ")");
            }
            return false;
        } catch (Exception e) {
            throw failure("create job " + paths.root(), e);
        }
    }

    /** The job spec. */
    public JobSpec readSpec() {
        return Json.spec(read(paths.root()), paths.root());
    }

    /** The job configuration bytes. */
    public byte[] readConfig() {
        return read(paths.config());
    }

    /** The job token. */
    public String readToken() {
        return new String(read(paths.token()), StandardCharsets.UTF_8);
    }

    /** The current generation number; 0 before the first publication. */
    public long currentGenerationNumber() {
        return parsePointer(read(paths.generation()));
    }

    /** The current generation, if one was published. */
    public Optional<Generation> currentGeneration() {
        long g = currentGenerationNumber();
        return g == 0 ? Optional.empty() : Optional.of(readGeneration(g));
    }

    /** Generation {@code g} (complete and validated, or an exception). */
    public Generation readGeneration(long g) {
        String path = paths.generation(g);
        Generation gen = Json.generation(read(path), path);
        if (gen.number() != g) {
            throw new CoordinatorException(path + ": generation : " + gen.number() + " (expected: " + g + ")");
        }
        return gen;
    }

    /** The registered workers, in registration order. */
    public List<RegisteredWorker> registeredWorkers() {
        List<String> names = call("list " + paths.workers(), () -> client.getChildren().forPath(paths.workers()));
        List<RegisteredWorker> out = new ArrayList<>(names.size());
        for (String name : names) {
            if (!name.startsWith(JobPaths.WORKER_PREFIX)) {
                continue;
            }
            String path = paths.workers() + "/" + name;
            byte[] data;
            try {
                data = client.getData().forPath(path);
            } catch (KeeperException.NoNodeException gone) {
                continue; // left between the listing and the read
            } catch (Exception e) {
                throw failure("read " + path, e);
            }
            out.add(new RegisteredWorker(name, RegisteredWorker.sequenceOf(name), Json.worker(data, path)));
        }
        out.sort(Comparator.comparingLong(RegisteredWorker::sequence));
        return out;
    }

    /**
     * Publishes {@code next} if the current generation is {@code next.number() - 1}: one
     * transaction creates {@code generations/<g>} and sets the pointer (with a version check).
     *
     * @return false if another writer published first (nothing was written)
     */
    public boolean publish(Generation next) {
        Stat stat = new Stat();
        byte[] pointer = call("read " + paths.generation(),
                () -> client.getData().storingStatIn(stat).forPath(paths.generation()));
        if (parsePointer(pointer) != next.number() - 1) {
            return false;
        }
        try {
            client.transaction().forOperations(
                    client.transactionOp().create().forPath(paths.generation(next.number()), Json.generation(next)),
                    client.transactionOp().setData().withVersion(stat.getVersion()).forPath(paths.generation(),
                            Long.toString(next.number()).getBytes(StandardCharsets.US_ASCII)));
            return true;
        } catch (KeeperException.BadVersionException | KeeperException.NodeExistsException e) {
            return false;
        } catch (Exception e) {
            throw failure("publish generation " + next.number() + " of job " + paths.jobId(), e);
        }
    }

    /**
     * Writes the status node (creating it), unconditionally. A launcher ends a job normally with
     * {@code writeStatus(new JobStatus(JobStatus.FINISHED, ...))}: coordinators then publish
     * nothing more and never overwrite it.
     */
    public void writeStatus(JobStatus status) {
        byte[] data = Json.status(status);
        call("write " + paths.status(), () -> {
            try {
                client.setData().forPath(paths.status(), data);
            } catch (KeeperException.NoNodeException e) {
                try {
                    client.create().forPath(paths.status(), data);
                } catch (KeeperException.NodeExistsException raced) {
                    client.setData().forPath(paths.status(), data);
                }
            }
            return null;
        });
    }

    /**
     * Writes the status node unless it holds a terminal status ({@link JobStatus#isTerminal}):
     * a compare-and-set on the node's version, so a "finished" written by a launcher or a "failed"
     * written by another coordinator is never overwritten by a later evaluation. A node that is not
     * a valid status is overwritten.
     *
     * @return empty if written; else the terminal status found (nothing was written)
     */
    Optional<JobStatus> writeStatusUnlessTerminal(JobStatus status) {
        byte[] data = Json.status(status);
        String path = paths.status();
        while (true) {
            Stat stat = new Stat();
            byte[] old;
            try {
                old = client.getData().storingStatIn(stat).forPath(path);
            } catch (KeeperException.NoNodeException absent) {
                try {
                    client.create().forPath(path, data);
                    return Optional.empty();
                } catch (KeeperException.NodeExistsException raced) {
                    continue;
                } catch (Exception e) {
                    throw failure("create " + path, e);
                }
            } catch (Exception e) {
                throw failure("read " + path, e);
            }
            Optional<JobStatus> terminal = terminal(old);
            if (terminal.isPresent()) {
                return terminal;
            }
            try {
                client.setData().withVersion(stat.getVersion()).forPath(path, data);
                return Optional.empty();
            } catch (KeeperException.BadVersionException | KeeperException.NoNodeException raced) {
                // written or deleted meanwhile: look again
            } catch (Exception e) {
                throw failure("write " + path, e);
            }
        }
    }

    /**
     * The status node's terminal status ("failed" or "finished"), if it holds one. Why separate from
     * {@link #readStatus}: a coordinator asks this before every decision, and an unreadable node
     * must not stop it (it is treated as not terminal and overwritten by the next status).
     */
    public Optional<JobStatus> readTerminalStatus() {
        try {
            return terminal(client.getData().forPath(paths.status()));
        } catch (KeeperException.NoNodeException e) {
            return Optional.empty();
        } catch (Exception e) {
            throw failure("read " + paths.status(), e);
        }
    }

    private Optional<JobStatus> terminal(byte[] data) {
        try {
            return Optional.of(Json.status(data, paths.status())).filter(JobStatus::isTerminal);
        } catch (CoordinatorException unreadable) {
            return Optional.empty();
        }
    }

    /** The status the leading coordinator wrote last, if any. */
    public Optional<JobStatus> readStatus() {
        try {
            return Optional.of(Json.status(client.getData().forPath(paths.status()), paths.status()));
        } catch (KeeperException.NoNodeException e) {
            return Optional.empty();
        } catch (Exception e) {
            throw failure("read " + paths.status(), e);
        }
    }

    /**
     * The workers' live reports ({@link WorkerReport}), by worker id; empty when none was written
     * (or the job predates reports). A report that cannot be parsed is left out.
     */
    public Map<String, WorkerReport> readReports() {
        List<String> names;
        try {
            names = client.getChildren().forPath(paths.reports());
        } catch (KeeperException.NoNodeException e) {
            return Map.of();
        } catch (Exception e) {
            throw failure("list " + paths.reports(), e);
        }
        Map<String, WorkerReport> out = new TreeMap<>();
        for (String name : names) {
            String path = paths.report(name);
            try {
                out.put(name, Json.report(client.getData().forPath(path), path));
            } catch (KeeperException.NoNodeException gone) {
                // the worker left between the listing and the read
            } catch (CoordinatorException unreadable) {
                // a report of another version: not ours to judge here
            } catch (Exception e) {
                throw failure("read " + path, e);
            }
        }
        return out;
    }

    /** When {@code path} (a node of this job, e.g. a generation) was created, in epoch milliseconds; 0 if absent. */
    public long createdMillis(String path) {
        Stat stat = call("stat " + path, () -> client.checkExists().forPath(path));
        return stat == null ? 0 : stat.getCtime();
    }

    /** Deletes the rendezvous nodes of generations below {@code g} (best effort housekeeping). */
    public void deleteRendezvousBefore(long g) {
        List<String> names = call("list " + paths.rendezvous(), () -> client.getChildren().forPath(paths.rendezvous()));
        for (String name : names) {
            try {
                if (Long.parseLong(name) < g) {
                    client.delete().deletingChildrenIfNeeded().forPath(paths.rendezvous() + "/" + name);
                }
            } catch (NumberFormatException | KeeperException.NoNodeException ignored) {
                // not ours, or already gone
            } catch (Exception e) {
                throw failure("delete " + paths.rendezvous() + "/" + name, e);
            }
        }
    }

    private byte[] read(String path) {
        return call("read " + path, () -> client.getData().forPath(path));
    }

    private long parsePointer(byte[] b) {
        String s = new String(b, StandardCharsets.US_ASCII).trim();
        try {
            long g = Long.parseLong(s);
            if (g >= 0) {
                return g;
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new CoordinatorException(paths.generation() + " : \"" + s + "\" (expected: a generation number >= 0)");
    }

    /** A ZooKeeper call whose failures become CoordinatorExceptions naming {@code what}. */
    interface ZkCall<T> {
        T call() throws Exception;
    }

    static <T> T call(String what, ZkCall<T> op) {
        try {
            return op.call();
        } catch (Exception e) {
            throw failure(what, e);
        }
    }

    static CoordinatorException failure(String what, Exception e) {
        if (e instanceof InterruptedException) {
            Thread.currentThread().interrupt();
        }
        if (e instanceof CoordinatorException ce) {
            return ce;
        }
        return new CoordinatorException(what + ": " + e, e);
    }
}
