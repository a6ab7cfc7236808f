package org.plsc4j.serving.internal;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The bearer check: only the exact token passes, the scheme is case-insensitive. */
class TokenCheckTest {

    @Test
    void onlyTheExactTokenPasses() {
        TokenCheck t = new TokenCheck("abc123");
        assertTrue(t.accepts("Bearer abc123"));
        assertTrue(t.accepts("bearer abc123"));
        for (String bad : new String[] {null, "", "Bearer", "Bearer ", "Bearer abc12", "Bearer abc1234",
            "Basic abc123", "abc123", "Bearer ABC123"}) {
            assertFalse(t.accepts(bad), bad);
        }
        assertThrows(IllegalArgumentException.class, () -> new TokenCheck(""));
    }
}
