package org.plsc4j.core.collective;

import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

/** Finds {@link CollectiveProvider}s with {@link ServiceLoader} and joins groups by backend name. */
public final class Collectives {

    private Collectives() {
    }

    /** All providers on the class path, in class-path order. */
    public static List<CollectiveProvider> providers() {
        List<CollectiveProvider> out = new ArrayList<>();
        ServiceLoader.load(CollectiveProvider.class).forEach(out::add);
        return out;
    }

    /**
     * The provider called {@code name}.
     *
     * @throws IllegalArgumentException naming the known backends when none matches, or the reason
     *     when it exists but cannot run here
     */
    public static CollectiveProvider provider(String name) {
        List<String> known = new ArrayList<>();
        for (CollectiveProvider p : providers()) {
            known.add(p.name());
            if (p.name().equals(name)) {
                if (!p.isAvailable()) {
                    throw new IllegalArgumentException(
                            "collective : " + name + " is not available here: " + p.unavailableReason());
                }
                return p;
            }
        }
        throw new IllegalArgumentException("collective : " + name + " (expected one of " + known + ")");
    }

    /** Joins a group with the named backend. */
    public static Collective join(String name, CollectiveConfig config) {
        return provider(name).join(config);
    }
}
