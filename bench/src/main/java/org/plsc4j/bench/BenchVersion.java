package org.plsc4j.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/** The plsc4j version recorded in benchmark results, from a resource filtered with the Maven project version. */
final class BenchVersion {

    private static final String VERSION = load();

    private BenchVersion() {
    }

    /** The project version, or "unknown" when the resource is missing (e.g. an unfiltered IDE build). */
    static String get() {
        return VERSION;
    }

    private static String load() {
        try (InputStream in = BenchVersion.class.getResourceAsStream("version.properties")) {
            if (in == null) {
                return "unknown";
            }
            Properties p = new Properties();
            p.load(in);
            String v = p.getProperty("version", "unknown");
            return v.startsWith("${") ? "unknown" : v;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
