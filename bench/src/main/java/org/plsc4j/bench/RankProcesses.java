package org.plsc4j.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.plsc4j.core.NativeBuild;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Child JVMs of a benchmark, each running a main class that answers one prefixed JSON line per command
 * line on its stdin (e.g. {@link FcBenchRank}); their stderr goes to ours.
 */
final class RankProcesses implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(RankProcesses.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final List<Process> processes = new ArrayList<>();
    private final List<Writer> stdin = new ArrayList<>();
    private final List<BufferedReader> stdout = new ArrayList<>();
    private final String prefix;
    private boolean closed;

    private RankProcesses(String prefix) {
        this.prefix = prefix;
    }

    /** The command that runs {@code mainClass} in a JVM like this one (same flags, class path and native build). */
    static List<String> javaCommand(Class<?> mainClass, List<String> args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (!(a.startsWith("-agentlib") || a.startsWith("-javaagent") || a.startsWith("-D" + NativeBuild.PROPERTY))) {
                cmd.add(a);
            }
        }
        cmd.addAll(NativeBuild.jvmArgs());
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(mainClass.getName());
        cmd.addAll(args);
        return cmd;
    }

    /** Starts one process per command with {@code env} added to this process's environment. */
    static RankProcesses start(List<List<String>> commands, Map<String, String> env, String prefix) throws IOException {
        RankProcesses rp = new RankProcesses(prefix);
        try {
            for (List<String> c : commands) {
                ProcessBuilder pb = new ProcessBuilder(c).redirectError(ProcessBuilder.Redirect.INHERIT);
                pb.environment().putAll(env);
                Process p = pb.start();
                rp.processes.add(p);
                rp.stdin.add(new OutputStreamWriter(p.getOutputStream(), StandardCharsets.UTF_8));
                rp.stdout.add(new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)));
            }
        } catch (IOException | RuntimeException e) {
            rp.close();
            throw e;
        }
        return rp;
    }

    /** Sends {@code line} to every process. */
    void sendAll(String line) throws IOException {
        for (Writer w : stdin) {
            w.write(line + "\n");
            w.flush();
        }
    }

    /** Reads every process's next answer (lines without the prefix are library output, passed to our log). */
    JsonNode[] readAll() throws IOException {
        JsonNode[] out = new JsonNode[processes.size()];
        for (int i = 0; i < out.length; i++) {
            while (true) {
                String line = stdout.get(i).readLine();
                if (line == null) {
                    Process p = processes.get(i);
                    throw new IOException("child process " + (i + 1) + " ended without answering"
                            + (p.isAlive() ? "" : " (exit " + exitValue(p) + ")") + "; its stderr is above");
                }
                if (line.startsWith(prefix)) {
                    out[i] = JSON.readTree(line.substring(prefix.length()));
                    break;
                }
                LOG.info("child {}: {}", i + 1, line);
            }
        }
        return out;
    }

    private static String exitValue(Process p) {
        try {
            return p.waitFor(10, TimeUnit.SECONDS) ? Integer.toString(p.exitValue()) : "still running";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "?";
        }
    }

    /** Sends {@code quit}, waits up to 60 s for each process, then kills what is left. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            sendAll("quit");
        } catch (IOException e) {
            LOG.debug("child processes: quit not delivered: {}", FcBench.describe(e));
        }
        for (Process p : processes) {
            try {
                if (!p.waitFor(60, TimeUnit.SECONDS)) {
                    LOG.warn("child process {} did not exit within 60 s; killing it", p.pid());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                p.destroyForcibly();
            }
        }
    }
}
