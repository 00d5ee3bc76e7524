package org.medsearch.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/** A real HTTP client against a test server on 127.0.0.1. */
final class Http {

    private final HttpClient client = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    final int port;

    Http(int port) {
        this.port = port;
    }

    URI uri(String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }

    HttpResponse<byte[]> send(HttpRequest.Builder b) throws IOException, InterruptedException {
        return client.send(b.timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    HttpResponse<byte[]> get(String path) throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(uri(path)));
    }

    HttpResponse<byte[]> post(String path, MultipartBody body, String... headers)
            throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path))
                .header("Content-Type", body.contentType())
                .POST(body.publisher());
        if (headers.length > 0) {
            b.headers(headers);
        }
        return send(b);
    }

    HttpResponse<byte[]> search(byte[] image, String... fields) throws IOException, InterruptedException {
        MultipartBody body = new MultipartBody();
        for (int i = 0; i < fields.length; i += 2) {
            body.field(fields[i], fields[i + 1]);
        }
        return post("/api/search", body.file("image", "query.png", image));
    }

    HttpResponse<byte[]> delete(String path, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).DELETE();
        if (headers.length > 0) {
            b.headers(headers);
        }
        return send(b);
    }

    static String text(HttpResponse<byte[]> r) {
        return new String(r.body(), StandardCharsets.UTF_8);
    }

    static JsonNode json(HttpResponse<byte[]> r) throws IOException {
        assertTrue(
                r.headers().firstValue("Content-Type").orElse("").startsWith("application/json"),
                "JSON expected: " + r.headers().map());
        return ApiResponses.MAPPER.readTree(r.body());
    }

    /** An error answer: this status, JSON {error, message} with this code, and no stack trace. */
    static JsonNode assertError(HttpResponse<byte[]> r, int status, String code) throws IOException {
        assertEquals(status, r.statusCode(), () -> r.uri() + " -> " + text(r));
        JsonNode j = json(r);
        assertEquals(code, j.path("error").asText(), text(r));
        assertFalse(j.path("message").asText().isBlank(), text(r));
        assertEquals(2, j.size(), "only error and message: " + text(r));
        String body = text(r);
        assertFalse(body.contains("Exception") || body.contains("\tat ") || body.contains(".java"), body);
        return j;
    }
}
