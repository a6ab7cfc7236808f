package org.plsc4j.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A multi-host test bed on one Linux machine: one network namespace per host, each with its own
 * address on a private bridge, and every role started as a separate process inside its host's
 * namespace ({@code ip netns exec}).
 *
 * <p>Layout: a "switch" namespace {@code p4j<pid>-sw} holds the bridge; every host namespace
 * {@code p4j<pid>-<host>} holds one end of a veth pair ({@code eth0}, address
 * {@code 10.213.<net>.<n>/24}), the other end on the bridge. Nothing is added to the machine's own
 * namespace, so the hosts reach each other and nothing else (no route out, and 127.0.0.1 inside a
 * host namespace is that namespace's own loopback). Deleting the namespaces removes every link.
 *
 * <p>Why namespaces rather than containers or VMs: they need only iproute2 and root, start in
 * milliseconds, and give each role a real, distinct IP address, so code that works here cannot be
 * relying on loopback.
 *
 * <p>{@link #close()} (also run by a shutdown hook) kills the processes it started, then every
 * process left in its namespaces, then deletes the namespaces. {@link #create} first deletes
 * namespaces of earlier beds whose process is gone.
 */
final class NetnsBed implements AutoCloseable {

    static final String PREFIX = "p4j";

    private final String id;
    private final int net;
    private final Path logs;
    private final Map<String, Integer> hosts = new LinkedHashMap<>();
    private final List<Role> roles = new ArrayList<>();
    private final Thread hook;
    private boolean closed;

    /** One process of the bed: its host, name, process and log file. */
    record Role(String host, String name, Process process, Path log) {
        long pid() {
            return process.pid();
        }
    }

    private NetnsBed(Path logs) {
        this.id = PREFIX + ProcessHandle.current().pid();
        this.net = (int) (ProcessHandle.current().pid() % 200) + 20;
        this.logs = logs;
        this.hook = new Thread(this::closeQuietly, "netns-bed-cleanup");
    }

    /**
     * Why the bed cannot run here (not root, no iproute2, namespaces refused), or empty when it can:
     * creates and deletes one probe namespace.
     */
    static Optional<String> unavailableReason() {
        if (!System.getProperty("os.name", "").toLowerCase().contains("linux")) {
            return Optional.of("network namespaces need Linux (os.name " + System.getProperty("os.name") + ")");
        }
        String probe = PREFIX + ProcessHandle.current().pid() + "-probe";
        try {
            Result add = run(List.of("ip", "netns", "add", probe));
            if (add.code != 0) {
                return Optional.of("cannot create a network namespace (ip netns add: " + add.out.strip()
                        + "); the multi-host bed needs root and iproute2");
            }
            run(List.of("ip", "netns", "del", probe));
            return Optional.empty();
        } catch (IOException e) {
            return Optional.of("iproute2's ip is not runnable (" + e.getMessage() + "); the multi-host bed needs it");
        }
    }

    /**
     * Creates the switch and one namespace per host name, {@code 10.213.<net>.<i+1>} for the i-th.
     *
     * @param logs where the roles' logs go
     */
    static NetnsBed create(Path logs, List<String> hostNames) throws IOException {
        removeLeftovers();
        NetnsBed bed = new NetnsBed(logs);
        Runtime.getRuntime().addShutdownHook(bed.hook);
        try {
            Files.createDirectories(logs);
            bed.sh("ip", "netns", "add", bed.ns("sw"));
            bed.sh("ip", "-n", bed.ns("sw"), "link", "add", "br0", "type", "bridge");
            bed.sh("ip", "-n", bed.ns("sw"), "link", "set", "br0", "up");
            int n = 1;
            for (String h : hostNames) {
                bed.addHost(h, n++);
            }
            return bed;
        } catch (IOException | RuntimeException e) {
            bed.close();
            throw e;
        }
    }

    private void addHost(String host, int n) throws IOException {
        String ns = ns(host);
        sh("ip", "netns", "add", ns);
        hosts.put(host, n);
        String port = "v" + n;
        sh("ip", "-n", ns("sw"), "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns);
        sh("ip", "-n", ns("sw"), "link", "set", port, "master", "br0");
        sh("ip", "-n", ns("sw"), "link", "set", port, "up");
        sh("ip", "-n", ns, "addr", "add", address(host) + "/24", "dev", "eth0");
        sh("ip", "-n", ns, "link", "set", "eth0", "up");
        sh("ip", "-n", ns, "link", "set", "lo", "up");
    }

    /** The namespace of {@code host}. */
    String ns(String host) {
        return id + "-" + host;
    }

    /** The address of {@code host} on the bed's bridge. */
    String address(String host) {
        Integer n = hosts.get(host);
        if (n == null) {
            throw new IllegalArgumentException("host : " + host + " (expected: one of " + hosts.keySet() + ")");
        }
        return "10.213." + net + "." + n;
    }

    /** Starts {@code command} inside {@code host}'s namespace, stdout and stderr to logs/<name>.log. */
    Role start(String host, String name, List<String> command) throws IOException {
        return start(host, name, command, null, null);
    }

    /**
     * As {@link #start(String, String, List)}, with the host's own directory {@code privateDir}
     * bind-mounted over {@code at} for this process only: {@code ip netns exec} runs its command in
     * a new mount namespace whose mounts do not propagate back, so every host sees its own
     * {@code at}, as separate machines see their own local disks under one path.
     */
    Role start(String host, String name, List<String> command, Path privateDir, Path at) throws IOException {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", ns(host)));
        if (privateDir != null) {
            Files.createDirectories(privateDir);
            Files.createDirectories(at);
            full.addAll(List.of("sh", "-c", "mount --bind \"$1\" \"$2\" && shift 2 && exec \"$@\"", "sh",
                    privateDir.toString(), at.toString()));
        }
        full.addAll(command);
        Path log = logs.resolve(name + ".log");
        Process p = new ProcessBuilder(full).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        Role r = new Role(host, name, p, log);
        synchronized (roles) {
            roles.add(r);
        }
        return r;
    }

    /** A java command line of the test's own JVM and class path, with {@code jvmArgs} before the main class. */
    static List<String> java(List<String> jvmArgs, String mainClass, List<String> args) {
        List<String> c = new ArrayList<>();
        c.add(ProcessHandle.current().info().command().orElseThrow());
        c.addAll(jvmArgs);
        c.add("-cp");
        c.add(System.getProperty("java.class.path"));
        c.add(mainClass);
        c.addAll(args);
        return c;
    }

    /** Runs a short command inside {@code host}'s namespace; its exit code and output. */
    Result exec(String host, String... command) throws IOException {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", ns(host)));
        full.addAll(List.of(command));
        return run(full);
    }

    /** Cuts {@code host} off the bridge (its link goes down: every packet to or from it is lost). */
    void isolate(String host) throws IOException {
        sh("ip", "-n", ns("sw"), "link", "set", "v" + hosts.get(host), "down");
    }

    /** Puts {@code host} back on the bridge. */
    void heal(String host) throws IOException {
        sh("ip", "-n", ns("sw"), "link", "set", "v" + hosts.get(host), "up");
    }

    /**
     * Slows {@code host}'s outgoing traffic: netem {@code delay} when the kernel has it, else a token
     * bucket at {@code rate} (the delay then comes from queueing). Returns the qdisc used.
     */
    String slow(String host, int delayMs, String rate) throws IOException {
        Result netem = exec(host, "tc", "qdisc", "add", "dev", "eth0", "root", "netem", "delay", delayMs + "ms");
        if (netem.code == 0) {
            return "netem delay " + delayMs + "ms";
        }
        Result tbf = exec(host, "tc", "qdisc", "add", "dev", "eth0", "root", "tbf", "rate", rate, "burst", "16kb",
                "latency", delayMs + "ms");
        if (tbf.code != 0) {
            throw new IOException("tc on " + host + ": netem: " + netem.out.strip() + "; tbf: " + tbf.out.strip());
        }
        return "tbf rate " + rate + " latency " + delayMs + "ms (netem: " + netem.out.strip() + ")";
    }

    /** Removes the qdisc {@link #slow} added. */
    void unslow(String host) throws IOException {
        exec(host, "tc", "qdisc", "del", "dev", "eth0", "root");
    }

    /** The last {@code n} lines of a role's log, for failure messages. */
    static String tail(Role r, int n) {
        try {
            List<String> lines = Files.readAllLines(r.log(), StandardCharsets.UTF_8);
            return r.name() + " (" + r.log() + "):\n  " + String.join("\n  ",
                    lines.subList(Math.max(0, lines.size() - n), lines.size()));
        } catch (IOException e) {
            return r.name() + ": " + e;
        }
    }

    /** Every role's last lines. */
    String tails(int n) {
        StringBuilder b = new StringBuilder();
        synchronized (roles) {
            for (Role r : roles) {
                b.append('\n').append(tail(r, n));
            }
        }
        return b.toString();
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        synchronized (roles) {
            for (Role r : roles) {
                r.process().destroyForcibly();
            }
            for (Role r : roles) {
                try {
                    r.process().waitFor(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
        List<String> names = new ArrayList<>();
        for (String h : hosts.keySet()) {
            names.add(ns(h));
        }
        names.add(ns("sw"));
        for (String ns : names) {
            deleteNamespace(ns);
        }
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // already running as the hook
        }
    }

    private void closeQuietly() {
        close();
    }

    /** Kills what is left in {@code ns} (only processes this bed started can be there), then deletes it. */
    private static void deleteNamespace(String ns) {
        try {
            Result pids = run(List.of("ip", "netns", "pids", ns));
            for (String pid : pids.out.strip().split("\\s+")) {
                if (pid.matches("\\d+")) {
                    ProcessHandle.of(Long.parseLong(pid)).ifPresent(ProcessHandle::destroyForcibly);
                }
            }
            run(List.of("ip", "netns", "del", ns));
        } catch (IOException e) {
            System.err.println("netns bed: cannot delete " + ns + ": " + e);
        }
    }

    /** Deletes namespaces named {@code p4j<pid>-*} whose pid is no longer a live process (earlier, crashed beds). */
    static void removeLeftovers() throws IOException {
        Result list = run(List.of("ip", "netns", "list"));
        for (String line : list.out.split("\n")) {
            String name = line.strip().split("\\s+")[0];
            java.util.regex.Matcher m = java.util.regex.Pattern.compile(PREFIX + "(\\d+)-.+").matcher(name);
            if (m.matches() && ProcessHandle.of(Long.parseLong(m.group(1))).map(p -> !p.isAlive()).orElse(true)) {
                deleteNamespace(name);
            }
        }
    }

    private void sh(String... command) throws IOException {
        Result r = run(List.of(command));
        if (r.code != 0) {
            throw new IOException(String.join(" ", command) + " failed (" + r.code + "): " + r.out.strip());
        }
    }

    /** Exit code and output (stdout and stderr) of a finished command. */
    record Result(int code, String out) {
    }

    static Result run(List<String> command) throws IOException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        try {
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", command) + ": no exit within 60 s");
            }
            return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new IOException("interrupted running " + String.join(" ", command), e);
        }
    }
}
