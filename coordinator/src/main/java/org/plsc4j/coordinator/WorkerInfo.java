package org.plsc4j.coordinator;

import java.util.Objects;

/**
 * What a worker tells the coordinator when it registers.
 *
 * <p>Why host and port: they become the rank's address in the generation, so peers and tools can
 * reach the worker (its data/control port) without another lookup; pid and device are for humans
 * and for choosing collectives (a generation of "cuda" workers can use NCCL).
 *
 * @param host the worker's host name or IP as peers should use it
 * @param port the worker's port (1..65535), or 0 when it has none yet
 * @param pid the process id
 * @param device the device kind, e.g. "cpu" or "cuda:0"
 */
public record WorkerInfo(String host, int port, long pid, String device) {

    /** Validates the fields; messages name the field and the expectation. */
    public WorkerInfo {
        if (host == null || host.isBlank()) {
            throw new IllegalArgumentException("host : " + host + " (expected: a host name or IP address)");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port : " + port + " (expected: 0..65535)");
        }
        Objects.requireNonNull(device, "device");
    }

    /**
     * The device kind: {@code device} up to its first ':' ("cpu", "cuda"), lower case. Why: a generation
     * holds workers of one kind only (a CPU rank cannot join an NCCL group, and would pace the GPUs).
     */
    public String deviceKind() {
        int colon = device.indexOf(':');
        String kind = colon < 0 ? device : device.substring(0, colon);
        return kind.isBlank() ? "cpu" : kind.strip().toLowerCase(java.util.Locale.ROOT);
    }

    /** This process on {@code host:port} with device {@code device}. */
    public static WorkerInfo thisProcess(String host, int port, String device) {
        return new WorkerInfo(host, port, ProcessHandle.current().pid(), device);
    }
}
