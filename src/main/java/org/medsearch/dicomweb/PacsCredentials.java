package org.medsearch.dicomweb;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Locale;
import java.util.Map;
import org.medsearch.util.MedsearchException;

/**
 * How medsearch authenticates to a PACS: HTTP basic or a bearer token, read from a file or from the
 * environment variable {@value #ENV}, never from a command-line value (which {@code ps} shows to
 * every user of the machine).
 *
 * <p>The text is one line: {@code basic USER:PASSWORD} or {@code bearer TOKEN}. Surrounding
 * white space and a trailing newline are ignored. {@link #toString()} never shows the secret.
 *
 * <pre>{@code
 * // echo "basic radiology:s3cret" > ~/.medsearch/pacs-auth; chmod 600 ~/.medsearch/pacs-auth
 * PacsCredentials c = PacsCredentials.resolve(Path.of(home, ".medsearch/pacs-auth"), System.getenv());
 * }</pre>
 */
public final class PacsCredentials {

    /** The environment variable read when no file is given. */
    public static final String ENV = "MEDSEARCH_PACS_AUTH";

    private static final String FORM = "'basic USER:PASSWORD' or 'bearer TOKEN'";

    private final String scheme;
    private final String header;

    private PacsCredentials(String scheme, String header) {
        this.scheme = scheme;
        this.header = header;
    }

    /** HTTP basic authentication. */
    public static PacsCredentials basic(String user, String password) {
        String pair = user + ":" + password;
        return new PacsCredentials(
                "basic", "Basic " + Base64.getEncoder().encodeToString(pair.getBytes(StandardCharsets.UTF_8)));
    }

    /** A bearer token (OAuth 2 access token, as cloud archives expect). */
    public static PacsCredentials bearer(String token) {
        return new PacsCredentials("bearer", "Bearer " + token);
    }

    /**
     * The credentials from {@code file} when given, else from {@value #ENV} in {@code env}; null when
     * neither is set (an unauthenticated PACS).
     */
    public static PacsCredentials resolve(Path file, Map<String, String> env) throws MedsearchException {
        if (file != null) {
            String text;
            try {
                text = Files.readString(file, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new MedsearchException("cannot read the PACS credentials file " + file + ": " + e.getMessage());
            }
            return parse(text, "the PACS credentials file " + file);
        }
        String v = env.get(ENV);
        return v == null || v.isBlank() ? null : parse(v, ENV);
    }

    /** Parses {@code basic USER:PASSWORD} or {@code bearer TOKEN}; {@code where} names the source in errors. */
    public static PacsCredentials parse(String text, String where) throws MedsearchException {
        String t = text.strip();
        int sp = t.indexOf(' ');
        String kind = sp < 0 ? t : t.substring(0, sp);
        String value = sp < 0 ? "" : t.substring(sp + 1).strip();
        if (value.isEmpty() || value.contains("\n") || value.contains("\r")) {
            throw new MedsearchException(where + " must hold one line: " + FORM);
        }
        switch (kind.toLowerCase(Locale.ROOT)) {
            case "basic" -> {
                int colon = value.indexOf(':');
                if (colon <= 0) {
                    throw new MedsearchException(where + " must hold one line: " + FORM + " (no user:password)");
                }
                return basic(value.substring(0, colon), value.substring(colon + 1));
            }
            case "bearer" -> {
                if (value.contains(" ")) {
                    throw new MedsearchException(where + ": a bearer token has no spaces");
                }
                return bearer(value);
            }
            default -> throw new MedsearchException(where + " must hold one line: " + FORM);
        }
    }

    /** The value of the {@code Authorization} header. */
    public String header() {
        return header;
    }

    @Override
    public String toString() {
        return scheme + " credentials";
    }
}
