package org.plsc4j.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class NativeBuildTest {

    /** Flags of a Skylake-SP class server (this machine's kind), of a Haswell desktop, of an old Westmere. */
    private static final String AVX512_CPU = "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu vme sse sse2 ssse3"
            + " fma cx16 sse4_1 sse4_2 avx f16c avx2 bmi2 avx512f avx512dq avx512cd avx512bw avx512vl\n\nprocessor\t: 1\n";
    private static final Set<String> AVX2_CPU = Set.of("sse", "sse2", "sse4_2", "avx", "f16c", "fma", "avx2");
    private static final Set<String> OLD_CPU = Set.of("sse", "sse2", "sse4_2");
    private static final Set<NativeBuild> SHIPPED = EnumSet.of(NativeBuild.ONEDNN_AVX512, NativeBuild.ONEDNN_AVX2,
            NativeBuild.GENERIC);

    @Test
    void picksTheFastestShippedBuildTheCpuRuns() {
        Set<String> flags = NativeBuild.parseFlags(AVX512_CPU);
        assertTrue(flags.contains("avx512bw") && flags.contains("fpu"), flags::toString);
        assertEquals(NativeBuild.ONEDNN_AVX512, NativeBuild.choose(flags, SHIPPED::contains, null));
        assertEquals(NativeBuild.ONEDNN_AVX2, NativeBuild.choose(AVX2_CPU, SHIPPED::contains, ""));
        assertEquals(NativeBuild.GENERIC, NativeBuild.choose(OLD_CPU, SHIPPED::contains, null));
        // AVX-512F alone (Knights Landing has no BW/VL) is not enough for the avx512 builds
        assertEquals(NativeBuild.ONEDNN_AVX2, NativeBuild.choose(Set.of("avx2", "fma", "avx512f"), SHIPPED::contains,
                null));
    }

    @Test
    void fallsBackToWhatIsShipped() {
        Set<String> flags = NativeBuild.parseFlags(AVX512_CPU);
        assertEquals(NativeBuild.AVX2, NativeBuild.choose(flags, EnumSet.of(NativeBuild.AVX2, NativeBuild.GENERIC)::contains,
                null));
        assertEquals(NativeBuild.GENERIC, NativeBuild.choose(flags, b -> false, null));
    }

    @Test
    void overrideWinsWhenItCanRun() {
        Set<String> flags = NativeBuild.parseFlags(AVX512_CPU);
        assertEquals(NativeBuild.GENERIC, NativeBuild.choose(flags, SHIPPED::contains, "generic"));
        assertEquals(NativeBuild.ONEDNN_AVX2, NativeBuild.choose(flags, SHIPPED::contains, "ONEDNN-AVX2"));
        IllegalArgumentException cpu = assertThrows(IllegalArgumentException.class,
                () -> NativeBuild.choose(AVX2_CPU, SHIPPED::contains, "onednn-avx512"));
        assertTrue(cpu.getMessage().startsWith("PLSC4J_ND4J_BUILD : onednn-avx512 (this CPU lacks [avx512bw"),
                cpu.getMessage());
        IllegalArgumentException jar = assertThrows(IllegalArgumentException.class,
                () -> NativeBuild.choose(flags, SHIPPED::contains, "avx512"));
        assertTrue(jar.getMessage().contains("linux-x86_64-avx512 is not on the class path; expected one of"
                + " [onednn-avx512, onednn-avx2, generic]"), jar.getMessage());
        IllegalArgumentException name = assertThrows(IllegalArgumentException.class,
                () -> NativeBuild.choose(flags, SHIPPED::contains, "fast"));
        assertEquals("PLSC4J_ND4J_BUILD : fast (expected one of [onednn-avx512, avx512, onednn-avx2, avx2, onednn,"
                + " generic])", name.getMessage());
    }

    @Test
    void namesMatchMavenClassifiers() {
        assertEquals("linux-x86_64-onednn-avx2", NativeBuild.ONEDNN_AVX2.classifier());
        assertEquals("linux-x86_64", NativeBuild.GENERIC.classifier());
        assertEquals("", NativeBuild.GENERIC.extension());
        assertTrue(NativeBuild.parseFlags("no flags here").isEmpty());
    }
}
