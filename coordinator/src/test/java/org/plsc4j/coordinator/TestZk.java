package org.plsc4j.coordinator;

import java.util.HashMap;
import org.apache.curator.test.InstanceSpec;
import org.apache.curator.test.TestingServer;

/** An in-process ZooKeeper for tests: 127.0.0.1, a free port, a 250 ms tick (sessions 0.5–5 s). */
final class TestZk {

    private TestZk() {
    }

    static TestingServer start() throws Exception {
        // data dir (temp), port, election port, quorum port (free), delete on close, server id, tick, max connections
        return new TestingServer(new InstanceSpec(null, -1, -1, -1, true, -1, 250, -1, new HashMap<>(), "127.0.0.1"),
                true);
    }
}
