package org.plsc4j.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ClassLayoutTest {

    @Test
    void balancedGivesTheFirstRanksOneMore() {
        ClassLayout l = ClassLayout.balanced(1001, 3);
        assertEquals(334, l.size(0));
        assertEquals(334, l.size(1));
        assertEquals(333, l.size(2));
        assertEquals(0, l.start(0));
        assertEquals(334, l.start(1));
        assertEquals(668, l.start(2));
        assertEquals(1001, l.end(2));
    }

    @Test
    void ceilGivesTheLastRankTheRemainder() {
        ClassLayout l = ClassLayout.ceil(1001, 3);
        assertEquals(334, l.size(0));
        assertEquals(334, l.size(1));
        assertEquals(333, l.size(2));
        ClassLayout l2 = ClassLayout.ceil(10, 4);
        assertEquals(3, l2.size(0));
        assertEquals(1, l2.size(3));
        ClassLayout b2 = ClassLayout.balanced(10, 4);
        assertEquals(3, b2.size(0));
        assertEquals(3, b2.size(1));
        assertEquals(2, b2.size(2));
        assertEquals(2, b2.size(3));
    }

    @Test
    void everyClassHasExactlyOneOwnerInBothLayouts() {
        for (ClassLayout.Kind kind : ClassLayout.Kind.values()) {
            for (int n = 1; n <= 7; n++) {
                for (int c = n; c <= 60; c++) {
                    ClassLayout l;
                    try {
                        l = ClassLayout.of(kind, c, n);
                    } catch (IllegalArgumentException e) {
                        assertEquals(ClassLayout.Kind.CEIL, kind, e.getMessage());
                        continue;
                    }
                    int covered = 0;
                    for (int r = 0; r < n; r++) {
                        assertTrue(l.size(r) > 0, l + " rank " + r);
                        assertEquals(covered, l.start(r));
                        for (int id = l.start(r); id < l.end(r); id++) {
                            assertEquals(r, l.ownerOf(id));
                        }
                        covered = l.end(r);
                    }
                    assertEquals(c, covered);
                }
            }
        }
    }

    @Test
    void ceilRejectsALayoutWithAnEmptyRank() {
        // ceil(9/4) = 3 per rank: ranks get 3, 3, 3, 0
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ClassLayout.ceil(9, 4));
        assertTrue(e.getMessage().contains("rank 3 empty"), e.getMessage());
        assertEquals(3, ClassLayout.balanced(9, 4).size(0));
    }

    @Test
    void fewerClassesThanRanksIsRejectedNamingTheValue() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ClassLayout.balanced(3, 4));
        assertTrue(e.getMessage().startsWith("num_classes : 3 (expected: >= world_size = 4"), e.getMessage());
    }

    @Test
    void ownerOfRejectsLabelsOutOfRange() {
        ClassLayout l = ClassLayout.balanced(100, 2);
        assertThrows(IllegalArgumentException.class, () -> l.ownerOf(-1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> l.ownerOf(100));
        assertTrue(e.getMessage().startsWith("label : 100"), e.getMessage());
    }

    @Test
    void parsesKindsAndNamesBadOnes() {
        assertEquals(ClassLayout.Kind.CEIL, ClassLayout.Kind.parse("ceil"));
        assertEquals(ClassLayout.Kind.BALANCED, ClassLayout.Kind.parse("Balanced"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ClassLayout.Kind.parse("x"));
        assertEquals("layout : x (expected: ceil or balanced)", e.getMessage());
    }
}
