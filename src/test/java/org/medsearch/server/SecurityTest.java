package org.medsearch.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayInputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.testutil.TestImages;

/**
 * What an attacker or a careless client can send, over real HTTP to 127.0.0.1: writes without or
 * with a wrong token, traversal ids, oversized uploads, a decompression bomb, non-images, truncated
 * images, deleted ids; and what must never come back: paths, patient ids, stack traces.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SecurityTest {

    /** Small limits, so that the over-limit cases are cheap to send. */
    static final long MAX_UPLOAD = 1 << 20;

    static final long MAX_PIXELS = 4L << 20;

    @TempDir
    static Path scratch;

    static Fixture.Built built;
    static Fixture.Running running;
    static Http http;
    static final List<HttpResponse<byte[]>> seen = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        built = Fixture.synthetic();
        running = Fixture.start(
                built, ServerConfig.defaults().withToken(Fixture.TOKEN).withLimits(MAX_UPLOAD, MAX_PIXELS), scratch);
        http = running.http;
    }

    @AfterAll
    static void stop() throws Exception {
        if (running != null) {
            running.close();
        }
    }

    static HttpResponse<byte[]> keep(HttpResponse<byte[]> r) {
        synchronized (seen) {
            seen.add(r);
        }
        return r;
    }

    static byte[] png(int seed) throws Exception {
        return TestImages.png(TestImages.pattern("disc", 64, new Random(seed)));
    }

    static MultipartBody upload(byte[] image) {
        return new MultipartBody().field("label", "disc").file("image", "x.png", image);
    }

    @Test
    void writesWithoutATokenOrWithAWrongOneAreRefused() throws Exception {
        HttpResponse<byte[]> none = keep(http.post("/api/images", upload(png(1))));
        Http.assertError(none, 401, "unauthorized");
        assertTrue(none.headers().firstValue("WWW-Authenticate").orElse("").startsWith("Bearer"));
        Http.assertError(
                keep(http.post("/api/images", upload(png(1)), "Authorization", "Bearer wrong-token-of-some-length")),
                401,
                "unauthorized");
        Http.assertError(
                keep(http.post("/api/images", upload(png(1)), "Authorization", "Bearer " + Fixture.TOKEN + "x")),
                401,
                "unauthorized");
        Http.assertError(
                keep(http.post("/api/images", upload(png(1)), "Authorization", "Basic " + Fixture.TOKEN)),
                401,
                "unauthorized");
        Http.assertError(keep(http.delete("/api/images/0")), 401, "unauthorized");
        Http.assertError(keep(http.delete("/api/images/0", "Authorization", "Bearer nope")), 401, "unauthorized");
        assertEquals(200, http.get("/api/images/0").statusCode(), "nothing was deleted");
        assertEquals(150, Http.json(http.get("/api/classes")).get("total").asInt(), "nothing was added");
    }

    @Test
    void withoutAConfiguredTokenWritesAreOffFor403() throws Exception {
        try (Fixture.Running ro = Fixture.start(built, ServerConfig.defaults(), scratch)) {
            JsonNode e = Http.assertError(
                    keep(ro.http.post("/api/images", upload(png(2)), "Authorization", "Bearer " + Fixture.TOKEN)),
                    403,
                    "writes_disabled");
            assertTrue(e.get("message").asText().contains("turned off"), e.toString());
            Http.assertError(keep(ro.http.delete("/api/images/1")), 403, "writes_disabled");
            assertFalse(
                    Http.json(ro.http.get("/api/health")).get("writesEnabled").asBoolean());
        }
    }

    @Test
    void traversalAndMalformedIdsAre400() throws Exception {
        List<String> paths = List.of(
                "/api/images/../../etc/passwd",
                "/api/images/../../../../etc/passwd",
                "/api/images/%2e%2e/%2e%2e/etc/passwd",
                "/api/images/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
                "/api/images/..%2F..%2Fetc%2Fpasswd/thumbnail",
                "/api/images/%2e%2e",
                "/api/images/./1",
                "/api/images/-1",
                "/api/images/1.5",
                "/api/images/0x10",
                "/api/images/1%00",
                "/api/images/99999999999999999999",
                "/api/images/abc/thumbnail",
                "/app.js/../../../etc/passwd");
        for (String p : paths) {
            HttpResponse<byte[]> r = keep(http.send(HttpRequest.newBuilder(http.uri(p))));
            assertEquals(400, r.statusCode(), p + " -> " + Http.text(r));
            JsonNode j = Http.json(r);
            assertFalse(j.path("error").asText().isBlank(), p);
            assertFalse(Http.text(r).contains("root:"), p);
        }
    }

    @Test
    void anOversizedUploadIs413() throws Exception {
        byte[] big = new byte[(int) MAX_UPLOAD + 1024];
        new Random(1).nextBytes(big);
        Http.assertError(keep(http.search(big)), 413, "too_large");
        // the same without a declared length (chunked): caught while reading
        MultipartBody body = new MultipartBody().file("image", "big", big);
        HttpRequest.Builder chunked = HttpRequest.newBuilder(http.uri("/api/search"))
                .header("Content-Type", body.contentType())
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(body.bytes())));
        Http.assertError(keep(http.send(chunked)), 413, "too_large");
        Http.assertError(
                keep(http.post("/api/images", upload(big), "Authorization", "Bearer " + Fixture.TOKEN)),
                413,
                "too_large");
    }

    @Test
    void aDecompressionBombIsRefusedBeforeItIsDecoded() throws Exception {
        byte[] bomb = TestImages.bigBlackPng(10_000, 10_000);
        assertTrue(bomb.length < MAX_UPLOAD, "small on the wire: " + bomb.length);
        long heapBefore = used();
        JsonNode e = Http.assertError(keep(http.search(bomb)), 422, "invalid_image");
        assertTrue(e.get("message").asText().contains("exceeds the limit"), e.toString());
        // 10^8 pixels as floats would be 400 MB; the refusal comes from the header alone
        assertTrue(used() - heapBefore < 200L << 20, "no bomb-sized allocation");
    }

    static long used() {
        Runtime rt = Runtime.getRuntime();
        return rt.totalMemory() - rt.freeMemory();
    }

    @Test
    void aNonImageIs415WhateverItsNameOrType() throws Exception {
        byte[] text = "I am a text file, not an X-ray.\n".getBytes(StandardCharsets.UTF_8);
        MultipartBody body = new MultipartBody().file("image", "scan.png", text);
        HttpResponse<byte[]> r = keep(http.send(HttpRequest.newBuilder(http.uri("/api/search"))
                .header("Content-Type", body.contentType())
                .POST(body.publisher())));
        JsonNode e = Http.assertError(r, 415, "unsupported_media_type");
        assertTrue(e.get("message").asText().contains("not an image"), e.toString());
        Http.assertError(keep(http.search(new byte[0])), 415, "unsupported_media_type");
        // not multipart at all
        HttpResponse<byte[]> raw = keep(http.send(HttpRequest.newBuilder(http.uri("/api/search"))
                .header("Content-Type", "image/png")
                .POST(HttpRequest.BodyPublishers.ofByteArray(png(3)))));
        Http.assertError(raw, 415, "unsupported_media_type");
    }

    @Test
    void aTruncatedImageIs422() throws Exception {
        byte[] whole = TestImages.encode(TestImages.pattern("stripes", 128, new Random(9)), "jpeg");
        Http.assertError(keep(http.search(Arrays.copyOf(whole, whole.length / 2))), 422, "invalid_image");
        byte[] png = png(4);
        Http.assertError(keep(http.search(Arrays.copyOf(png, png.length - 40))), 422, "invalid_image");
    }

    @Test
    void aDeletedIdIs404Everywhere() throws Exception {
        String auth = "Bearer " + Fixture.TOKEN;
        long id = Http.json(keep(http.post("/api/images", upload(png(5)), "Authorization", auth)))
                .get("id")
                .asLong();
        assertEquals(
                204, http.delete("/api/images/" + id, "Authorization", auth).statusCode());
        Http.assertError(keep(http.get("/api/images/" + id)), 404, "not_found");
        Http.assertError(keep(http.get("/api/images/" + id + "/thumbnail")), 404, "not_found");
        Http.assertError(keep(http.delete("/api/images/" + id, "Authorization", auth)), 404, "not_found");
        Http.assertError(keep(http.get("/api/images/987654321")), 404, "not_found");
    }

    @Test
    void corsIsOffUnlessAnOriginIsConfigured() throws Exception {
        HttpResponse<byte[]> r = keep(
                http.send(HttpRequest.newBuilder(http.uri("/api/health")).header("Origin", "https://evil.example")));
        Http.assertError(r, 403, "forbidden"); // a foreign origin is refused outright, not merely left without headers
        assertTrue(
                r.headers().firstValue("Access-Control-Allow-Origin").isEmpty(),
                r.headers().map().toString());
        String origin = "https://viewer.example.org";
        try (Fixture.Running c = Fixture.start(built, ServerConfig.defaults().withCorsOrigin(origin), scratch)) {
            HttpResponse<byte[]> ok = c.http.send(
                    HttpRequest.newBuilder(c.http.uri("/api/health")).header("Origin", origin));
            assertEquals(
                    origin,
                    ok.headers().firstValue("Access-Control-Allow-Origin").orElse(""));
            HttpResponse<byte[]> other = c.http.send(
                    HttpRequest.newBuilder(c.http.uri("/api/health")).header("Origin", "https://evil.example"));
            assertEquals(403, other.statusCode());
            assertNotEquals(
                    "https://evil.example",
                    other.headers().firstValue("Access-Control-Allow-Origin").orElse(""));
        }
    }

    /** Last, so that it also checks every response the other tests kept. */
    @Test
    @Order(Integer.MAX_VALUE)
    void noResponseCarriesAPathOrAPatientId() throws Exception {
        byte[] q = Files.readAllBytes(built.data().resolve("disc/img_003.png"));
        keep(http.search(q, "k", "100", "scope", "all"));
        for (String p : List.of(
                "/",
                "/app.js",
                "/api/classes",
                "/api/health",
                "/api/stats",
                "/api/openapi.json",
                "/api/images/3",
                "/api/images/3/thumbnail",
                "/api/images/424242",
                "/api/nothing")) {
            keep(http.get(p));
        }
        List<String> secrets = List.of(
                built.root().toString(),
                built.data().toString(),
                Fixture.PATIENT_PREFIX,
                "img_0",
                "manifest.csv",
                running.index.directory().toString(),
                "uploads/");
        synchronized (seen) {
            assertTrue(seen.size() > 20, "responses checked: " + seen.size());
            for (HttpResponse<byte[]> r : seen) {
                String body = new String(r.body(), StandardCharsets.ISO_8859_1);
                String headers = r.headers().map().toString();
                for (String s : secrets) {
                    assertFalse(body.contains(s), r.uri() + " body holds " + s);
                    assertFalse(headers.contains(s), r.uri() + " headers hold " + s);
                }
            }
        }
    }
}
