package org.plsc4j.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The shared bench helpers: {@link Spread}, {@link LoadAverage}, {@link Alternation}. */
class BenchDisciplineTest {

    @Test
    void spreadOfOddAndEvenCounts() {
        Spread odd = Spread.of(new double[] {5, 1, 4, 2, 3});
        assertEquals(new Spread(3, 1, 5, 2, 4, 5), odd);
        assertEquals(2.0, odd.iqr(), 1e-12);
        assertEquals(4.0 / 3.0, odd.relative(), 1e-12);
        Spread even = Spread.of(new double[] {8, 2, 6, 4});
        assertEquals(new Spread(5, 2, 8, 3.5, 6.5, 4), even);
        assertEquals(new Spread(7, 7, 7, 7, 7, 1), Spread.of(new double[] {7}));
        assertThrows(IllegalArgumentException.class, () -> Spread.of(new double[0]));
    }

    @Test
    void loadAverageReadsTheFirstField(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("loadavg");
        Files.writeString(f, "1.25 0.80 0.50 3/99 1234\n");
        assertEquals(1.25, LoadAverage.parse(f));
        Files.writeString(f, "garbage\n");
        assertNull(LoadAverage.parse(f));
        assertNull(LoadAverage.parse(dir.resolve("missing")));
        if (Files.isReadable(Path.of("/proc/loadavg"))) {
            assertTrue(LoadAverage.oneMinute() >= 0);
        }
    }

    @Test
    void alternationRotatesAndGivesEverySideTheSameCounts() throws Exception {
        assertArrayEquals(new int[] {0, 1, 2}, Alternation.order(3, 0));
        assertArrayEquals(new int[] {1, 2, 0}, Alternation.order(3, 1));
        assertArrayEquals(new int[] {2, 0, 1}, Alternation.order(3, 5));
        List<String> log = new ArrayList<>();
        List<Alternation.Side> sides = new ArrayList<>();
        for (String name : List.of("a", "b")) {
            sides.add(new Alternation.Side() {
                @Override
                public String name() {
                    return name;
                }

                @Override
                public double iteration(int index) {
                    log.add(name + index);
                    return name.equals("a") ? index : 10 * index;
                }
            });
        }
        Alternation.Timings t = Alternation.run(sides, 1, 3, null);
        assertEquals(List.of("a0", "b0", "b1", "a1", "a2", "b2", "b3", "a3"), log);
        assertArrayEquals(new double[] {1, 2, 3}, t.timed(0));
        assertArrayEquals(new double[] {10, 20, 30}, t.timed(1));
        assertEquals(List.of("a", "b"), t.names());
    }

    @Test
    void alternationNamesTheFailingSide() {
        Alternation.Side bad = new Alternation.Side() {
            @Override
            public String name() {
                return "torch";
            }

            @Override
            public double iteration(int index) {
                throw new IllegalArgumentException("boom");
            }
        };
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> Alternation.run(List.of(bad), 0, 1, null));
        assertEquals("torch failed at iteration 0: IllegalArgumentException: boom", e.getMessage());
    }
}
