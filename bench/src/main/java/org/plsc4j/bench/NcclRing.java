package org.plsc4j.bench;

import java.time.Duration;
import java.util.UUID;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.plsc4j.core.collective.Collective;
import org.plsc4j.core.collective.CollectiveConfig;
import org.plsc4j.core.collective.Collectives;
import org.plsc4j.core.internal.InMemoryRendezvous;

/**
 * {@code bench allgather --device cuda:K}: N ranks as threads of this JVM, rank r on GPU (K + r) mod G,
 * all-gathering device arrays through the "nccl" collective (found by name, so the bench module does not
 * depend on the -Pcuda nccl module).
 */
final class NcclRing implements AutoCloseable {

    private final RankThreads threads;
    private final Collective[] ranks;
    private final INDArray[] send;
    private final INDArray[] recv;
    private final int[] devices;

    private NcclRing(RankThreads threads, Collective[] ranks, INDArray[] send, INDArray[] recv, int[] devices) {
        this.threads = threads;
        this.ranks = ranks;
        this.send = send;
        this.recv = recv;
        this.devices = devices;
    }

    static NcclRing join(int workers, int firstGpu, int gpus, int floatsPerRank, Duration timeout) throws Exception {
        RankThreads threads = new RankThreads("bench-nccl-", workers);
        Collective[] ranks = new Collective[workers];
        INDArray[] send = new INDArray[workers];
        INDArray[] recv = new INDArray[workers];
        int[] devices = new int[workers];
        CollectiveConfig base = CollectiveConfig.builder().jobId("bench-nccl-" + UUID.randomUUID()).worldSize(workers)
                .timeout(timeout).rendezvous(new InMemoryRendezvous(workers)).build();
        try {
            threads.runAll(r -> {
                devices[r] = (firstGpu + r) % gpus;
                Nd4j.getAffinityManager().unsafeSetDevice(devices[r]);
                ranks[r] = Collectives.join("nccl", base.withRank(r));
                send[r] = Nd4j.createUninitialized(DataType.FLOAT, floatsPerRank).assign(r + 1);
                recv[r] = Nd4j.create(DataType.FLOAT, (long) floatsPerRank * workers);
            });
        } catch (Exception e) {
            for (Collective c : ranks) {
                if (c != null) {
                    c.close();
                }
            }
            threads.close();
            throw e;
        }
        NcclRing ring = new NcclRing(threads, ranks, send, recv, devices);
        ring.verify(floatsPerRank);
        return ring;
    }

    /** One all-gather on every rank; the wall time to the last rank's return (ms). */
    double iterationMs() throws Exception {
        return threads.runAll(r -> {
            Nd4j.getAffinityManager().unsafeSetDevice(devices[r]);
            ranks[r].allGather(send[r], recv[r]);
        });
    }

    private void verify(int floatsPerRank) throws Exception {
        iterationMs();
        for (int r = 0; r < ranks.length; r++) {
            for (int b = 0; b < ranks.length; b++) {
                float got = recv[r].getFloat((long) b * floatsPerRank + floatsPerRank - 1);
                if (got != b + 1) {
                    throw new IllegalStateException("allgather nccl: rank " + r + " received " + got + " in block " + b
                            + " (expected " + (b + 1) + ")");
                }
            }
        }
    }

    @Override
    public void close() {
        for (Collective c : ranks) {
            c.close();
        }
        threads.close();
    }
}
