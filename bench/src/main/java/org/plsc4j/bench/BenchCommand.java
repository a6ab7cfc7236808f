package org.plsc4j.bench;

import picocli.CommandLine.Command;

/**
 * {@code plsc4j bench}: groups the benchmarks that measure plsc4j against baselines in the same run.
 *
 * <p>Why a parent command without a body: every benchmark is a subcommand with its own options, and
 * calling {@code plsc4j bench} alone is a usage error that lists them. Adding a benchmark is one entry
 * in {@code subcommands}.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        header = "Benchmarks: plsc4j against baselines measured in the same run.",
        description = "Benchmarks: plsc4j against baselines measured in the same run.",
        subcommands = {FcBench.class, AllGatherBench.class, TrainBench.class, FlushBench.class, FailoverBench.class,
            ServeBench.class, PreprocessBench.class, HdfsBench.class,
            CapacityBench.class, BackboneBench.class})
public final class BenchCommand {
}
