package org.plsc4j.core.collective;

import java.time.Duration;
import java.util.List;

/**
 * How the members of a group learn each other's addresses before they connect.
 *
 * <p>Why separate from {@link Collective}: the transport does not care whether addresses come from
 * an in-memory table (tests), a TCP store on a master address (local launcher, like torchrun's
 * MASTER_ADDR) or ZooKeeper (the coordinator).
 */
public interface Rendezvous {

    /**
     * Publishes {@code myAddress} ("host:port") for {@code rank} and blocks until all
     * {@code worldSize} ranks have published theirs.
     *
     * @return the addresses indexed by rank
     * @throws CollectiveException when not every rank arrived within {@code timeout}; the message
     *     names the missing ranks
     */
    List<String> exchange(int rank, int worldSize, String myAddress, Duration timeout);
}
