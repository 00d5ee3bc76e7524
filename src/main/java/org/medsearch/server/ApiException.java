package org.medsearch.server;

import java.util.Map;

/**
 * A request the server answers with an error: an HTTP status, a stable machine-readable code and a
 * one-line message for people. {@link ErrorMapper} turns it into {@code {"error": code, "message":
 * message}}; the message must never hold a file path, a stack trace or patient data.
 *
 * <pre>{@code
 * throw ApiException.badRequest("k must be between 1 and 100, got 0");
 * throw ApiException.overloaded(); // 503 with Retry-After
 * }</pre>
 */
public final class ApiException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int status;
    private final String code;
    private final transient Map<String, String> headers;

    public ApiException(int status, String code, String message, Map<String, String> headers) {
        super(message, null, false, false);
        this.status = status;
        this.code = code;
        this.headers = Map.copyOf(headers);
    }

    public ApiException(int status, String code, String message) {
        this(status, code, message, Map.of());
    }

    public static ApiException badRequest(String message) {
        return new ApiException(400, "bad_request", message);
    }

    public static ApiException notFound(String message) {
        return new ApiException(404, "not_found", message);
    }

    /** 503 with {@code Retry-After: 1}: the inference queue is full, try again shortly. */
    public static ApiException overloaded() {
        return new ApiException(503, "overloaded", "the server is busy; retry in a second", Map.of("Retry-After", "1"));
    }

    public int status() {
        return status;
    }

    public String code() {
        return code;
    }

    /** Extra response headers (Retry-After, WWW-Authenticate). */
    public Map<String, String> headers() {
        return headers;
    }
}
