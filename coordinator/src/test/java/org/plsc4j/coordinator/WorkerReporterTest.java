package org.plsc4j.coordinator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import org.apache.curator.framework.CuratorFramework;
import org.junit.jupiter.api.Test;

class WorkerReporterTest extends ZkJobTest {

    private WorkerReport report(String id, long step, double loss) {
        return new WorkerReport(id, "127.0.0.1", 42, "cpu", 1, 0, 0, 60, 0, step, 100, 2.5, 30.0, loss, Double.NaN,
                step - 1, "http://127.0.0.1:9/metrics", 1000 + step);
    }

    @Test
    void theLatestReportIsReadBackAndGoesWithTheWorkersSession() throws Exception {
        new JobStore(admin, job).createJob(JobSpec.fixed(job, 60, 1), "{}".getBytes(StandardCharsets.UTF_8), "t");
        JobStore store = new JobStore(admin, job);
        assertTrue(store.readReports().isEmpty());
        CuratorFramework session = ZkClients.connect(zk.getConnectString(), null, Duration.ofSeconds(10));
        try {
            WorkerRegistration reg = WorkerRegistration.register(session, job, new WorkerInfo("127.0.0.1", 0, 42, "cpu"));
            WorkerReporter reporter = new WorkerReporter(session, job, reg.workerId(), Duration.ofHours(1));
            reporter.update(report(reg.workerId(), 5, 3.0));
            reporter.update(report(reg.workerId(), 6, 2.0));
            reporter.tick(); // the timer's job, done here so that the test needs no timing
            Map<String, WorkerReport> got = store.readReports();
            assertEquals(Map.of(reg.workerId(), report(reg.workerId(), 6, 2.0)).toString(), got.toString());
            assertTrue(Double.isNaN(got.get(reg.workerId()).lr()), "NaN survives as null");
            reporter.close();
            assertTrue(store.readReports().isEmpty(), "closing deletes the report");
            reporter.close(); // idempotent
        } finally {
            session.close();
        }
    }
}
