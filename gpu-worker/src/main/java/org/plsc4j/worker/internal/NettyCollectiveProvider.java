package org.plsc4j.worker.internal;

import org.plsc4j.core.collective.Collective;
import org.plsc4j.core.collective.CollectiveConfig;
import org.plsc4j.core.collective.CollectiveProvider;

/** The "netty" backend: one process (or instance) per rank, ring algorithms over TCP. */
public final class NettyCollectiveProvider implements CollectiveProvider {

    /** Name used in configs and on the command line. */
    public static final String NAME = "netty";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Collective join(CollectiveConfig config) {
        return NettyCollective.join(config);
    }
}
