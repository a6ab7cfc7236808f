package org.plsc4j.dashboard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.test.InstanceSpec;
import org.apache.curator.test.TestingServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.plsc4j.coordinator.Generation;
import org.plsc4j.coordinator.JobSpec;
import org.plsc4j.coordinator.JobStore;
import org.plsc4j.coordinator.RegisteredWorker;
import org.plsc4j.coordinator.WorkerInfo;
import org.plsc4j.coordinator.WorkerRegistration;
import org.plsc4j.coordinator.WorkerReport;
import org.plsc4j.coordinator.WorkerReporter;
import org.plsc4j.coordinator.ZkClients;
import org.plsc4j.core.ClassLayout;

/**
 * The live view over a real ZooKeeper: two registered workers with reports in generation 1, then
 * one worker's session ends and generation 2 (published here as the coordinator would) gives the
 * survivor every class: the view shows ranks, ranges, states, who left and the restart count.
 */
class LiveViewTest {

    @TempDir
    Path dir;

    @Test
    void workersRangesAndAGenerationChangeAsTheDashboardShowsThem() throws Exception {
        try (TestingServer zk = new TestingServer(new InstanceSpec(null, -1, -1, -1, true, -1, 250, -1,
                new HashMap<>(), "127.0.0.1"), true);
             CuratorFramework admin = ZkClients.connect(zk.getConnectString(), null, Duration.ofSeconds(10))) {
            String job = "live";
            JobSpec spec = new JobSpec(job, 60, ClassLayout.Kind.BALANCED, 1, 2, Duration.ZERO, 3);
            String config = "{\"model_save_dir\":\"" + dir + "\"}";
            JobStore store = new JobStore(admin, job);
            store.createJob(spec, config.getBytes(StandardCharsets.UTF_8), "t");
            Files.writeString(dir.resolve("metrics.jsonl"), "{\"event\":\"train\",\"time\":\"2026-12-04T05:00:01Z\","
                    + "\"step\":0,\"epoch\":0,\"loss\":4.0,\"lr\":0.1,\"samples_per_sec\":10.0,\"world_size\":2}\n");
            List<CuratorFramework> sessions = new ArrayList<>();
            List<WorkerRegistration> regs = new ArrayList<>();
            List<WorkerReporter> reporters = new ArrayList<>();
            try {
                for (int k = 0; k < 2; k++) {
                    CuratorFramework c = ZkClients.connect(zk.getConnectString(), null, Duration.ofSeconds(10));
                    sessions.add(c);
                    regs.add(WorkerRegistration.register(c, job, new WorkerInfo("127.0.0.1", 0, 100 + k, "cpu")));
                }
                List<RegisteredWorker> members = store.registeredWorkers();
                assertTrue(store.publish(Generation.of(1, spec, members, 0)));
                for (int k = 0; k < 2; k++) {
                    WorkerRegistration r = regs.get(k);
                    WorkerReporter rep = new WorkerReporter(sessions.get(k), job, r.workerId(), Duration.ofHours(1));
                    reporters.add(rep);
                    rep.update(new WorkerReport(r.workerId(), "127.0.0.1", 100 + k, "cpu", 1, k, 30 * k, 30 * k + 30,
                            0, 10, 100, 2.0, 24.0, 3.0, 0.1, 8, "http://127.0.0.1:1/metrics", System.currentTimeMillis()));
                    rep.tick();
                }
                JobView view = JobView.live(admin, job, null);
                JsonNode s = view.snapshot(0);
                assertEquals(1, s.at("/job/generation").asLong());
                assertEquals(2, s.at("/job/world_size").asInt());
                assertEquals(3, s.at("/job/max_restarts").asInt());
                assertEquals(45.0, s.at("/job/eta_s").asDouble(), 1e-9, "(100 - 10) steps at 2 steps/s");
                assertEquals(1, s.at("/train/total").asInt(), "curves from the configured model_save_dir");
                // a dashboard that cannot read model_save_dir draws rank 0's reports instead
                JsonNode elsewhere = JobView.live(admin, job, dir.resolve("not-here")).snapshot(0);
                assertEquals("reports", elsewhere.path("curves_source").asText(), elsewhere.toString());
                assertEquals(1, elsewhere.at("/train/total").asInt());
                assertEquals(9, elsewhere.at("/train/points/0/step").asLong(), "the step before the reported counter");
                assertEquals(3.0, elsewhere.at("/train/points/0/loss").asDouble());
                Map<String, JsonNode> rows = byId(s);
                assertEquals("training", rows.get(regs.get(0).workerId()).path("state").asText());
                assertEquals(0, rows.get(regs.get(0).workerId()).path("class_start").asInt());
                assertEquals(30, rows.get(regs.get(0).workerId()).path("class_end").asInt());
                assertEquals(30, rows.get(regs.get(1).workerId()).path("class_start").asInt());
                assertEquals(60, rows.get(regs.get(1).workerId()).path("class_end").asInt());
                assertEquals(8, rows.get(regs.get(1).workerId()).path("flush_version").asLong());

                // worker 1 dies: its session ends, the coordinator would publish generation 2
                sessions.get(1).close();
                List<RegisteredWorker> left = store.registeredWorkers();
                assertEquals(1, left.size());
                assertTrue(store.publish(Generation.of(2, spec, left, 1)));
                JsonNode s2 = view.snapshot(1);
                assertEquals(2, s2.at("/job/generation").asLong());
                assertEquals(1, s2.at("/job/restarts").asInt());
                Map<String, JsonNode> rows2 = byId(s2);
                JsonNode survivor = rows2.get(regs.get(0).workerId());
                assertEquals("training", survivor.path("state").asText());
                assertEquals(0, survivor.path("class_start").asInt());
                assertEquals(60, survivor.path("class_end").asInt());
                JsonNode lost = rows2.get(regs.get(1).workerId());
                assertEquals("lost", lost.path("state").asText(), "remembered after its nodes are gone: " + s2);
                assertEquals(10, lost.path("step").asLong(), "its last report");
                assertTrue(lost.path("rank").isNull());
                JsonNode g2 = s2.at("/generations/1");
                assertEquals(regs.get(1).workerId(), g2.at("/left/0").asText());
                assertTrue(g2.path("reason").asText().contains("lost"), g2.toString());
                assertEquals(0, s2.at("/train/points").size(), "the page already has point 0");
            } finally {
                reporters.forEach(WorkerReporter::close);
                for (CuratorFramework c : sessions) {
                    c.close();
                }
            }
        }
    }

    private static Map<String, JsonNode> byId(JsonNode s) {
        Map<String, JsonNode> out = new HashMap<>();
        s.at("/workers").forEach(w -> out.put(w.path("id").asText(), w));
        return out;
    }
}
