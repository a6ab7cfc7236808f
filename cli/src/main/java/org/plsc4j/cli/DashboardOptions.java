package org.plsc4j.cli;

import picocli.CommandLine.Option;

/** {@code --dashboard-port}/{@code --dashboard-host} of the commands that run a job's coordinator. */
final class DashboardOptions {

    @Option(names = "--dashboard-port", paramLabel = "PORT",
            description = "Serve the job's web dashboard and /metrics on this port (0: any free port; default: none).")
    Integer port;

    @Option(names = "--dashboard-host", defaultValue = "127.0.0.1",
            description = "Address the dashboard binds (default: ${DEFAULT-VALUE}, this machine only).")
    String host;

    /** Whether a dashboard was asked for. */
    boolean enabled() {
        return port != null;
    }
}
