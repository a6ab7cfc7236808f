package org.plsc4j.core.internal;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.plsc4j.core.collective.Collective;
import org.plsc4j.core.collective.CollectiveConfig;
import org.plsc4j.core.collective.CollectiveContractTest;
import org.plsc4j.core.collective.CollectiveException;
import org.plsc4j.core.collective.ReduceOp;

/** Runs the {@link CollectiveContractTest} against the in-process backend (ranks are threads). */
class InProcessCollectiveTest extends CollectiveContractTest {

    @Override
    protected Collective join(CollectiveConfig config) {
        return new InProcessCollectiveProvider().join(config);
    }

    /**
     * A rank that closes (the in-process stand-in for a crash) fails its peers' next operations at
     * once, also those that start after the close: they must not wait out the group timeout (60 s)
     * for a rank that is gone.
     */
    @Test
    void aClosedRankFailsPeersThatArriveLaterAtOnce() {
        List<Collective> group = joinGroup(3, newJobId(), "secret");
        runAll(group, Collective::barrier);
        group.get(2).close();
        for (Collective c : group.subList(0, 2)) {
            long t0 = System.nanoTime();
            CollectiveException e = assertThrows(CollectiveException.class,
                    () -> c.allReduce(new float[4], ReduceOp.SUM));
            assertTrue(System.nanoTime() - t0 < SHORT_TIMEOUT.toNanos(), "rank " + c.rank() + " waited "
                    + (System.nanoTime() - t0) / 1e9 + " s for a closed peer");
            assertNamesRank(e.getMessage(), 2);
        }
    }
}
