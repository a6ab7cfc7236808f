package org.plsc4j.bench;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.Callable;
import org.plsc4j.core.Device;
import org.plsc4j.core.GpuProbe;
import org.plsc4j.core.collective.CollectiveConfig;
import org.plsc4j.worker.TcpRendezvous;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code plsc4j bench allgather}: the Netty ring all-gather against a plain {@code java.nio}
 * {@code SocketChannel} ring moving the same bytes, in the same run.
 *
 * <p>Why this baseline: an all-gather over a ring of N ranks makes every rank send and receive
 * (N−1)·M bytes over one connection each way. Plain blocking socket channels streaming exactly those
 * bytes around the same ring, from and into buffers of one block (see {@link NioRing}: the bytes
 * must come from and land in main memory), with the same socket buffer sizes, are what the loopback and kernel
 * allow with no framing, no handshake and no event loop; the ratio says what the collective's
 * protocol and Netty cost on top. Both groups are connected before timing starts and their
 * iterations alternate, so machine noise hits both alike.
 *
 * <p>Ranks are threads of this JVM (each Netty rank has its own event loop, server and TCP
 * connections over 127.0.0.1, addresses exchanged through a {@link TcpRendezvous}). Bandwidth is per
 * rank: (N−1)·M bytes received per rank over the wall time of the slowest rank.
 */
@Command(name = "allgather", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Netty ring all-gather throughput against a plain java.nio SocketChannel ring (same bytes, same run).",
        description = {
            "N ranks (threads of this JVM) all-gather --mb MiB each through the Netty collective over 127.0.0.1; "
                + "the baseline streams the same (N-1)*M bytes per rank around a ring of blocking SocketChannels "
                + "from and into block-sized buffers, with the same socket buffers. Iterations of the two alternate. GB/s = 1e9 bytes/s received per rank.",
            "With --json exactly one JSON object is printed on stdout; progress goes to stderr.",
            ""})
public final class AllGatherBench implements Callable<Integer> {

    private static final Logger LOG = LoggerFactory.getLogger(AllGatherBench.class);
    static final Duration TIMEOUT = Duration.ofMinutes(2);

    @Spec
    CommandSpec spec;

    @Option(names = "--mb", defaultValue = "64", description = "MiB each rank contributes (default: ${DEFAULT-VALUE}).")
    double mb;

    @Option(names = "--workers", defaultValue = "2", description = "Number of ranks, >= 2 (default: ${DEFAULT-VALUE}).")
    int workers;

    @Option(names = "--iterations", defaultValue = "10", description = "Timed iterations of each (default: ${DEFAULT-VALUE}).")
    int iterations;

    @Option(names = "--warmup", defaultValue = "2", description = "Untimed iterations of each first (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--json", description = "Print one JSON object on stdout instead of a table.")
    boolean json;

    @Option(names = "--device", defaultValue = "cpu",
            description = "cpu, or cuda:K to also time NCCL on device arrays, rank r on GPU (K + r) mod GPUs, alternated"
                + " with the two host rings (-Pcuda build; one rank per GPU) (default: ${DEFAULT-VALUE}).")
    String device;

    @Override
    public Integer call() throws Exception {
        validate();
        Device dev = Device.parse(device);
        dev.check();
        int gpus = dev.isCuda() ? GpuProbe.system().gpus().size() : 0;
        check(!dev.isCuda() || workers <= gpus, "workers : " + workers + " with --device " + dev + " (expected: <= "
                + gpus + ", the GPUs of this machine: NCCL takes one rank per GPU)");
        int floatsPerRank = (int) Math.max(1, Math.round(mb * 1024 * 1024 / Float.BYTES));
        long bytesPerRank = (long) floatsPerRank * Float.BYTES;
        long movedPerRank = bytesPerRank * (workers - 1);
        String jobId = "bench-allgather-" + UUID.randomUUID();
        String token = UUID.randomUUID().toString();
        LOG.info("allgather: {} ranks x {} bytes, {} warm-up + {} timed iterations of each", workers, bytesPerRank,
                warmup, iterations);

        Double loadBefore = LoadAverage.oneMinute();
        LOG.info("load average before: {}", loadBefore);
        List<Double> nettyMs = new ArrayList<>();
        List<Double> nioMs = new ArrayList<>();
        List<Double> ncclMs = new ArrayList<>();
        String transport;
        try (TcpRendezvous.Server server = TcpRendezvous.Server.start("127.0.0.1", 0, jobId, token)) {
            CollectiveConfig base = CollectiveConfig.builder()
                    .jobId(jobId)
                    .token(token)
                    .worldSize(workers)
                    .timeout(TIMEOUT)
                    .rendezvous(TcpRendezvous.parse(server.address(), jobId, token))
                    .build();
            try (NettyRing netty = NettyRing.join(base, floatsPerRank);
                 NioRing nio = NioRing.connect(workers, movedPerRank, bytesPerRank, TIMEOUT);
                 NcclRing nccl = dev.isCuda() ? NcclRing.join(workers, dev.index(), gpus, floatsPerRank, TIMEOUT) : null) {
                transport = netty.transport();
                netty.verify(); // the bytes that arrive are the bytes that were sent, in rank order
                for (int i = 0; i < warmup + iterations; i++) {
                    // the order alternates so that neither side always runs first (after the other's traffic)
                    double a;
                    double b;
                    if (i % 2 == 0) {
                        a = netty.iterationMs();
                        b = nio.iterationMs();
                    } else {
                        b = nio.iterationMs();
                        a = netty.iterationMs();
                    }
                    double c = nccl == null ? Double.NaN : nccl.iterationMs();
                    String tag = i < warmup ? " (warm-up)" : "";
                    LOG.info("allgather: iteration {}/{}{} netty {} ms, nio {} ms", i + 1, warmup + iterations, tag,
                            fmt(a, 1), fmt(b, 1));
                    if (nccl != null) {
                        LOG.info("allgather: iteration {}/{}{} nccl {} ms", i + 1, warmup + iterations, tag, fmt(c, 2));
                    }
                    if (i >= warmup) {
                        nettyMs.add(a);
                        nioMs.add(b);
                        if (nccl != null) {
                            ncclMs.add(c);
                        }
                    }
                }
            }
        }
        double nettyMedian = Stats.median(toArray(nettyMs));
        double nioMedian = Stats.median(toArray(nioMs));
        double nettyGbps = movedPerRank / (nettyMedian / 1e3) / 1e9;
        double nioGbps = movedPerRank / (nioMedian / 1e3) / 1e9;
        AllGatherBenchResult r = new AllGatherBenchResult(BenchVersion.get(), workers, bytesPerRank, iterations, warmup,
                transport, RingSockets.SOCKET_BUFFER,
                Stats.round(nettyGbps, 3), Stats.round(nioGbps, 3), Stats.round(nettyGbps / nioGbps, 3),
                Stats.round(nettyMedian, 3), rounded(nettyMs), Stats.round(nioMedian, 3), rounded(nioMs),
                dev.toString(), ncclMs.isEmpty() ? null : Stats.round(movedPerRank / (Stats.median(toArray(ncclMs)) / 1e3) / 1e9, 3),
                ncclMs.isEmpty() ? null : Stats.round(Stats.median(toArray(ncclMs)), 3),
                ncclMs.isEmpty() ? null : rounded(ncclMs),
                Spread.of(nettyMs, 3), Spread.of(nioMs, 3), loadBefore, LoadAverage.oneMinute());
        print(r);
        return 0;
    }

    private void validate() {
        check(workers >= 2, "workers : " + workers + " (expected: >= 2, an all-gather of one rank moves nothing)");
        check(workers <= 64, "workers : " + workers + " (expected: <= 64 threads of one JVM)");
        check(mb > 0 && Double.isFinite(mb), "mb : " + mb + " (expected: > 0)");
        check(mb * 1024 * 1024 * workers <= Integer.MAX_VALUE - 8,
                "mb : " + mb + " (expected: mb * workers <= 2047 MiB, one collective call's limit)");
        check(iterations >= 1, "iterations : " + iterations + " (expected: >= 1)");
        check(warmup >= 0, "warmup : " + warmup + " (expected: >= 0)");
    }

    private void check(boolean ok, String message) {
        if (!ok) {
            throw new ParameterException(spec.commandLine(), message);
        }
    }

    private static double[] toArray(List<Double> v) {
        return v.stream().mapToDouble(Double::doubleValue).toArray();
    }

    private static List<Double> rounded(List<Double> v) {
        return v.stream().map(x -> Stats.round(x, 3)).toList();
    }

    private void print(AllGatherBenchResult r) throws JsonProcessingException {
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(new ObjectMapper().writeValueAsString(r));
            out.flush();
            return;
        }
        out.printf(Locale.ROOT, "plsc4j bench allgather (plsc4j %s)%n", r.version());
        out.printf(Locale.ROOT, "  workers %d, %d bytes per rank, transport %s, socket buffers %d bytes%n",
                r.workers(), r.bytesPerRank(), r.transport(), r.socketBuffer());
        out.printf(Locale.ROOT, "  %-12s %10s   %s%n", "netty_gbps", fmt(r.nettyGbps(), 3),
                "Netty ring all-gather, median of " + r.iterations() + " (" + fmt(r.nettyMs(), 1) + " ms)");
        out.printf(Locale.ROOT, "  %-12s %10s   %s%n", "nio_gbps", fmt(r.nioGbps(), 3),
                "SocketChannel ring, same bytes, median of " + r.iterations() + " (" + fmt(r.nioMs(), 1) + " ms)");
        out.printf(Locale.ROOT, "  %-12s %10s   %s%n", "ratio", fmt(r.ratio(), 3), "netty_gbps / nio_gbps");
        if (r.ncclGbps() != null) {
            out.printf(Locale.ROOT, "  %-12s %10s   %s%n", "nccl_gbps", fmt(r.ncclGbps(), 3),
                    "NCCL all-gather of device arrays from " + r.device() + ", median (" + fmt(r.ncclMs(), 2) + " ms)");
        }
        out.flush();
    }

    private static String fmt(double v, int digits) {
        return String.format(Locale.ROOT, "%." + digits + "f", v);
    }
}
