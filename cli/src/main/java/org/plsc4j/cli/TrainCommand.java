package org.plsc4j.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.plsc4j.checkpoint.Checkpoints;
import org.plsc4j.core.Device;
import org.plsc4j.core.TrainConfig;
import org.plsc4j.elastic.Jobs;
import org.plsc4j.dashboard.DashboardServer;
import org.plsc4j.elastic.LocalLauncher;
import org.plsc4j.worker.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code plsc4j train}: trains a job with N local worker processes (1: in this JVM). */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Train a job (YAML + --set overrides) with N local worker processes.",
        description = {
            "Workers are processes on this machine, coordinated like a cluster job: an embedded ZooKeeper on "
                + "127.0.0.1, a coordinator, the Netty collective; elastic when min_workers < --workers. "
                + "--workers 1 trains in this JVM. Checkpoints go to model_save_dir/<epoch>/, metrics to "
                + "model_save_dir/metrics.jsonl, the curves to model_save_dir/" + Trainer.CURVES_PNG + ".",
            "Prints one summary line on stdout.",
            ""})
final class TrainCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    JobOptions job;

    @Option(names = "--workers", defaultValue = "1", description = "Local worker processes (default: ${DEFAULT-VALUE}).")
    int workers;

    @Option(names = "--device", defaultValue = "cpu",
            description = "cpu or cuda: one worker process per GPU, round robin over the machine's GPUs, NCCL between"
                + " them (needs a -Pcuda build) (default: ${DEFAULT-VALUE}).")
    String device;

    @Mixin
    DashboardOptions dashboard;

    @Override
    public Integer call() throws Exception {
        if (workers < 1) {
            throw new ParameterException(spec.commandLine(), "workers : " + workers + " (expected: >= 1)");
        }
        Device dev = Device.parse(device);
        dev.check(); // one sentence before anything starts when the device cannot run here
        TrainConfig cfg = job.load(List.of());
        if (dev.isCuda()) {
            LocalLauncher.train(cfg, workers, null, null, dev);
        } else if (workers == 1) {
            if (dashboard.enabled()) {
                throw new ParameterException(spec.commandLine(), "--dashboard-port : " + dashboard.port + " (expected:"
                        + " with --workers >= 2, which runs a coordinator; for one worker use plsc4j dashboard --dir "
                        + cfg.modelSaveDir() + ")");
            }
            Jobs.trainInProcess(cfg, null, null);
        } else if (dashboard.enabled()) {
            try (LocalLauncher.Job j = LocalLauncher.start(cfg, workers, null, null)) {
                DashboardServer d = j.startDashboard(dashboard.host, dashboard.port);
                System.err.println("dashboard " + d.url() + "#token=" + j.token());
                j.await();
            }
        } else {
            LocalLauncher.train(cfg, workers, null, null);
        }
        Path save = Path.of(cfg.modelSaveDir());
        Optional<Path> latest = Checkpoints.latest(save);
        spec.commandLine().getOut().println("trained: checkpoint " + latest.map(Path::toString).orElse("(none)")
                + ", metrics " + save.resolve("metrics.jsonl") + ", curves " + save.resolve(Trainer.CURVES_PNG));
        spec.commandLine().getOut().flush();
        return 0;
    }
}
