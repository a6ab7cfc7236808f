package org.plsc4j.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.test.TestingServer;
import org.apache.zookeeper.KeeperException;
import org.junit.jupiter.api.Test;
import org.plsc4j.core.ClassLayout;

class AclTest {

    @Test
    void withZkAuthOtherClientsCanNeitherReadTheTokenNorChangeAssignments() throws Exception {
        String job = "acl-job";
        JobPaths paths = JobPaths.of(job);
        Duration session = Duration.ofSeconds(10);
        try (TestingServer zk = TestZk.start();
                CuratorFramework owner = ZkClients.connect(zk.getConnectString(), "plsc4j:s3cret", session);
                CuratorFramework sameCreds = ZkClients.connect(zk.getConnectString(), "plsc4j:s3cret", session);
                CuratorFramework anonymous = ZkClients.connect(zk.getConnectString(), null, session);
                CuratorFramework otherCreds = ZkClients.connect(zk.getConnectString(), "mallory:guess", session);
                Coordinator co = new Coordinator(owner, JobSpec.fixed(job, 10, 1), new byte[] {'{', '}'}, "tok", "c")) {
            co.start();
            // a worker with the job's credentials registers and is assigned
            WorkerRegistration w = WorkerRegistration.register(sameCreds, job, new WorkerInfo("127.0.0.1", 1, 1, "cpu"));
            Generation g1 = Await.generation(sameCreds, job, 1);
            assertEquals(List.of(w.workerId()), g1.workerIds());
            assertEquals("tok", new JobStore(sameCreds, job).readToken());

            for (CuratorFramework intruder : List.of(anonymous, otherCreds)) {
                assertThrows(KeeperException.NoAuthException.class, () -> intruder.getData().forPath(paths.token()));
                assertThrows(KeeperException.NoAuthException.class,
                        () -> intruder.setData().forPath(paths.generation(), "7".getBytes(StandardCharsets.US_ASCII)));
                assertThrows(KeeperException.NoAuthException.class,
                        () -> intruder.setData().forPath(paths.generation(1), "{}".getBytes(StandardCharsets.US_ASCII)));
                assertThrows(KeeperException.NoAuthException.class,
                        () -> intruder.create().forPath(paths.generation(2), "{}".getBytes(StandardCharsets.US_ASCII)));
                assertThrows(KeeperException.NoAuthException.class, () -> intruder.delete().forPath(paths.root()));
                CoordinatorException e = assertThrows(CoordinatorException.class,
                        () -> WorkerRegistration.register(intruder, job, new WorkerInfo("h", 1, 1, "cpu")));
                assertTrue(e.getMessage().contains("NoAuth"), e.getMessage());
                // the shared parent stays usable by other jobs with other credentials
                assertTrue(intruder.getChildren().forPath(JobPaths.JOBS).contains(job));
            }
            new JobStore(otherCreds, "other-job").createJob(
                    new JobSpec("other-job", 10, ClassLayout.Kind.BALANCED, 1, 1, Duration.ZERO), new byte[0], "t2");
            assertThrows(KeeperException.NoAuthException.class,
                    () -> owner.getData().forPath(JobPaths.of("other-job").token()));
            assertEquals(1, new JobStore(owner, job).currentGenerationNumber());
        }
    }

    @Test
    void zkAuthMustBeUserColonPasswordAndTheMessageHidesThePassword() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ZkClients.newClient("127.0.0.1:1", "justapassword", Duration.ofSeconds(5)));
        assertEquals("zk_auth : \":…\" (expected: user:password, both non-empty)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> ZkClients.newClient("127.0.0.1:1", "user:", Duration.ofSeconds(5)));
        assertEquals("zk_auth : \"user:…\" (expected: user:password, both non-empty)", e.getMessage());
    }
}
