package org.plsc4j.core.internal;

import java.time.Duration;
import java.util.List;
import org.plsc4j.core.Ranks;
import org.plsc4j.core.ShardedSoftmaxContractTest;
import org.plsc4j.core.collective.Collective;
import org.plsc4j.core.collective.CollectiveConfig;
import org.plsc4j.core.collective.Collectives;

/** The distributed softmax contract over the in-process collective. */
class InProcessShardedSoftmaxTest extends ShardedSoftmaxContractTest {

    @Override
    protected List<Collective> joinGroup(int worldSize, String jobId) {
        CollectiveConfig cfg = CollectiveConfig.builder().jobId(jobId).worldSize(worldSize)
                .timeout(Duration.ofSeconds(60)).build();
        return Ranks.runIndexed(worldSize, r -> () -> Collectives.join("inprocess", cfg.withRank(r)));
    }
}
