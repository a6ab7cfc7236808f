package org.plsc4j.worker;

import org.plsc4j.core.PartialFc;
import org.plsc4j.core.collective.Collective;

/** What one generation of a rank trains with: its group and its FC shard (a fixed group has one generation). */
record Generation(long number, Collective collective, PartialFc fc) {
    int rank() {
        return collective.rank();
    }

    int world() {
        return collective.worldSize();
    }

    /** First class of this rank's FC rows. */
    int start() {
        return fc.layout().start(fc.rank());
    }

    /** One past the last class of this rank's FC rows. */
    int end() {
        return fc.layout().end(fc.rank());
    }
}
