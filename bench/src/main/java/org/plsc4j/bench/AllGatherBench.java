package org.plsc4j.bench;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code plsc4j bench allgather}: placeholder for the all-gather bandwidth benchmark of the
 * {@link org.plsc4j.core.collective.Collective} backends.
 *
 * <p>Why it exists already: so that the command tree, the README and the launcher are in place; the
 * real benchmark replaces this class.
 */
@Command(name = "allgather", mixinStandardHelpOptions = true,
        header = "All-gather bandwidth of the collective backends (not yet implemented).",
        description = "All-gather bandwidth of the collective backends (not yet implemented).")
public final class AllGatherBench implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--mb", defaultValue = "64", description = "MiB each rank contributes (default: ${DEFAULT-VALUE}).")
    double mb;

    @Option(names = "--workers", defaultValue = "2", description = "Number of ranks (default: ${DEFAULT-VALUE}).")
    int workers;

    @Option(names = "--iterations", defaultValue = "10", description = "Timed iterations (default: ${DEFAULT-VALUE}).")
    int iterations;

    @Option(names = "--json", description = "Print one JSON object on stdout instead of a table.")
    boolean json;

    @Override
    public Integer call() {
        spec.commandLine().getErr().println("plsc4j bench allgather: not yet implemented");
        spec.commandLine().getErr().flush();
        return 1;
    }
}
