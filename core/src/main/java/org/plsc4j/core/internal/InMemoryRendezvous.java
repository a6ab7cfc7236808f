package org.plsc4j.core.internal;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.plsc4j.core.collective.CollectiveException;
import org.plsc4j.core.collective.Rendezvous;

/** A {@link Rendezvous} for ranks that live in one JVM (tests, benches): a shared table and a monitor. */
public final class InMemoryRendezvous implements Rendezvous {

    private final String[] addresses;

    /** A rendezvous for {@code worldSize} ranks. */
    public InMemoryRendezvous(int worldSize) {
        this.addresses = new String[worldSize];
    }

    @Override
    public List<String> exchange(int rank, int worldSize, String myAddress, Duration timeout) {
        if (worldSize != addresses.length) {
            throw new CollectiveException("rendezvous for " + addresses.length + " ranks, rank " + rank
                    + " asked for world_size " + worldSize);
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (addresses) {
            addresses[rank] = myAddress;
            addresses.notifyAll();
            while (Arrays.asList(addresses).contains(null)) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    List<Integer> missing = new ArrayList<>();
                    for (int r = 0; r < addresses.length; r++) {
                        if (addresses[r] == null) {
                            missing.add(r);
                        }
                    }
                    throw new CollectiveException("rendezvous: rank " + rank + " timed out after " + timeout
                            + " waiting for rank(s) " + missing);
                }
                try {
                    addresses.wait(Math.max(1, left / 1_000_000));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new CollectiveException("rendezvous interrupted", e);
                }
            }
            return List.of(addresses.clone());
        }
    }
}
