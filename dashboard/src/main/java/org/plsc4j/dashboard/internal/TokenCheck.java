package org.plsc4j.dashboard.internal;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * Checks {@code Authorization: Bearer <token>} in constant time (both sides hashed with SHA-256 and
 * compared with {@link MessageDigest#isEqual}), as the embedding server does.
 */
public final class TokenCheck {

    private static final String BEARER = "Bearer ";
    private final byte[] expected;

    /** A check against {@code token} (non-empty). */
    public TokenCheck(String token) {
        if (token == null || token.isEmpty()) {
            throw new IllegalArgumentException("token : empty (expected: a non-empty token)");
        }
        this.expected = sha256(token);
    }

    /** Whether the header value (null when absent) carries the token. */
    public boolean accepts(String authorization) {
        String given = authorization != null && authorization.regionMatches(true, 0, BEARER, 0, BEARER.length())
                ? authorization.substring(BEARER.length()).strip() : "";
        return MessageDigest.isEqual(expected, sha256(given)) && !given.isEmpty();
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
