package org.plsc4j.bench;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.util.List;

/**
 * What one {@code plsc4j bench allgather} run measured; {@code --json} prints it as one JSON object.
 * The field names are a public contract (scripts compare runs by them): they never follow Java renames.
 *
 * @param version plsc4j version
 * @param workers ranks N (threads of this JVM)
 * @param bytesPerRank M: bytes each rank contributes
 * @param iterations timed iterations of each
 * @param warmup untimed iterations of each
 * @param transport the Netty transport ("epoll" or "nio")
 * @param socketBuffer SO_SNDBUF/SO_RCVBUF of both, bytes
 * @param nettyGbps (N−1)·M / median Netty all-gather time, 1e9 bytes/s
 * @param nioGbps (N−1)·M / median SocketChannel ring time, 1e9 bytes/s
 * @param ratio nettyGbps / nioGbps
 * @param nettyMs median Netty all-gather wall time, ms
 * @param nettyMsAll every timed Netty iteration, ms
 * @param nioMs median baseline wall time, ms
 * @param nioMsAll every timed baseline iteration, ms
 * @param device "cpu", or the first GPU of the NCCL ranks ({@code --device cuda:K})
 * @param ncclGbps (N−1)·M / median NCCL all-gather time of device arrays, 1e9 bytes/s; null on cpu
 * @param ncclMs median NCCL wall time, ms; null on cpu
 * @param ncclMsAll every timed NCCL iteration, ms; null on cpu
 * @param nettySpread median, min, max and quartiles of the timed Netty iterations, ms
 * @param nioSpread the same for the baseline, ms (the two alternate, their order swapping every iteration)
 * @param loadBefore 1-minute load average before the first iteration (null where unknown)
 * @param loadAfter 1-minute load average after the last
 */
@JsonPropertyOrder({"version", "workers", "bytes_per_rank", "iterations", "warmup", "transport", "socket_buffer",
    "netty_gbps", "nio_gbps", "ratio", "netty_ms", "netty_ms_all", "nio_ms", "nio_ms_all", "device", "nccl_gbps", "nccl_ms", "nccl_ms_all",
    "netty_spread", "nio_spread", "load_before", "load_after"})
record AllGatherBenchResult(
        @JsonProperty("version") String version,
        @JsonProperty("workers") int workers,
        @JsonProperty("bytes_per_rank") long bytesPerRank,
        @JsonProperty("iterations") int iterations,
        @JsonProperty("warmup") int warmup,
        @JsonProperty("transport") String transport,
        @JsonProperty("socket_buffer") int socketBuffer,
        @JsonProperty("netty_gbps") double nettyGbps,
        @JsonProperty("nio_gbps") double nioGbps,
        @JsonProperty("ratio") double ratio,
        @JsonProperty("netty_ms") double nettyMs,
        @JsonProperty("netty_ms_all") List<Double> nettyMsAll,
        @JsonProperty("nio_ms") double nioMs,
        @JsonProperty("nio_ms_all") List<Double> nioMsAll,
        @JsonProperty("device") String device,
        @JsonProperty("nccl_gbps") Double ncclGbps,
        @JsonProperty("nccl_ms") Double ncclMs,
        @JsonProperty("nccl_ms_all") List<Double> ncclMsAll,
        @JsonProperty("netty_spread") Spread nettySpread,
        @JsonProperty("nio_spread") Spread nioSpread,
        @JsonProperty("load_before") Double loadBefore,
        @JsonProperty("load_after") Double loadAfter) {
}
