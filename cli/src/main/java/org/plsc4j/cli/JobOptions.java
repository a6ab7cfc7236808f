package org.plsc4j.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.plsc4j.core.TrainConfig;
import org.plsc4j.core.TrainConfigs;
import picocli.CommandLine.Option;

/** The job options shared by train and test: a YAML file and key=value overrides. */
final class JobOptions {

    @Option(names = "--config", description = "YAML job file (PLSC's snake_case keys; see README).")
    Path config;

    @Option(names = "--set", paramLabel = "KEY=VALUE",
            description = "Override a job key, YAML syntax for the value (repeatable), e.g. --set lr_steps=[10,20].")
    List<String> sets = new ArrayList<>();

    /** Defaults, then the file, then --set, validated (errors name the key). */
    TrainConfig load(List<String> more) {
        List<String> all = new ArrayList<>(sets);
        all.addAll(more);
        return TrainConfigs.load(config, all);
    }
}
