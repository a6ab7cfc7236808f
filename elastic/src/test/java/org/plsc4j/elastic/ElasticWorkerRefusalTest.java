package org.plsc4j.elastic;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.plsc4j.coordinator.CoordinatorException;
import org.plsc4j.coordinator.JobStatus;
import org.plsc4j.core.TrainConfig;
import org.plsc4j.core.TrainConfigs;

/** A worker with the wrong job token or the wrong ZooKeeper credentials is refused, before it registers. */
class ElasticWorkerRefusalTest {

    @TempDir
    static Path dir;
    static JobCoordinator coordinator;
    static final String AUTH = "plsc4j:right-password";
    static final String TOKEN = "the-job-token";

    @BeforeAll
    static void start() {
        TrainConfig cfg = TrainConfigs.bind(TrainConfigs.merged(Map.of("dataset_dir", dir.resolve("data").toString(),
                "model_save_dir", dir.resolve("out").toString(), "num_classes", 10, "train_batch_size", 4)), "test");
        coordinator = JobCoordinator.start(cfg, new JobCoordinator.Options("guarded", null, AUTH, 1, 1, 0,
                Duration.ZERO, dir.resolve("zk")), TOKEN);
    }

    @AfterAll
    static void stop() {
        coordinator.close();
    }

    private static ElasticWorker.Options opts(String job, String auth, String token) {
        return new ElasticWorker.Options(job, coordinator.connectString(), auth, token, "127.0.0.1",
                Duration.ofSeconds(5), null, null);
    }

    @Test
    void aWrongTokenIsRefused() {
        SecurityException e = assertThrows(SecurityException.class,
                () -> ElasticWorker.run(opts("guarded", AUTH, "not-the-token")));
        assertTrue(e.getMessage().contains("token refused"), e.getMessage());
        assertNoWorkerRegistered();
    }

    @Test
    void wrongOrMissingZooKeeperCredentialsAreRefused() {
        for (String auth : new String[] {"plsc4j:wrong-password", "someone:right-password", null}) {
            SecurityException e = assertThrows(SecurityException.class,
                    () -> ElasticWorker.run(opts("guarded", auth, TOKEN)), "zk_auth " + auth);
            assertTrue(e.getMessage().contains("ZooKeeper refused"), e.getMessage());
        }
        assertNoWorkerRegistered();
    }

    @Test
    void anUnknownJobIsNamed() {
        CoordinatorException e = assertThrows(CoordinatorException.class,
                () -> ElasticWorker.run(opts("no-such-job", AUTH, TOKEN)));
        assertTrue(e.getMessage().contains("job no-such-job does not exist"), e.getMessage());
    }

    private static void assertNoWorkerRegistered() {
        assertTrue(coordinator.store().registeredWorkers().isEmpty(), "no refused worker registered");
        JobStatus s = coordinator.status();
        assertTrue(s.registered() == 0, s.toString());
    }
}
