package org.medsearch.server;

import io.javalin.http.Context;
import io.javalin.http.HandlerType;
import java.net.URI;
import java.util.Locale;

/**
 * Which browser origins may call the server, decided before any route runs.
 *
 * <p>Contract, for every request that carries an {@code Origin} header (browsers send one on
 * cross-origin requests and on same-origin POSTs):
 * <ul>
 *   <li>the server's own origin (the origin's host and port equal the request's {@code Host}) is
 *       always allowed, and gets no CORS headers: the page's own searches work with or without
 *       {@code --cors};</li>
 *   <li>the configured origin gets {@code Access-Control-Allow-Origin}; its preflight
 *       ({@code OPTIONS} with {@code Access-Control-Request-Method}) is answered 204 here;</li>
 *   <li>any other origin, {@code null} included, gets 403 before the route's handler, so a write
 *       from a foreign page never takes effect.</li>
 * </ul>
 * Requests without {@code Origin} (curl, scripts, same-origin GETs) are not affected.
 *
 * <pre>{@code
 * cfg.routes.before(new Origins("https://viewer.example.org")::check);
 * }</pre>
 */
final class Origins {

    private final String allowed;

    /** @param allowed the one origin allowed cross-origin calls, e.g. {@code https://viewer.example.org}, or null */
    Origins(String allowed) {
        this.allowed = allowed == null ? null : normalise(allowed);
    }

    void check(Context ctx) {
        String origin = ctx.header("Origin");
        if (origin == null) {
            return;
        }
        String o = normalise(origin);
        if (o != null && sameHost(o, ctx.header("Host"))) {
            return;
        }
        if (o == null || !o.equals(allowed)) {
            throw new ApiException(
                    403,
                    "forbidden",
                    "requests from the web origin " + describe(origin) + " are not allowed"
                            + (allowed == null ? "" : "; only from " + allowed));
        }
        ctx.header("Access-Control-Allow-Origin", origin);
        ctx.header("Vary", "Origin");
        if (ctx.method() == HandlerType.OPTIONS && ctx.header("Access-Control-Request-Method") != null) {
            ctx.header("Access-Control-Allow-Methods", "GET, POST, DELETE");
            ctx.header("Access-Control-Allow-Headers", "Authorization, Content-Type");
            ctx.header("Access-Control-Max-Age", "600");
            ctx.status(204);
            ctx.skipRemainingHandlers();
        }
    }

    /** {@code scheme://host[:port]} in lower case with the scheme's default port dropped, or null if it is not one. */
    static String normalise(String origin) {
        try {
            URI u = new URI(origin.strip());
            String scheme = u.getScheme();
            String host = u.getHost();
            if (scheme == null
                    || host == null
                    || (u.getPath() != null && !u.getPath().isEmpty())) {
                return null;
            }
            scheme = scheme.toLowerCase(Locale.ROOT);
            int port = u.getPort();
            boolean dflt =
                    port == -1 || (scheme.equals("http") && port == 80) || (scheme.equals("https") && port == 443);
            return scheme + "://" + host.toLowerCase(Locale.ROOT) + (dflt ? "" : ":" + port);
        } catch (java.net.URISyntaxException e) {
            return null;
        }
    }

    /** Whether the origin names the host (and port) the request was sent to. */
    private static boolean sameHost(String origin, String hostHeader) {
        if (hostHeader == null || hostHeader.isBlank()) {
            return false;
        }
        String scheme = origin.substring(0, origin.indexOf(':'));
        String self = normalise(scheme + "://" + hostHeader.strip());
        return origin.equals(self);
    }

    private static String describe(String origin) {
        String t = origin.replaceAll("[^\\x20-\\x7e]", "?");
        return "'" + (t.length() > 100 ? t.substring(0, 100) + "..." : t) + "'";
    }
}
