package org.medsearch.server;

import io.javalin.http.Context;
import java.time.Instant;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Who asked, and the audit record of what they got: Javalin hooks around the API.
 *
 * <p>Before a request to {@code /api/} or {@code /metrics}: its bearer token, if any, is
 * authenticated ({@link Tokens#authenticate}; an unknown token is 401 whatever the route), and the
 * principal is kept on the request. Before an audited request (search, view, thumbnail, explain,
 * add, delete): a trail that cannot be written refuses it with 503, so a write never acts
 * unrecorded. After it: one {@link AuditLog.Record} with the ids the handler returned or touched
 * ({@link #ids}), or the path's id; if that record cannot be written the answer is replaced by a
 * 503 (fail closed), and the record goes to the server's log instead.
 *
 * <pre>{@code
 * RequestAudit audit = new RequestAudit(tokens, AuditLog.open(file, 100 << 20, 10), metrics);
 * routes.before(audit::before);
 * routes.after(audit::after);
 * }</pre>
 */
final class RequestAudit {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(RequestAudit.class);
    private static final String PRINCIPAL = "medsearch.principal";
    private static final String CHECKED = "medsearch.checked";
    private static final String IDS = "medsearch.audit.ids";
    private static final Pattern IMAGE = Pattern.compile("/api/images/([^/]+)(/thumbnail)?");

    private final Tokens tokens;
    private final AuditLog log;
    private final ServerMetrics metrics;

    /** @param log the trail, or null for none (the operator's explicit choice) */
    RequestAudit(Tokens tokens, AuditLog log, ServerMetrics metrics) {
        this.tokens = tokens;
        this.log = log;
        this.metrics = metrics;
    }

    /** The principal of a request that passed {@link #before} ({@link Tokens.Principal#ANONYMOUS} else). */
    static Tokens.Principal principal(Context ctx) {
        Tokens.Principal p = ctx.attribute(PRINCIPAL);
        return p == null ? Tokens.Principal.ANONYMOUS : p;
    }

    /** The image ids a handler returned or touched, for the record. */
    static void ids(Context ctx, List<Long> ids) {
        ctx.attribute(IDS, List.copyOf(ids));
    }

    void before(Context ctx) {
        String path = ctx.path();
        if (!path.startsWith("/api/") && !path.equals("/metrics")) {
            return;
        }
        ctx.attribute(CHECKED, Boolean.TRUE);
        ctx.attribute(PRINCIPAL, tokens.authenticate(ctx.header("Authorization")));
        if (log != null && action(ctx) != null && !log.writable()) {
            metrics.auditFailure();
            throw unwritable();
        }
    }

    void after(Context ctx) {
        String action = action(ctx);
        if (log == null || action == null) {
            return;
        }
        // a principal; else a token that was refused; else a request refused before its token was read
        String token = ctx.attribute(PRINCIPAL) instanceof Tokens.Principal p
                ? p.name()
                : ctx.attribute(CHECKED) == null
                        ? "unchecked"
                        : ctx.header("Authorization") == null ? Tokens.Principal.ANONYMOUS.name() : "invalid";
        List<Long> ids = ctx.attribute(IDS);
        if (ids == null) {
            ids = pathId(ctx);
        }
        int status = ctx.statusCode();
        String code = ctx.attribute(ErrorMapper.ERROR_CODE);
        String error = status < 400 ? null : code != null ? code : ErrorMapper.code(status);
        AuditLog.Record r = new AuditLog.Record(Instant.now(), ctx.ip(), token, action, ids, status, error);
        try {
            log.append(r);
        } catch (AuditLog.AuditException e) {
            metrics.auditFailure();
            // the record is not lost: the server's log (the service's journal) has it
            LOG.error("audit record not written ({}): {}", e.getMessage(), r);
            ctx.res().setHeader("Location", null);
            ctx.res().setHeader("Cache-Control", "no-store");
            ErrorMapper.refuse(ctx, unwritable());
        }
    }

    private static ApiException unwritable() {
        return new ApiException(
                503,
                "audit_unavailable",
                "the audit trail cannot be written, so the server refuses requests; the operator must fix it");
    }

    /** The audited routes (method and template, as {@link SearchServer#template} names them) and their actions. */
    private static final java.util.Map<String, String> ACTIONS = java.util.Map.of(
            "POST /api/search", "search",
            "POST /api/explain", "explain",
            "GET /api/explain", "explain",
            "POST /api/images", "add",
            "GET /api/images/{id}", "view",
            "GET /api/images/{id}/thumbnail", "thumbnail",
            "DELETE /api/images/{id}", "delete");

    /** The audited action of a request, or null. */
    static String action(Context ctx) {
        return ACTIONS.get(ctx.method().name() + " " + SearchServer.template(ctx));
    }

    private static List<Long> pathId(Context ctx) {
        Matcher m = IMAGE.matcher(ctx.path());
        if (m.matches() && m.group(1).matches("[0-9]{1,18}")) {
            return List.of(Long.parseLong(m.group(1)));
        }
        return List.of();
    }
}
