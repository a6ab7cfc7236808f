package org.plsc4j.core.internal;

import org.plsc4j.core.collective.Collective;
import org.plsc4j.core.collective.CollectiveConfig;
import org.plsc4j.core.collective.CollectiveContractTest;

/** Runs the {@link CollectiveContractTest} against the in-process backend (ranks are threads). */
class InProcessCollectiveTest extends CollectiveContractTest {

    @Override
    protected Collective join(CollectiveConfig config) {
        return new InProcessCollectiveProvider().join(config);
    }
}
