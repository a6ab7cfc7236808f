package org.plsc4j.worker.internal;

import org.plsc4j.core.collective.Collective;
import org.plsc4j.core.collective.CollectiveConfig;
import org.plsc4j.core.collective.CollectiveContractTest;

/**
 * Runs the {@link CollectiveContractTest} against the Netty backend: all ranks in this JVM, each
 * with its own event loop, server and TCP connections over 127.0.0.1, addresses exchanged through
 * an in-memory rendezvous.
 */
class NettyCollectiveTest extends CollectiveContractTest {

    @Override
    protected Collective join(CollectiveConfig config) {
        return new NettyCollectiveProvider().join(config);
    }
}
