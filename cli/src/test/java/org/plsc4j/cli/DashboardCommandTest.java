package org.plsc4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The dashboard's command-line surface: the subcommand, its options, and refusals naming the option. */
class DashboardCommandTest {

    @Test
    void dashboardIsACommandAndTheJobCommandsTakeADashboardPort() {
        CliRun r = CliRun.of("dashboard", "--help");
        assertEquals(0, r.code(), r.err());
        for (String option : new String[] {"--dir", "--zk", "--job", "--token-file", "--port", "--host"}) {
            assertTrue(r.out().contains(option), option + " missing in\n" + r.out());
        }
        for (String command : new String[] {"train", "coordinator"}) {
            CliRun h = CliRun.of(command, "--help");
            assertTrue(h.out().contains("--dashboard-port") && h.out().contains("--dashboard-host"), h.out());
        }
        assertTrue(CliRun.of("worker", "--help").out().contains("--metrics-port"));
    }

    @Test
    void badUsesAreRefusedNamingTheOption() {
        CliRun none = CliRun.of("dashboard");
        assertEquals(Main.EXIT_USAGE, none.code(), none.err());
        CliRun missingDir = CliRun.of("dashboard", "--dir", "/nonexistent/run", "--port", "0");
        assertEquals(Main.EXIT_USAGE, missingDir.code(), missingDir.err());
        assertTrue(missingDir.err().contains("--dir : /nonexistent/run"), missingDir.err());
        CliRun noZk = CliRun.of("dashboard", "--job", "j", "--port", "0");
        assertEquals(Main.EXIT_USAGE, noZk.code(), noZk.err());
        assertTrue(noZk.err().contains("--zk"), noZk.err());
        CliRun oneWorker = CliRun.of("train", "--dashboard-port", "0", "--set", "num_classes=10");
        assertEquals(Main.EXIT_USAGE, oneWorker.code(), oneWorker.err());
        assertTrue(oneWorker.err().contains("--dashboard-port"), oneWorker.err());
    }
}
