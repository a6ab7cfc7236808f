package org.plsc4j.worker.internal;

import java.time.Duration;
import java.util.List;
import org.plsc4j.core.Ranks;
import org.plsc4j.core.ShardedSoftmaxContractTest;
import org.plsc4j.core.collective.Collective;
import org.plsc4j.core.collective.CollectiveConfig;
import org.plsc4j.core.collective.Collectives;
import org.plsc4j.core.internal.InMemoryRendezvous;

/**
 * The distributed margin softmax and FC step over the Netty TCP collective: every rank has its own
 * channels on 127.0.0.1, and the results must equal the single-device computation.
 */
class NettyShardedSoftmaxTest extends ShardedSoftmaxContractTest {

    @Override
    protected List<Collective> joinGroup(int worldSize, String jobId) {
        InMemoryRendezvous rendezvous = new InMemoryRendezvous(worldSize);
        CollectiveConfig cfg = CollectiveConfig.builder().jobId(jobId).token("t0k3n").worldSize(worldSize)
                .timeout(Duration.ofSeconds(60)).rendezvous(rendezvous).build();
        return Ranks.runIndexed(worldSize, r -> () -> Collectives.join("netty", cfg.withRank(r)));
    }
}
