package org.plsc4j.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(TestSeed.class)
class ClassCenterSamplerTest {

    @Test
    void keepsEveryPositiveSamplesTheRequestedCountAndRemapsConsistently() {
        SplittableRandom rng = new SplittableRandom(TestSeed.of("ccs"));
        for (ClassLayout.Kind kind : ClassLayout.Kind.values()) {
            for (int n = 1; n <= 4; n++) {
                ClassLayout layout = ClassLayout.of(kind, 1001, n);
                int[] labels = rng.ints(64, 0, 1001).toArray();
                int[][] sampledGlobal = new int[n][];
                int[] perRank = null;
                int[] remapped = null;
                for (int r = 0; r < n; r++) {
                    ClassCenterSampler.Sample s = ClassCenterSampler.sample(labels, layout, r, 0.1, 42, 7);
                    int want = Math.max(1, (int) Math.floor(0.1 * layout.size(r)));
                    Set<Integer> positives = new HashSet<>();
                    for (int y : labels) {
                        if (layout.ownerOf(y) == r) {
                            positives.add(y - layout.start(r));
                        }
                    }
                    assertEquals(Math.max(want, positives.size()), s.size(), "rank " + r);
                    assertEquals(positives.size(), s.numPositives());
                    Set<Integer> seen = new HashSet<>();
                    for (int j = 0; j < s.size(); j++) {
                        int local = s.localIndices()[j];
                        assertTrue(local >= 0 && local < layout.size(r));
                        assertTrue(seen.add(local), "duplicate center " + local);
                        assertEquals(j < s.numPositives(), positives.contains(local), "positives first");
                    }
                    for (int j = 1; j < s.numPositives(); j++) {
                        assertTrue(s.localIndices()[j - 1] < s.localIndices()[j], "positives ascending");
                    }
                    int start = layout.start(r);
                    sampledGlobal[r] = java.util.Arrays.stream(s.localIndices()).map(l -> l + start).toArray();
                    if (perRank == null) {
                        perRank = s.sampledPerRank();
                        remapped = s.remappedLabels();
                    } else {
                        assertArrayEquals(perRank, s.sampledPerRank(), "every rank agrees on the counts");
                        assertArrayEquals(remapped, s.remappedLabels(), "every rank agrees on the remapping");
                    }
                    assertEquals(s.size(), perRank[r]);
                    for (int i = 0; i < labels.length; i++) {
                        int col = s.targetColumns()[i];
                        if (layout.ownerOf(labels[i]) == r) {
                            assertEquals(labels[i] - layout.start(r), s.localIndices()[col]);
                        } else {
                            assertEquals(-1, col);
                        }
                    }
                }
                int[] concat = java.util.Arrays.stream(sampledGlobal).flatMapToInt(java.util.Arrays::stream).toArray();
                for (int i = 0; i < labels.length; i++) {
                    assertEquals(labels[i], concat[remapped[i]], "remapped label of row " + i);
                }
            }
        }
    }

    @Test
    void keepsAllPositivesWhenTheyExceedTheSampleSize() {
        ClassLayout layout = ClassLayout.balanced(100, 2);
        int[] labels = java.util.stream.IntStream.range(0, 40).toArray(); // 40 positives on rank 0, sample size 5
        ClassCenterSampler.Sample s = ClassCenterSampler.sample(labels, layout, 0, 0.1, 1, 1);
        assertEquals(40, s.size());
        assertEquals(40, s.numPositives());
        ClassCenterSampler.Sample s1 = ClassCenterSampler.sample(labels, layout, 1, 0.1, 1, 1);
        assertEquals(5, s1.size());
        assertEquals(0, s1.numPositives());
    }

    @Test
    void isReproducibleAndDependsOnSeedAndStep() {
        ClassLayout layout = ClassLayout.balanced(10_000, 3);
        int[] labels = new SplittableRandom(3).ints(32, 0, 10_000).toArray();
        ClassCenterSampler.Sample a = ClassCenterSampler.sample(labels, layout, 1, 0.05, 9, 100);
        ClassCenterSampler.Sample b = ClassCenterSampler.sample(labels, layout, 1, 0.05, 9, 100);
        assertArrayEquals(a.localIndices(), b.localIndices());
        assertFalse(java.util.Arrays.equals(a.localIndices(),
                ClassCenterSampler.sample(labels, layout, 1, 0.05, 9, 101).localIndices()));
        assertFalse(java.util.Arrays.equals(a.localIndices(),
                ClassCenterSampler.sample(labels, layout, 1, 0.05, 10, 100).localIndices()));
    }

    @Test
    void negativesAreUniform() {
        // 50 classes, no positives on rank 0, 10 drawn per step: each class drawn with p = 0.2
        ClassLayout layout = ClassLayout.balanced(100, 2);
        int[] labels = {60, 70, 80};
        int[] counts = new int[50];
        int trials = 4000;
        for (int t = 0; t < trials; t++) {
            for (int local : ClassCenterSampler.sample(labels, layout, 0, 0.2, 5, t).localIndices()) {
                counts[local]++;
            }
        }
        for (int j = 0; j < 50; j++) {
            double p = counts[j] / (double) trials;
            // binomial sd = sqrt(0.2*0.8/4000) = 0.0063; 5 sd
            assertEquals(0.2, p, 0.032, "class " + j);
        }
    }

    @Test
    void ratioOneIsTheWholeShardAndKeepsLabels() {
        ClassLayout layout = ClassLayout.ceil(1001, 3);
        int[] labels = {0, 1000, 500};
        ClassCenterSampler.Sample s = ClassCenterSampler.sample(labels, layout, 2, 1.0, 1, 1);
        assertEquals(layout.size(2), s.size());
        assertArrayEquals(labels, s.remappedLabels());
        assertArrayEquals(new int[] {-1, 1000 - layout.start(2), -1}, s.targetColumns());
    }

    @Test
    void badInputsAreRejectedNamingTheValue() {
        ClassLayout layout = ClassLayout.balanced(10, 2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ClassCenterSampler.sample(new int[] {1}, layout, 0, 1.5, 1, 1));
        assertEquals("sample_ratio : 1.5 (expected: 0 < x <= 1)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> ClassCenterSampler.sample(new int[] {1, 10}, layout, 0, 0.5, 1, 1));
        assertEquals("label : 10 at batch row 1 (expected: 0 <= label < num_classes = 10)", e.getMessage());
    }
}
