package org.medsearch.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.image.MedicalImage;
import org.medsearch.testutil.TestImages;

/** Every endpoint, over real HTTP, against a server with writes on. */
class ApiTest {

    @TempDir
    static Path scratch;

    static Fixture.Built built;
    static Fixture.Running running;
    static Http http;

    @BeforeAll
    static void start() throws Exception {
        built = Fixture.synthetic();
        running = Fixture.start(built, ServerConfig.defaults().withToken(Fixture.TOKEN), scratch);
        http = running.http;
    }

    @AfterAll
    static void stop() throws Exception {
        if (running != null) {
            running.close();
        }
    }

    static byte[] indexed(String rel) throws Exception {
        return Files.readAllBytes(built.data().resolve(rel));
    }

    @Test
    void searchReturnsThePredictionEveryProbabilityTheNearestImagesAndTimings() throws Exception {
        HttpResponse<byte[]> r = http.search(indexed("disc/img_007.png"), "k", "5", "scope", "predicted");
        assertEquals(200, r.statusCode(), Http.text(r));
        JsonNode j = Http.json(r);
        assertEquals("disc", j.at("/predicted/name").asText());
        assertTrue(j.at("/predicted/probability").asDouble() > 0.5);
        JsonNode probs = j.get("probabilities");
        assertEquals(3, probs.size());
        double sum = 0;
        Set<String> names = new TreeSet<>();
        for (JsonNode p : probs) {
            sum += p.get("probability").asDouble();
            names.add(p.get("name").asText());
        }
        assertEquals(1.0, sum, 1e-4);
        assertEquals(Set.of("columns", "disc", "stripes"), names);
        assertEquals("predicted", j.get("scope").asText());
        assertEquals(5, j.get("k").asInt());
        JsonNode results = j.get("results");
        assertEquals(5, results.size());
        // the query is indexed: it is its own nearest neighbour (up to float rounding across batch sizes)
        assertTrue(results.get(0).get("distance").asDouble() < 1e-6, results.toString());
        double last = -1;
        for (JsonNode h : results) {
            assertEquals("disc", h.get("label").asText(), "scope predicted keeps to the predicted class");
            long id = h.get("id").asLong();
            assertEquals(
                    "/api/images/" + id + "/thumbnail", h.get("thumbnailUrl").asText());
            assertEquals("/api/images/" + id, h.get("imageUrl").asText());
            assertTrue(h.get("distance").asDouble() >= last, "nearest first");
            last = h.get("distance").asDouble();
            assertEquals(Set.of("id", "label", "distance", "thumbnailUrl", "imageUrl"), fields(h));
        }
        JsonNode t = j.get("timings");
        for (String f : List.of("decodeMs", "queueMs", "modelMs", "searchMs", "totalMs")) {
            assertTrue(t.get(f).asDouble() >= 0, f);
        }
        assertTrue(t.get("batchSize").asInt() >= 1);
        assertTrue(t.get("totalMs").asDouble() >= t.get("modelMs").asDouble());
    }

    static Set<String> fields(JsonNode n) {
        Set<String> s = new TreeSet<>();
        n.fieldNames().forEachRemaining(s::add);
        return s;
    }

    @Test
    void scopeAllComparesWithEveryClassAndParametersMayComeInTheQueryString() throws Exception {
        MultipartBody body = new MultipartBody().file("image", "q", indexed("stripes/img_003.png"));
        HttpResponse<byte[]> r = http.post("/api/search?k=60&scope=ALL", body);
        assertEquals(200, r.statusCode(), Http.text(r));
        JsonNode j = Http.json(r);
        assertEquals("all", j.get("scope").asText());
        assertEquals(60, j.get("results").size(), "more than the 50 images of any one class");
        Set<String> labels = new TreeSet<>();
        j.get("results").forEach(h -> labels.add(h.get("label").asText()));
        assertTrue(labels.size() >= 2, labels.toString());
    }

    @Test
    void badParametersAreRefusedWith400() throws Exception {
        byte[] q = indexed("disc/img_001.png");
        Http.assertError(http.search(q, "k", "0"), 400, "bad_request");
        Http.assertError(http.search(q, "k", "101"), 400, "bad_request");
        Http.assertError(http.search(q, "k", "ten"), 400, "bad_request");
        Http.assertError(http.search(q, "scope", "everything"), 400, "bad_request");
        Http.assertError(http.post("/api/search", new MultipartBody().field("k", "3")), 400, "bad_request");
    }

    @Test
    void thumbnailsAndImagesArePngRenderingsOfTheDecodedPixels() throws Exception {
        JsonNode hit =
                Http.json(http.search(indexed("columns/img_010.png"), "k", "1")).at("/results/0");
        HttpResponse<byte[]> full = http.get(hit.get("imageUrl").asText());
        assertEquals(200, full.statusCode());
        assertEquals("image/png", full.headers().firstValue("Content-Type").orElse(""));
        assertEquals(
                "nosniff", full.headers().firstValue("X-Content-Type-Options").orElse(""));
        BufferedImage img = ImageIO.read(new ByteArrayInputStream(full.body()));
        BufferedImage src =
                ImageIO.read(built.data().resolve("columns/img_010.png").toFile());
        assertEquals(64, img.getWidth());
        for (int y = 0; y < 64; y += 9) {
            for (int x = 0; x < 64; x += 7) {
                assertEquals(
                        src.getRaster().getSample(x, y, 0), img.getRaster().getSample(x, y, 0), "8-bit round trip");
            }
        }
        HttpResponse<byte[]> thumb = http.get(hit.get("thumbnailUrl").asText());
        assertEquals(200, thumb.statusCode());
        assertEquals("image/png", thumb.headers().firstValue("Content-Type").orElse(""));
        assertNotNull(ImageIO.read(new ByteArrayInputStream(thumb.body())));
        assertTrue(thumb.headers().firstValue("Cache-Control").orElse("").contains("max-age"));
    }

    @Test
    void largeImagesAreShrunkForThumbnailsKeepingTheirAspect() {
        MedicalImage t = PngRenderer.fit(new MedicalImage(300, 150, new float[300 * 150]), 128);
        assertEquals(128, t.width());
        assertEquals(64, t.height());
        MedicalImage small = new MedicalImage(40, 20, new float[800]);
        assertTrue(PngRenderer.fit(small, 128) == small, "small images are left alone");
    }

    @Test
    void classesListEveryClassWithItsCount() throws Exception {
        HttpResponse<byte[]> r = http.get("/api/classes");
        assertEquals(200, r.statusCode());
        JsonNode j = Http.json(r);
        assertEquals(3, j.get("classes").size());
        for (JsonNode c : j.get("classes")) {
            assertEquals(50, c.get("count").asInt(), c.toString());
        }
        assertEquals(150, j.get("total").asInt());
    }

    @Test
    void healthAndStatsDescribeTheServer() throws Exception {
        JsonNode h = Http.json(http.get("/api/health"));
        assertEquals("ok", h.get("status").asText());
        assertTrue(h.get("writesEnabled").asBoolean());
        assertTrue(h.get("indexSize").asInt() >= 150);
        http.search(indexed("disc/img_002.png"));
        JsonNode s = Http.json(http.get("/api/stats"));
        assertEquals(
                List.of("columns", "disc", "stripes"),
                List.of(
                        s.at("/model/classes/0").asText(),
                        s.at("/model/classes/1").asText(),
                        s.at("/model/classes/2").asText()));
        assertEquals(64, s.at("/model/imageSize").asInt());
        assertEquals(built.bundle().fingerprint(), s.at("/model/fingerprint").asText());
        assertTrue(s.at("/requests/byRoute").has("POST /api/search"), s.toString());
        assertTrue(s.at("/requests/byStatus/200").asLong() >= 1);
        assertTrue(s.get("uptimeSeconds").asDouble() > 0);
        assertEquals(8 + 16, s.at("/queue/capacity").asInt());
        assertTrue(s.at("/queue/queries").asLong() >= 1);
        assertTrue(s.at("/memory/peakRssBytes").asLong() > 0);
        assertTrue(s.at("/memory/peakRssBytes").asLong()
                >= s.at("/memory/rssBytes").asLong());
        assertFalse(s.toString().contains(built.root().toString()), "no paths in stats");
    }

    @Test
    void openApiDescribesEveryEndpoint() throws Exception {
        JsonNode j = Http.json(http.get("/api/openapi.json"));
        assertTrue(j.get("openapi").asText().startsWith("3."));
        JsonNode paths = j.get("paths");
        assertEquals(
                Set.of(
                        "/api/search",
                        "/api/explain",
                        "/api/images",
                        "/api/images/{id}",
                        "/api/images/{id}/thumbnail",
                        "/api/classes",
                        "/api/health",
                        "/api/stats",
                        "/api/openapi.json",
                        "/metrics"),
                fields(paths));
        assertTrue(paths.at("/~1api~1search/post/responses").has("503"));
        assertTrue(paths.at("/~1api~1images~1{id}").has("delete"));
        assertTrue(paths.at("/~1api~1images/post/security").size() > 0);
    }

    @Test
    void anImageAddedWithTheTokenIsFoundAndADeletedOneIsGone() throws Exception {
        byte[] fresh = TestImages.png(TestImages.pattern("disc", 64, new Random(4242)));
        String auth = "Bearer " + Fixture.TOKEN;
        HttpResponse<byte[]> add = http.post(
                "/api/images",
                new MultipartBody().field("label", "disc").file("image", "../../evil.png", fresh),
                "Authorization",
                auth);
        assertEquals(201, add.statusCode(), Http.text(add));
        JsonNode a = Http.json(add);
        long id = a.get("id").asLong();
        assertEquals("disc", a.get("label").asText());
        assertEquals("/api/images/" + id, add.headers().firstValue("Location").orElse(""));
        Path uploads = running.index.directory().resolve(ImageService.UPLOADS_DIR);
        try (Stream<Path> s = Files.list(uploads)) {
            List<Path> files = s.toList();
            assertEquals(1, files.size(), "stored under a server-chosen name, inside uploads/: " + files);
            assertTrue(files.get(0).getFileName().toString().endsWith(".png"));
            assertFalse(files.get(0).getFileName().toString().contains("evil"));
        }
        JsonNode found = Http.json(http.search(fresh, "k", "1", "scope", "all"));
        assertEquals(id, found.at("/results/0/id").asLong());
        assertEquals(200, http.get("/api/images/" + id).statusCode());

        assertEquals(
                204, http.delete("/api/images/" + id, "Authorization", auth).statusCode());
        Http.assertError(http.get("/api/images/" + id), 404, "not_found");
        Http.assertError(http.get("/api/images/" + id + "/thumbnail"), 404, "not_found");
        Http.assertError(http.delete("/api/images/" + id, "Authorization", auth), 404, "not_found");
        assertTrue(Http.json(http.search(fresh, "k", "1", "scope", "all"))
                        .at("/results/0/id")
                        .asLong()
                != id);
        try (Stream<Path> s = Files.list(uploads)) {
            assertEquals(0, s.count(), "the upload's file is deleted with it");
        }
    }

    @Test
    void deletingAnImageOfTheDataSetLeavesItsFileAlone() throws Exception {
        JsonNode hit =
                Http.json(http.search(indexed("stripes/img_049.png"), "k", "1")).at("/results/0");
        long id = hit.get("id").asLong();
        assertEquals(
                204,
                http.delete("/api/images/" + id, "Authorization", "Bearer " + Fixture.TOKEN)
                        .statusCode());
        assertTrue(Files.exists(built.data().resolve("stripes/img_049.png")));
        Http.assertError(http.get("/api/images/" + id + "/thumbnail"), 404, "not_found");
    }

    @Test
    void anUnknownLabelIsRefused() throws Exception {
        byte[] img = TestImages.png(TestImages.pattern("disc", 64, new Random(5)));
        Http.assertError(
                http.post(
                        "/api/images",
                        new MultipartBody().field("label", "kidney").file("image", "x", img),
                        "Authorization",
                        "Bearer " + Fixture.TOKEN),
                400,
                "bad_request");
    }

    @Test
    void thePageAndItsAssetsAreServedWithAStrictPolicy() throws Exception {
        HttpResponse<byte[]> page = http.get("/");
        assertEquals(200, page.statusCode());
        assertTrue(page.headers().firstValue("Content-Type").orElse("").startsWith("text/html"));
        String csp = page.headers().firstValue("Content-Security-Policy").orElse("");
        assertTrue(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"), csp);
        String html = Http.text(page);
        assertTrue(html.contains("id=\"drop\"") && html.contains("aria-live"), html);
        assertFalse(html.contains("http://") || html.contains("https://"), "nothing loaded from elsewhere");
        for (String asset : List.of("/app.js", "/app.css")) {
            HttpResponse<byte[]> r = http.get(asset);
            assertEquals(200, r.statusCode(), asset);
            assertFalse(Http.text(r).contains("http://") || Http.text(r).contains("https://"), asset);
        }
    }

    @Test
    void unknownRoutesAndWrongMethodsAreJsonErrors() throws Exception {
        Http.assertError(http.get("/api/nothing"), 404, "not_found");
        Http.assertError(http.get("/nothing.html"), 404, "not_found");
        Http.assertError(http.get("/api/search"), 405, "method_not_allowed");
    }
}
