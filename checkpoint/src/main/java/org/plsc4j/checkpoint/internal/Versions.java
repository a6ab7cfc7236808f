package org.plsc4j.checkpoint.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Properties;
import org.plsc4j.checkpoint.Manifest;

/** The provenance recorded in manifests: versions from a resource filtered by Maven, the JVM, OS and host. */
public final class Versions {

    private static final Properties PROPS = load();

    private Versions() {
    }

    /** plsc4j's version, or "unknown" in an unfiltered (IDE) build. */
    public static String plsc4j() {
        return value("version");
    }

    /** ND4J's version: the jar's Maven metadata when present, else the version plsc4j was built against. */
    public static String nd4j() {
        try (InputStream in = Versions.class.getClassLoader()
                .getResourceAsStream("META-INF/maven/org.nd4j/nd4j-api/pom.properties")) {
            if (in != null) {
                Properties p = new Properties();
                p.load(in);
                String v = p.getProperty("version");
                if (v != null && !v.isBlank()) {
                    return v;
                }
            }
        } catch (IOException e) {
            // fall back to the build-time version
        }
        return value("nd4j.version");
    }

    /** The provenance of a checkpoint written now by {@code worldSize} ranks from this host. */
    public static Manifest.Provenance provenance(int worldSize) {
        return new Manifest.Provenance(plsc4j(), nd4j(), System.getProperty("java.version"),
                System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch"),
                Instant.now().truncatedTo(ChronoUnit.MILLIS).toString(), worldSize, hostname());
    }

    private static String hostname() {
        String env = System.getenv("HOSTNAME");
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return env != null && !env.isBlank() ? env : "unknown";
        }
    }

    private static String value(String key) {
        String v = PROPS.getProperty(key, "unknown");
        return v.startsWith("${") ? "unknown" : v;
    }

    private static Properties load() {
        Properties p = new Properties();
        try (InputStream in = Versions.class.getResourceAsStream("/org/plsc4j/checkpoint/version.properties")) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return p;
    }
}
