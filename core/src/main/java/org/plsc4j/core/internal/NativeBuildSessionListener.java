package org.plsc4j.core.internal;

import org.junit.platform.launcher.LauncherSession;
import org.junit.platform.launcher.LauncherSessionListener;
import org.plsc4j.core.NativeBuild;

/**
 * Makes test JVMs (surefire forks of every module that depends on core) load the same nd4j-native
 * build as {@code ./plsc4j}: JUnit opens the launcher session before it loads any test class, so
 * {@link NativeBuild#select()} runs before ND4J does. Registered through
 * {@code META-INF/services/org.junit.platform.launcher.LauncherSessionListener}; outside JUnit the
 * registration is never read (junit-platform-launcher is a provided dependency of core).
 */
public final class NativeBuildSessionListener implements LauncherSessionListener {

    @Override
    public void launcherSessionOpened(LauncherSession session) {
        NativeBuild.select();
    }
}
