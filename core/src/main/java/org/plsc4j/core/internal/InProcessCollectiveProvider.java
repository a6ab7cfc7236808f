package org.plsc4j.core.internal;

import org.plsc4j.core.collective.Collective;
import org.plsc4j.core.collective.CollectiveConfig;
import org.plsc4j.core.collective.CollectiveProvider;

/** The "inprocess" backend: ranks are threads of this JVM. */
public final class InProcessCollectiveProvider implements CollectiveProvider {

    /** Name used in configs. */
    public static final String NAME = "inprocess";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Collective join(CollectiveConfig config) {
        return InProcessCollective.join(config);
    }
}
