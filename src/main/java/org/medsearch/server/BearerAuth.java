package org.medsearch.server;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Map;
import org.medsearch.util.Hashing;

/**
 * Guards the write endpoints with one operator-set bearer token ({@code Authorization: Bearer <token>}).
 *
 * <p>Contract: with no token configured every write is refused with 403 (writes are off, and no
 * token can turn them on); with one, a missing or malformed header and a wrong token are refused
 * with 401 and a {@code WWW-Authenticate} challenge. The comparison takes the same time whatever
 * the guess: both sides are hashed to SHA-256 and compared with {@link MessageDigest#isEqual}, so
 * neither the content nor the length of the token leaks through timing.
 *
 * <pre>{@code
 * BearerAuth auth = new BearerAuth(System.getenv("MEDSEARCH_TOKEN"));
 * auth.check(request.getHeader("Authorization")); // throws ApiException 401/403
 * }</pre>
 */
public final class BearerAuth {

    private static final String PREFIX = "Bearer ";
    private final byte[] expected;

    /** @param token the token, or null to turn writes off */
    public BearerAuth(String token) {
        this.expected = token == null ? null : digest(token);
    }

    public boolean enabled() {
        return expected != null;
    }

    /**
     * Lets the request through or throws.
     *
     * @param authorization the {@code Authorization} header, or null
     */
    public void check(String authorization) {
        if (expected == null) {
            throw new ApiException(
                    403, "writes_disabled", "writes are turned off on this server (the operator has set no token)");
        }
        if (authorization == null || !authorization.regionMatches(true, 0, PREFIX, 0, PREFIX.length())) {
            throw new ApiException(
                    401,
                    "unauthorized",
                    "this needs 'Authorization: Bearer <token>'",
                    Map.of("WWW-Authenticate", "Bearer realm=\"medsearch\""));
        }
        byte[] given = digest(authorization.substring(PREFIX.length()).strip());
        if (!MessageDigest.isEqual(expected, given)) {
            throw new ApiException(
                    401,
                    "unauthorized",
                    "the bearer token is not valid",
                    Map.of("WWW-Authenticate", "Bearer realm=\"medsearch\", error=\"invalid_token\""));
        }
    }

    private static byte[] digest(String token) {
        return Hashing.sha256().digest(token.getBytes(StandardCharsets.UTF_8));
    }
}
