package org.plsc4j.coordinator;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.test.TestingServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.TestInfo;

/**
 * The fixture coordinator tests share: one in-process ZooKeeper per class, a job named after the
 * test method, an admin client, coordinators and workers that are closed after each test.
 */
abstract class ZkJobTest {

    static TestingServer zk;
    final List<AutoCloseable> closeables = new ArrayList<>();
    String job;
    CuratorFramework admin;

    @BeforeAll
    static void startZooKeeper() throws Exception {
        zk = TestZk.start();
    }

    @AfterAll
    static void stopZooKeeper() throws Exception {
        zk.close();
    }

    @BeforeEach
    void setUp(TestInfo info) {
        job = info.getTestMethod().orElseThrow().getName();
        admin = client();
    }

    @AfterEach
    void tearDown() throws Exception {
        for (int i = closeables.size() - 1; i >= 0; i--) {
            closeables.get(i).close();
        }
    }

    CuratorFramework client() {
        return client(Duration.ofSeconds(10));
    }

    CuratorFramework client(Duration session) {
        CuratorFramework c = ZkClients.connect(zk.getConnectString(), null, session);
        closeables.add(c);
        return c;
    }

    Coordinator coordinator(CuratorFramework c, JobSpec spec, String id) {
        Coordinator co = new Coordinator(c, spec, "{}".getBytes(StandardCharsets.UTF_8), "token-" + job, id);
        closeables.add(co);
        co.start();
        return co;
    }

    /** A worker with its own client (its own session), so closing the client is the worker dying. */
    record Worker(CuratorFramework client, WorkerRegistration registration) {
        String id() {
            return registration.workerId();
        }
    }

    Worker worker(int port) {
        return worker(port, Duration.ofSeconds(10));
    }

    Worker worker(int port, Duration session) {
        return worker(port, session, "cpu");
    }

    Worker worker(int port, Duration session, String device) {
        CuratorFramework c = client(session);
        WorkerRegistration r = WorkerRegistration.register(c, job, new WorkerInfo("127.0.0.1", port, 100 + port, device));
        closeables.add(r);
        return new Worker(c, r);
    }
}
