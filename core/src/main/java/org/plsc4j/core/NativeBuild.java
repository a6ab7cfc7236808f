package org.plsc4j.core;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which nd4j-native build (JavaCPP platform extension) a JVM of ours loads: the best one this CPU
 * supports among those shipped on the class path, unless {@code PLSC4J_ND4J_BUILD} names one.
 *
 * <p>Why it matters: the generic {@code linux-x86_64} build is compiled for baseline x86-64; the
 * oneDNN builds run convolutions through oneDNN and ran the {@code small} CNN's inference 2.2× and
 * training 1.6× faster (BENCHMARKS.md). JavaCPP reads {@value #PROPERTY} once, when ND4J first loads
 * its natives, so {@link #select()} must run before anything touches ND4J: first thing in every
 * {@code main} we own, in test JVMs through a JUnit session listener, and child JVMs get it on their
 * command line ({@link #jvmArgs()}).
 *
 * <p>This class touches no ND4J class.
 */
public enum NativeBuild {
    /** oneDNN convolutions, AVX-512 kernels. */
    ONEDNN_AVX512("onednn-avx512", "-onednn-avx512", "avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd"),
    /** AVX-512 kernels. */
    AVX512("avx512", "-avx512", "avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd"),
    /** oneDNN convolutions, AVX2 kernels. */
    ONEDNN_AVX2("onednn-avx2", "-onednn-avx2", "avx2", "fma"),
    /** AVX2 kernels. */
    AVX2("avx2", "-avx2", "avx2", "fma"),
    /** oneDNN convolutions, baseline x86-64 kernels. */
    ONEDNN("onednn", "-onednn"),
    /** Baseline x86-64 (the build Maven resolves by default). */
    GENERIC("generic", "");

    /** The JavaCPP system property that selects the build. */
    public static final String PROPERTY = "org.bytedeco.javacpp.platform.extension";
    /** The environment variable that overrides the choice (a {@link #key()}). */
    public static final String ENV = "PLSC4J_ND4J_BUILD";

    private static final Logger LOG = LoggerFactory.getLogger(NativeBuild.class);
    private static final AtomicReference<NativeBuild> SELECTED = new AtomicReference<>();
    private static final String PLATFORM = "linux-x86_64";
    private static final Pattern LOADED = Pattern.compile("/bindings/" + PLATFORM + "(-[a-z0-9-]+)?/libnd4jcpu\\.so");

    private final String key;
    private final String extension;
    private final Set<String> flags;

    NativeBuild(String key, String extension, String... flags) {
        this.key = key;
        this.extension = extension;
        this.flags = Set.of(flags);
    }

    /** The name users write ({@code PLSC4J_ND4J_BUILD}, the log line, {@code native_build} in bench JSON). */
    public String key() {
        return key;
    }

    /** The JavaCPP platform extension, e.g. {@code -onednn-avx2}; empty for the generic build. */
    public String extension() {
        return extension;
    }

    /** The Maven classifier of its nd4j-native jar. */
    public String classifier() {
        return PLATFORM + extension;
    }

    /** Whether a CPU with these {@code /proc/cpuinfo} flags can run this build. */
    public boolean runsOn(Set<String> cpuFlags) {
        return cpuFlags.containsAll(flags);
    }

    /** Whether this build's native library is on the class path (its classifier jar is shipped). */
    public boolean shipped() {
        return NativeBuild.class.getClassLoader().getResource(
                "org/nd4j/linalg/cpu/nativecpu/bindings/" + classifier() + "/libjnind4jcpu.so") != null;
    }

    /** The build named {@code key} (case-insensitive). */
    public static NativeBuild parse(String key) {
        for (NativeBuild b : values()) {
            if (b.key.equalsIgnoreCase(key.trim())) {
                return b;
            }
        }
        throw new IllegalArgumentException(ENV + " : " + key + " (expected one of " + keys() + ")");
    }

    private static NativeBuild ofExtension(String extension) {
        for (NativeBuild b : values()) {
            if (b.extension.equals(extension)) {
                return b;
            }
        }
        throw new IllegalArgumentException(PROPERTY + " : " + extension + " (expected one of the extensions of "
                + keys() + ")");
    }

    private static List<String> keys() {
        return Arrays.stream(values()).map(NativeBuild::key).toList();
    }

    /**
     * The build to load: {@code override} when set (it must run on this CPU and be shipped), else the
     * first of {@link #values()} (fastest first) that runs on {@code cpuFlags} and is shipped.
     *
     * @param cpuFlags the CPU's flags, as in {@code /proc/cpuinfo}
     * @param shipped which builds are on the class path
     * @param override a {@link #key()}, or null / blank for automatic
     * @throws IllegalArgumentException naming the override when it cannot run here
     */
    public static NativeBuild choose(Set<String> cpuFlags, Predicate<NativeBuild> shipped, String override) {
        if (override != null && !override.isBlank()) {
            NativeBuild b = parse(override);
            if (!b.runsOn(cpuFlags)) {
                throw new IllegalArgumentException(ENV + " : " + override + " (this CPU lacks "
                        + missing(b, cpuFlags) + "; expected one of " + supported(cpuFlags, shipped) + ")");
            }
            if (!shipped.test(b)) {
                throw new IllegalArgumentException(ENV + " : " + override + " (nd4j-native:" + b.classifier()
                        + " is not on the class path; expected one of " + supported(cpuFlags, shipped) + ")");
            }
            return b;
        }
        for (NativeBuild b : values()) {
            if (b.runsOn(cpuFlags) && shipped.test(b)) {
                return b;
            }
        }
        return GENERIC;
    }

    private static List<String> missing(NativeBuild b, Set<String> cpuFlags) {
        return b.flags.stream().filter(f -> !cpuFlags.contains(f)).sorted().toList();
    }

    private static List<String> supported(Set<String> cpuFlags, Predicate<NativeBuild> shipped) {
        List<String> out = new ArrayList<>();
        for (NativeBuild b : values()) {
            if (b.runsOn(cpuFlags) && shipped.test(b)) {
                out.add(b.key);
            }
        }
        return out;
    }

    /** The flags of the first processor in {@code cpuinfo} (the text of {@code /proc/cpuinfo}). */
    public static Set<String> parseFlags(String cpuinfo) {
        for (String line : cpuinfo.split("\n")) {
            int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).trim().equals("flags")) {
                return new HashSet<>(Arrays.asList(line.substring(colon + 1).trim().split("\\s+")));
            }
        }
        return Set.of();
    }

    /** This machine's CPU flags; empty when {@code /proc/cpuinfo} is unreadable (not Linux). */
    public static Set<String> cpuFlags() {
        try {
            return parseFlags(Files.readString(Path.of("/proc/cpuinfo")));
        } catch (IOException | RuntimeException e) {
            return Set.of();
        }
    }

    /**
     * Chooses the build for this JVM and sets {@value #PROPERTY}; logs the choice once. When the
     * property is already set (a parent JVM passed {@link #jvmArgs()}, or the user passed {@code -D}),
     * that choice stands. Idempotent; must run before ND4J loads its natives to take effect.
     */
    public static NativeBuild select() {
        NativeBuild b = SELECTED.get();
        if (b != null) {
            return b;
        }
        synchronized (SELECTED) {
            if (SELECTED.get() != null) {
                return SELECTED.get();
            }
            String preset = System.getProperty(PROPERTY);
            String env = System.getenv(ENV);
            String why;
            if (preset != null) {
                b = ofExtension(preset.trim());
                why = "-D" + PROPERTY + "=" + preset;
            } else {
                Set<String> flags = cpuFlags();
                b = choose(flags, NativeBuild::shipped, env);
                why = env != null && !env.isBlank() ? ENV + "=" + env : "best shipped build this CPU runs (shipped: "
                        + Arrays.stream(values()).filter(NativeBuild::shipped).map(NativeBuild::key).toList()
                        + "; override with " + ENV + ")";
                System.setProperty(PROPERTY, b.extension);
            }
            SELECTED.set(b);
            LOG.info("nd4j native build: {} ({})", b.key, why);
            return b;
        }
    }

    /** JVM options that make a child JVM load the same build as this one (selecting it first if needed). */
    public static List<String> jvmArgs() {
        return List.of("-D" + PROPERTY + "=" + select().extension);
    }

    /**
     * The build whose {@code libnd4jcpu.so} this process has actually mapped (from
     * {@code /proc/self/maps}), or null when ND4J has not loaded its natives yet: the proof, not
     * the intent.
     */
    public static NativeBuild loaded() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
                Matcher m = LOADED.matcher(line);
                if (m.find()) {
                    return ofExtension(m.group(1) == null ? "" : m.group(1));
                }
            }
        } catch (IOException e) {
            return null;
        }
        return null;
    }

    @Override
    public String toString() {
        return key;
    }
}
