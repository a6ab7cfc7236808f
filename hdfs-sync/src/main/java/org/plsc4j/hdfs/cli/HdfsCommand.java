package org.plsc4j.hdfs.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.plsc4j.checkpoint.Checkpoints;
import org.plsc4j.checkpoint.Manifest;
import org.plsc4j.hdfs.HdfsConfig;
import org.plsc4j.hdfs.HdfsSync;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code plsc4j hdfs push|pull}: the manual form of the trainer's checkpoint sync, with the same
 * safety rules (verified against the manifest, published by rename, manifest written last). Prints
 * one summary line on stdout.
 */
@Command(name = "hdfs", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Copy checkpoints to and from HDFS (or any Hadoop file system), verified.",
        subcommands = {HdfsCommand.Push.class, HdfsCommand.Pull.class})
public final class HdfsCommand {

    private HdfsCommand() {
    }

    /** Options shared by push and pull. */
    static final class Connection {
        @Option(names = "--fs-name", defaultValue = HdfsConfig.LOCAL,
                description = "File system URI, e.g. hdfs://namenode:9000 (default: ${DEFAULT-VALUE}).")
        String fsName;

        @Option(names = "--fs-ugi", description = "\"user,password\" as in PLSC: the Hadoop simple-auth user.")
        String fsUgi;

        @Option(names = "--principal", description = "Kerberos principal (with --keytab).")
        String principal;

        @Option(names = "--keytab", description = "Kerberos keytab file (with --principal).")
        Path keytab;

        @Option(names = "--conf", description = "A Hadoop setting key=value (hadoop.*, dfs.*, fs.*); repeatable.")
        Map<String, String> conf = new LinkedHashMap<>();

        @Option(names = "--attempts", defaultValue = "4",
                description = "Tries per remote operation on transient errors (default: ${DEFAULT-VALUE}).")
        int attempts;

        HdfsConfig config(CommandSpec spec) {
            for (String k : conf.keySet()) {
                if (!(k.startsWith("hadoop.") || k.startsWith("dfs.") || k.startsWith("fs."))) {
                    throw new ParameterException(spec.commandLine(), "--conf : " + k
                            + " (expected: a Hadoop key starting with hadoop., dfs. or fs.)");
                }
            }
            if ((principal == null) != (keytab == null)) {
                throw new ParameterException(spec.commandLine(), "--principal, --keytab : "
                        + principal + ", " + keytab + " (expected: both or neither)");
            }
            if (keytab != null && !Files.isRegularFile(keytab)) {
                throw new ParameterException(spec.commandLine(), "--keytab : " + keytab + " (expected: an existing file)");
            }
            if (attempts < 1) {
                throw new ParameterException(spec.commandLine(), "--attempts : " + attempts + " (expected: >= 1)");
            }
            return new HdfsConfig(fsName, HdfsConfig.ugiUser(fsUgi), principal, keytab == null ? null : keytab.toString(),
                    conf, attempts, Duration.ofSeconds(1), true);
        }
    }

    /** {@code hdfs push}. */
    @Command(name = "push", mixinStandardHelpOptions = true, sortOptions = false,
            header = "Upload a local checkpoint (or the newest under a model_save_dir) to <dst>/<epoch>.")
    static final class Push implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        Connection connection = new Connection();

        @Option(names = "--src", required = true,
                description = "Local checkpoint directory (with manifest.json), or a model_save_dir.")
        Path src;

        @Option(names = "--dst", required = true, description = "Remote directory; the checkpoint becomes <dst>/<epoch>.")
        String dst;

        @Override
        public Integer call() throws Exception {
            HdfsConfig c = connection.config(spec);
            Path checkpoint = src;
            if (!Files.isRegularFile(src.resolve(Manifest.FILE_NAME))) {
                Optional<Path> latest = Checkpoints.latest(src);
                if (latest.isEmpty()) {
                    throw new ParameterException(spec.commandLine(), "--src : " + src + " (expected: a checkpoint"
                            + " directory with manifest.json, or a model_save_dir holding numbered checkpoints)");
                }
                checkpoint = latest.get();
            }
            try (HdfsSync s = HdfsSync.connect(c)) {
                print(spec, "push", s.upload(checkpoint, dst));
            }
            return 0;
        }
    }

    /** {@code hdfs pull}. */
    @Command(name = "pull", mixinStandardHelpOptions = true, sortOptions = false,
            header = "Download a remote checkpoint (or the newest under a remote directory) into <dst>/<epoch>.")
    static final class Pull implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        Connection connection = new Connection();

        @Option(names = "--src", required = true,
                description = "Remote checkpoint directory (with manifest.json), or a directory of numbered checkpoints.")
        String src;

        @Option(names = "--dst", required = true, description = "Local directory; the checkpoint becomes <dst>/<epoch>.")
        Path dst;

        @Override
        public Integer call() throws Exception {
            try (HdfsSync s = HdfsSync.connect(connection.config(spec))) {
                print(spec, "pull", s.download(src, dst));
            }
            return 0;
        }
    }

    private static void print(CommandSpec spec, String what, HdfsSync.Transfer t) {
        PrintWriter w = spec.commandLine().getOut();
        w.println(String.format(Locale.ROOT, "hdfs %s: remote=%s local=%s files=%d skipped=%d bytes=%d seconds=%.2f"
                + " mb_per_sec=%.1f", what, t.remote(), t.local(), t.files(), t.skipped(), t.bytes(), t.seconds(),
                t.mbPerSec()));
        w.flush();
    }
}
