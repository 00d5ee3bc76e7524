package org.medsearch.server;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.medsearch.util.Hashing;
import org.medsearch.util.MedsearchException;

/**
 * The server's bearer tokens, each with a name and a role. The name is what the audit trail and
 * the logs show; the token itself is never shown, and the server keeps only its SHA-256.
 *
 * <p>Roles are ordered: {@link Role#SEARCH} may search and view, {@link Role#WRITER} may also add
 * and delete, {@link Role#ADMIN} may do everything, {@code /metrics} and {@code /api/stats} included
 * when those are restricted. A request without a token is anonymous: it may search and view (the
 * audit trail records its address); every write needs a writer's token.
 *
 * <p>Contract of {@link #authenticate}: a missing header is anonymous (so is every request to a
 * server without tokens); a malformed header or a
 * token that is not in the file is 401 with a {@code WWW-Authenticate} challenge. The comparison
 * takes the same time whatever the guess: the given token is hashed and compared with every
 * entry by {@link MessageDigest#isEqual}, without stopping at a match.
 *
 * <p>The tokens file has one token per line, {@code NAME ROLE TOKEN}, where TOKEN is either
 * {@code sha256:HEX} (the hash of the token, so the file is no secret; {@code medsearch token new}
 * writes such lines) or the token itself; {@code #} starts a comment.
 *
 * <pre>{@code
 * Tokens tokens = Tokens.read(Path.of("/etc/medsearch/tokens"));
 * Tokens.Principal who = tokens.authenticate(request.getHeader("Authorization"));
 * tokens.require(who, Tokens.Role.WRITER); // 401 or 403 unless who may write
 * }</pre>
 */
public final class Tokens {

    /** What a token may do; each role may do what the ones before it may. */
    public enum Role {
        SEARCH,
        WRITER,
        ADMIN;

        public String key() {
            return name().toLowerCase(Locale.ROOT);
        }

        static Role parse(String s) {
            for (Role r : values()) {
                if (r.key().equals(s.toLowerCase(Locale.ROOT))) {
                    return r;
                }
            }
            throw new IllegalArgumentException("a role is search, writer or admin, got '" + s + "'");
        }
    }

    /** Who made a request: a token's name and role, or {@link #ANONYMOUS}. */
    public record Principal(String name, Role role) {
        /** A request without a token. */
        public static final Principal ANONYMOUS = new Principal("anonymous", null);

        boolean may(Role needed) {
            return role != null && role.compareTo(needed) >= 0;
        }
    }

    private record Entry(String name, Role role, byte[] sha256) {}

    /** Tokens shorter than this are guessable; {@code openssl rand -hex 32} gives 64 characters. */
    public static final int MIN_TOKEN_LENGTH = 16;

    private static final String PREFIX = "Bearer ";
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._@-]{0,63}");
    private static final Pattern HASH = Pattern.compile("sha256:[0-9a-fA-F]{64}");

    /** No tokens: every write is refused (403), reads are anonymous. */
    public static final Tokens NONE = new Tokens(List.of());

    private final List<Entry> entries;

    private Tokens(List<Entry> entries) {
        this.entries = List.copyOf(entries);
    }

    /** One token, named {@code token}, with every right: the single-token set-up ({@code --token-file}, {@code $MEDSEARCH_TOKEN}). */
    public static Tokens single(String token) {
        if (token == null) {
            return NONE;
        }
        if (token.strip().length() < MIN_TOKEN_LENGTH) {
            throw new IllegalArgumentException("the write token must have at least " + MIN_TOKEN_LENGTH
                    + " characters (try: openssl rand -hex 32)");
        }
        return new Tokens(List.of(new Entry("token", Role.ADMIN, digest(token.strip()))));
    }

    /**
     * Reads a tokens file.
     *
     * @throws MedsearchException naming the file and line of anything wrong: a missing file, a bad
     *     line, an unknown role, a short token, a name or a token given twice
     */
    public static Tokens read(Path file) throws IOException {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new MedsearchException("tokens file " + file + " does not exist");
        }
        List<Entry> entries = new ArrayList<>();
        Set<String> names = new HashSet<>();
        Set<String> hashes = new HashSet<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String where = file + " line " + (i + 1);
            String[] f = line.split("\\s+");
            if (f.length != 3) {
                throw new MedsearchException(
                        where + ": expected 'NAME ROLE TOKEN' (the token itself is not shown here)");
            }
            if (!NAME.matcher(f[0]).matches()) {
                throw new MedsearchException(
                        where + ": a name is letters, digits and ._@- (at most 64), got '" + f[0] + "'");
            }
            Role role;
            try {
                role = Role.parse(f[1]);
            } catch (IllegalArgumentException e) {
                throw new MedsearchException(where + ": " + e.getMessage());
            }
            byte[] sha;
            if (f[2].startsWith("sha256:")) {
                if (!HASH.matcher(f[2]).matches()) {
                    throw new MedsearchException(where + ": sha256: must be followed by 64 hexadecimal digits");
                }
                sha = HexFormat.of().parseHex(f[2].substring(7));
            } else {
                checkLength(f[2], where + ": the token");
                sha = digest(f[2]);
            }
            if (!names.add(f[0])) {
                throw new MedsearchException(where + ": the name '" + f[0] + "' is given twice");
            }
            if (!hashes.add(HexFormat.of().formatHex(sha))) {
                throw new MedsearchException(where + ": this token is also given to another name");
            }
            entries.add(new Entry(f[0], role, sha));
        }
        return new Tokens(entries);
    }

    /** The line a tokens file holds for {@code token}: {@code NAME ROLE sha256:HEX}. */
    public static String line(String name, Role role, String token) throws MedsearchException {
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("a name is letters, digits and ._@- (at most 64), got '" + name + "'");
        }
        checkLength(token, "the token");
        return name + " " + role.key() + " sha256:" + Hashing.sha256Hex(token);
    }

    private static void checkLength(String token, String what) throws MedsearchException {
        if (token.length() < MIN_TOKEN_LENGTH) {
            throw new MedsearchException(
                    what + " must have at least " + MIN_TOKEN_LENGTH + " characters (try: openssl rand -hex 32)");
        }
    }

    /** Whether any token may write. */
    public boolean writesEnabled() {
        return entries.stream().anyMatch(e -> e.role().compareTo(Role.WRITER) >= 0);
    }

    /** Whether a token has this name. */
    public boolean has(String name) {
        return entries.stream().anyMatch(e -> e.name().equals(name));
    }

    /** How many tokens of each role (for the start-up line; never names or tokens). */
    public Map<Role, Long> counts() {
        Map<Role, Long> m = new java.util.EnumMap<>(Role.class);
        for (Entry e : entries) {
            m.merge(e.role(), 1L, Long::sum);
        }
        return m;
    }

    /**
     * Who sent a request with this {@code Authorization} header.
     *
     * @param authorization the header, or null
     * @throws ApiException 401 for a malformed header or an unknown token
     */
    public Principal authenticate(String authorization) {
        if (authorization == null || entries.isEmpty()) {
            // a server without tokens reads no header: every request is anonymous, every write refused (403)
            return Principal.ANONYMOUS;
        }
        if (!authorization.regionMatches(true, 0, PREFIX, 0, PREFIX.length())) {
            throw new ApiException(
                    401,
                    "unauthorized",
                    "this needs 'Authorization: Bearer <token>'",
                    Map.of("WWW-Authenticate", "Bearer realm=\"medsearch\""));
        }
        byte[] given = digest(authorization.substring(PREFIX.length()).strip());
        Entry found = null;
        for (Entry e : entries) {
            // no early exit: the time does not say which entry, if any, matched
            boolean match = MessageDigest.isEqual(e.sha256(), given);
            if (match && found == null) {
                found = e;
            }
        }
        if (found == null) {
            throw new ApiException(
                    401,
                    "unauthorized",
                    "the bearer token is not valid",
                    Map.of("WWW-Authenticate", "Bearer realm=\"medsearch\", error=\"invalid_token\""));
        }
        return new Principal(found.name(), found.role());
    }

    /**
     * Lets a principal through or throws: 403 when no token may do this at all (writes are off),
     * 401 for an anonymous request, 403 for a token whose role is too low.
     */
    public void require(Principal who, Role needed) {
        if (who.may(needed)) {
            return;
        }
        if (needed == Role.WRITER && !writesEnabled()) {
            throw new ApiException(
                    403, "writes_disabled", "writes are turned off on this server (the operator has set no token)");
        }
        if (who.role() == null) {
            throw new ApiException(
                    401,
                    "unauthorized",
                    "this needs 'Authorization: Bearer <token>' of a " + needed.key() + " token",
                    Map.of("WWW-Authenticate", "Bearer realm=\"medsearch\""));
        }
        throw new ApiException(
                403,
                "forbidden",
                "the token '" + who.name() + "' has the role " + who.role().key() + "; this needs " + needed.key());
    }

    private static byte[] digest(String token) {
        return Hashing.sha256().digest(token.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public String toString() {
        return "Tokens" + counts();
    }
}
