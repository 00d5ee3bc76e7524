package org.medsearch.server;

import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import io.javalin.router.JavalinDefaultRoutingApi;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.Map;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;
import org.medsearch.util.MedsearchException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes every error the server sends a JSON {@code {"error": code, "message": text}}, with a 4xx
 * status for what the client can fix and 5xx only for real faults, and never a stack trace: the
 * trace of an unexpected exception goes to the operator's log, the client gets one sentence.
 *
 * <p>Two layers need it: Javalin's exception handlers, for everything that reaches a route, and
 * Jetty's {@link ErrorHandler}, for what Jetty refuses before routing (a malformed request line,
 * an ambiguous URI such as {@code /api/images/%2e%2e/x}, headers too large).
 *
 * <pre>{@code
 * Javalin.create(cfg -> {
 *     ErrorMapper.register(cfg.routes);
 *     cfg.jetty.modifyServer(server -> server.setErrorHandler(new ErrorMapper.JsonErrorHandler()));
 * });
 * }</pre>
 */
final class ErrorMapper {
    private ErrorMapper() {}

    private static final Logger LOG = LoggerFactory.getLogger(ErrorMapper.class);

    /** The request attribute holding the error code of an error answer. */
    static final String ERROR_CODE = "medsearch.error";

    static void register(JavalinDefaultRoutingApi routes) {
        routes.exception(ApiException.class, (e, ctx) -> write(ctx, e.status(), e.code(), e.getMessage(), e.headers()));
        routes.exception(HttpResponseException.class, (e, ctx) -> {
            int status = e.getStatus();
            write(
                    ctx,
                    status,
                    code(status),
                    status >= 500 ? reason(status) : oneLine(e.getMessage(), status),
                    Map.of());
        });
        // the one user error type: the client's to fix, with its message (paths masked: none may leave the server)
        routes.exception(
                MedsearchException.class,
                (e, ctx) -> write(ctx, 400, code(400), oneLine(withoutPaths(e.getMessage()), 400), Map.of()));
        routes.exception(Exception.class, (e, ctx) -> {
            LOG.error("{} {} failed", ctx.method(), ctx.path(), e);
            write(ctx, 500, code(500), reason(500), Map.of());
        });
    }

    /** Answers with an API error from outside a handler (a hook that must replace an answer). */
    static void refuse(Context ctx, ApiException e) {
        write(ctx, e.status(), e.code(), e.getMessage(), e.headers());
    }

    private static void write(Context ctx, int status, String code, String message, Map<String, String> headers) {
        headers.forEach(ctx::header);
        if (ctx.req().getContentLengthLong() > 0 || ctx.header("Transfer-Encoding") != null) {
            // A refused request's body may be unread. Closing on unread bytes resets the connection, and the
            // client, still sending, loses the answer with it: read (a bounded amount of) what is left first,
            // and say that the connection closes, so that the client does not reuse it.
            drain(ctx, status == 413 ? DRAIN_TOO_LARGE : DRAIN_OTHER);
            ctx.header("Connection", "close");
        }
        ctx.attribute(ERROR_CODE, code); // for the audit record
        ctx.status(status).json(new ApiResponses.Error(code, message));
    }

    /** What is read of a refused body: an oversized upload is read further, so that its 413 arrives. */
    private static final long DRAIN_TOO_LARGE = 64L << 20;

    private static final long DRAIN_OTHER = 1L << 20;

    private static void drain(Context ctx, long cap) {
        try (InputStream in = ctx.req().getInputStream()) {
            byte[] buf = new byte[64 << 10];
            long read = 0;
            int n;
            while (read < cap && (n = in.read(buf)) > 0) {
                read += n;
            }
        } catch (IOException | RuntimeException e) {
            // the stream is gone or was consumed by a failed parse: the close header is all we can do
        }
    }

    /** The stable code of a status the server answers without a more specific one. */
    static String code(int status) {
        return switch (status) {
            case 400 -> "bad_request";
            case 401 -> "unauthorized";
            case 403 -> "forbidden";
            case 404 -> "not_found";
            case 405 -> "method_not_allowed";
            case 408 -> "timeout";
            case 413 -> "too_large";
            case 414 -> "uri_too_long";
            case 415 -> "unsupported_media_type";
            case 431 -> "headers_too_large";
            case 503 -> "unavailable";
            default -> status >= 500 ? "internal_error" : "bad_request";
        };
    }

    static String reason(int status) {
        return switch (status) {
            case 404 -> "no such resource";
            case 405 -> "this method is not allowed here";
            case 408 -> "the request did not arrive in time";
            case 413 -> "the request is too large";
            case 414 -> "the URI is too long";
            case 431 -> "the request headers are too large";
            case 503 -> "the server is not available now";
            default -> status >= 500 ? "internal error; the server's log has the details" : "malformed request";
        };
    }

    /** A message with every absolute file path replaced by {@code <path>}. */
    static String withoutPaths(String message) {
        return message == null ? null : message.replaceAll("(?<![\\w:/])/[^\\s,;:'\"()]+", "<path>");
    }

    /** A library's message, if it is one short line; else the generic reason. */
    private static String oneLine(String message, int status) {
        if (message == null || message.isBlank() || message.length() > 200 || message.contains("\n")) {
            return reason(status);
        }
        return message;
    }

    static byte[] body(int status, String message) {
        try {
            return ApiResponses.MAPPER.writeValueAsBytes(new ApiResponses.Error(code(status), message));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("two strings always serialise", e);
        }
    }

    /** Jetty's error pages, as JSON. */
    static final class JsonErrorHandler extends ErrorHandler {

        private static final HttpField JSON = new HttpField(HttpHeader.CONTENT_TYPE, "application/json");

        @Override
        protected void generateResponse(
                Request request, Response response, int code, String message, Throwable cause, Callback callback) {
            response.getHeaders().put(JSON);
            String text = code >= 500 ? reason(code) : oneLine(message, code);
            response.write(true, ByteBuffer.wrap(body(code, text)), callback);
        }
    }
}
