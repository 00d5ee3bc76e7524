package org.medsearch.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.dicomweb.DicomWebClient;
import org.medsearch.dicomweb.DicomWebLocation;
import org.medsearch.dicomweb.OrthancServer;
import org.medsearch.dicomweb.PacsCredentials;
import org.medsearch.index.IndexedImage;
import org.medsearch.index.VectorStore;
import org.medsearch.model.EmbeddingBackend;
import org.medsearch.model.InferenceRuntime;
import org.medsearch.search.ViewerLink;
import org.medsearch.service.Models;
import org.medsearch.service.SearchService;
import org.medsearch.service.Stores;
import org.medsearch.testutil.Bundles;
import org.medsearch.testutil.CliRun;
import org.medsearch.testutil.TestImages;
import org.medsearch.util.Progress;
import org.openqa.selenium.By;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The server with a PACS (a real Orthanc): {@code POST /api/search} takes {@code instance} (a SOP
 * Instance UID) instead of an upload and answers as for the same file uploaded; hits of an index
 * built with {@code --link-back} carry the viewer link the template makes, in the API and on the
 * page (a real Chromium); a missing instance is 404, a PACS that is down is 502, a server without a
 * PACS refuses {@code instance} with 400. Skips where Orthanc is not installed.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PacsServerTest {

    static final String TEMPLATE =
            "https://viewer.example.org/viewer?StudyInstanceUIDs={study}&SeriesInstanceUIDs={series}"
                    + "&initialSopInstanceUid={instance}";

    @TempDir
    static Path work;

    static OrthancServer orthanc;
    static EmbeddingBackend backend;
    static VectorStore index;
    static SearchServer server;
    static Http http;
    static final List<String> uids = new ArrayList<>();
    static final List<Path> files = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        assumeTrue(
                OrthancServer.available(),
                "skipped: Orthanc is not installed (apt-get install orthanc orthanc-dicomweb)");
        orthanc = OrthancServer.start(work.resolve("orthanc"));
        Random rnd = new Random(11);
        for (int i = 0; i < 6; i++) {
            String id = orthanc.createSecondaryCapture(
                    TestImages.png(TestImages.pattern(TestImages.PATTERNS[i % 3], 64, rnd)),
                    Map.of("PatientName", "Roe^Richard", "PatientID", "SRV-" + i));
            uids.add(orthanc.instanceTags(id).get("SOPInstanceUID"));
            files.add(Files.write(work.resolve("q" + i + ".dcm"), orthanc.instanceFile(id)));
        }
        Path model = Bundles.random(work.resolve("model"), List.of("stripes", "columns", "disc"), 64, 13);
        Path dir = work.resolve("index");
        Path auth = Files.writeString(work.resolve("auth"), "basic " + orthanc.user() + ":" + orthanc.password());
        CliRun r = CliRun.run(
                "index",
                "--model",
                model.toString(),
                "--index",
                dir.toString(),
                "--from",
                orthanc.location(),
                "--pacs-auth",
                auth.toString(),
                "--link-back",
                "-q");
        assertEquals(0, r.code(), r.toString());
        backend = Models.open(model, 0, InferenceRuntime.ONNX, Progress.NONE);
        index = Stores.open(dir, false);
        DicomWebClient pacs = DicomWebClient.builder()
                .setLocation(DicomWebLocation.parse(orthanc.location()))
                .optCredentials(PacsCredentials.basic(orthanc.user(), orthanc.password()))
                .optRetries(0, 10)
                .optTimeout(Duration.ofSeconds(5))
                .build();
        server = SearchServer.start(
                ServerConfig.defaults().withPort(0),
                new SearchService(backend, index),
                new PacsAccess(pacs, ViewerLink.parse(TEMPLATE)));
        http = new Http(server.port());
    }

    @AfterAll
    static void stop() throws Exception {
        if (server != null) {
            server.stop();
        }
        if (index != null) {
            index.close();
        }
        if (backend != null) {
            backend.close();
        }
        if (orthanc != null) {
            orthanc.close();
        }
    }

    static HttpResponse<byte[]> searchInstance(String uid, int k) throws Exception {
        return http.post(
                "/api/search",
                new MultipartBody()
                        .field("instance", uid)
                        .field("k", String.valueOf(k))
                        .field("scope", "all"));
    }

    /** The link the template gives for an indexed image, from what the index stores. */
    static String expectedLink(long id) throws Exception {
        IndexedImage img = index.get(id).orElseThrow();
        Map<String, String> m = img.metadata();
        return "https://viewer.example.org/viewer?StudyInstanceUIDs=" + m.get("study_uid") + "&SeriesInstanceUIDs="
                + m.get("series_uid") + "&initialSopInstanceUid=" + m.get("instance_uid");
    }

    @Test
    @Order(1)
    void anInstanceIsSearchedAsTheSameFileUploadedAndEveryHitLinksToTheViewer() throws Exception {
        for (int i = 0; i < 3; i++) {
            JsonNode byUid = Http.json(searchInstance(uids.get(i), 6));
            JsonNode byFile = Http.json(http.post(
                    "/api/search",
                    new MultipartBody()
                            .field("k", "6")
                            .field("scope", "all")
                            .file("image", "q.dcm", Files.readAllBytes(files.get(i)))));
            assertEquals(byFile.get("results").size(), byUid.get("results").size());
            for (int j = 0; j < byUid.get("results").size(); j++) {
                JsonNode a = byUid.get("results").get(j);
                JsonNode b = byFile.get("results").get(j);
                assertEquals(b.get("id"), a.get("id"));
                assertEquals(b.get("distance"), a.get("distance"));
                assertEquals(
                        expectedLink(a.get("id").asLong()), a.get("viewerUrl").asText());
            }
            JsonNode first = byUid.get("results").get(0);
            assertEquals(0.0, first.get("distance").asDouble(), 1e-9, "the query is its own nearest hit");
            assertTrue(first.get("viewerUrl").asText().endsWith("initialSopInstanceUid=" + uids.get(i)));
        }
    }

    @Test
    @Order(2)
    void imagesIndexedFromThePacsAreRenderedFromIt() throws Exception {
        JsonNode a = Http.json(searchInstance(uids.get(2), 3));
        for (JsonNode hit : a.get("results")) {
            HttpResponse<byte[]> png = http.get(hit.get("thumbnailUrl").asText());
            assertEquals(200, png.statusCode(), Http.text(png));
            assertEquals("image/png", png.headers().firstValue("Content-Type").orElse(""));
            java.awt.image.BufferedImage img = javax.imageio.ImageIO.read(new java.io.ByteArrayInputStream(png.body()));
            assertEquals(64, img.getWidth(), "the capture's 64x64 pixels, from the PACS");
        }
    }

    @Test
    @Order(2)
    void mistakesAndAnUnknownInstanceAreClearErrors() throws Exception {
        Http.assertError(searchInstance("1.2.3.4.5.6.7.8.9.10", 5), 404, "not_found");
        Http.assertError(searchInstance("1.2.3; DROP", 5), 400, "bad_request");
        Http.assertError(
                http.post(
                        "/api/search",
                        new MultipartBody()
                                .field("instance", uids.get(0))
                                .file("image", "q.png", TestImages.png(TestImages.pattern("disc", 64, new Random(1))))),
                400,
                "bad_request");
    }

    @Test
    @Order(3)
    void thePageShowsTheViewerLinkOfEachHit() throws Exception {
        assumeTrue(
                Files.isExecutable(BrowserTest.CHROMIUM) && Files.isExecutable(BrowserTest.CHROMEDRIVER),
                "skipped: /usr/bin/chromium or /usr/bin/chromedriver is absent");
        WebDriver driver = BrowserTest.browser(work.resolve("chromium-profile"));
        try {
            driver.get(server.url());
            WebDriverWait wait = new WebDriverWait(driver, Duration.ofSeconds(60));
            driver.findElement(By.id("file"))
                    .sendKeys(files.get(1).toAbsolutePath().toString());
            wait.until(
                    d -> d.findElements(By.cssSelector("#results .result")).size() == 6
                            && (Boolean)
                                    ((org.openqa.selenium.JavascriptExecutor) d)
                                            .executeScript(
                                                    "return [...document.querySelectorAll('#results img')].every(i => i.complete && i.naturalWidth > 0)"));
            assertEquals(
                    6,
                    driver.findElements(By.cssSelector("#results img")).size(),
                    "every hit's thumbnail comes from the PACS");
            List<WebElement> items = driver.findElements(By.cssSelector("#results li"));
            for (WebElement li : items) {
                long id =
                        Long.parseLong(li.findElement(By.cssSelector(".result")).getAttribute("data-id"));
                WebElement link = li.findElement(By.cssSelector("a.open-in-pacs"));
                assertEquals(expectedLink(id), link.getAttribute("href"));
                assertEquals("_blank", link.getAttribute("target"));
                assertTrue(link.getAttribute("rel").contains("noopener"));
            }
            // the enlarged view links to the viewer too
            items.get(0).findElement(By.cssSelector(".result")).click();
            WebElement inDialog = driver.findElement(By.id("viewer-pacs"));
            wait.until(d -> inDialog.isDisplayed());
            long first = Long.parseLong(
                    items.get(0).findElement(By.cssSelector(".result")).getAttribute("data-id"));
            assertEquals(expectedLink(first), inDialog.getAttribute("href"));
        } finally {
            driver.quit();
        }
    }

    @Test
    @Order(4)
    void aPacsThatIsDownIs502AndAServerWithoutAPacsRefusesInstances() throws Exception {
        orthanc.stop();
        try {
            JsonNode e = Http.assertError(searchInstance(uids.get(0), 5), 502, "pacs_unavailable");
            assertFalse(e.get("message").asText().contains("127.0.0.1"), "the PACS's address stays in the server");
        } finally {
            orthanc.restart();
        }
        SearchServer plain = SearchServer.start(ServerConfig.defaults().withPort(0), new SearchService(backend, index));
        try {
            HttpResponse<byte[]> r =
                    new Http(plain.port()).post("/api/search", new MultipartBody().field("instance", uids.get(0)));
            Http.assertError(r, 400, "bad_request");
            // and no hit carries a link: the server has no viewer template
            JsonNode a = Http.json(new Http(plain.port())
                    .post("/api/search", new MultipartBody().file("image", "q.dcm", Files.readAllBytes(files.get(0)))));
            assertFalse(a.get("results").get(0).has("viewerUrl"));
            // without the PACS, an image indexed from it cannot be shown: a 404 that says why
            JsonNode e = Http.assertError(
                    new Http(plain.port())
                            .get(a.get("results").get(0).get("thumbnailUrl").asText()),
                    404,
                    "not_found");
            assertTrue(e.get("message").asText().contains("is in the PACS"), e.toString());
        } finally {
            plain.stop();
        }
    }
}
