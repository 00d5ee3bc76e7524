package org.medsearch.dicomweb;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.util.MedsearchException;

/**
 * {@link DicomWebClient} against a local HTTP(S) server that plays a DICOMweb archive: QIDO-RS
 * paging collects every page, WADO-RS asks for DICOM and unpacks multipart answers, credentials
 * are sent, what may pass (connection failures, 5xx, 429) is retried and the rest is not, each
 * failure reaches the caller with its {@link DicomWebException.Kind}, oversized answers are refused
 * without being buffered, bad UIDs never reach the wire, and TLS trusts only what it is told to.
 */
class DicomWebClientTest {

    static final String STUDY = "1.2.826.0.1.3680043.8.498.10";
    static final String SERIES = "1.2.826.0.1.3680043.8.498.11";
    static final String INSTANCE = "1.2.826.0.1.3680043.8.498.12";
    static final String WADO_PATH = "/dicom-web/studies/" + STUDY + "/series/" + SERIES + "/instances/" + INSTANCE;

    /** One request the archive saw. */
    record Seen(String method, String path, String query, String accept, String authorization) {
        Map<String, String> params() {
            Map<String, String> p = new LinkedHashMap<>();
            if (query != null) {
                for (String pair : query.split("&")) {
                    int eq = pair.indexOf('=');
                    p.put(
                            URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8),
                            eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
                }
            }
            return p;
        }
    }

    /** What the archive answers to request number {@code n} (from 0) of a test. */
    interface Route {
        void answer(HttpExchange ex, int n) throws IOException;
    }

    @TempDir
    Path dir;

    private HttpServer server;
    private ExecutorService executor;
    private final List<Seen> seen = new CopyOnWriteArrayList<>();
    private final AtomicInteger count = new AtomicInteger();
    private final CountDownLatch release = new CountDownLatch(1);
    private volatile Route route = (ex, n) -> send(ex, 500, "text/plain", "no route");
    private DicomWebLocation location;

    @BeforeEach
    void startArchive() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        location = serve(server, "dicomweb");
    }

    private DicomWebLocation serve(HttpServer s, String scheme) throws IOException {
        executor = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "fake-archive");
            t.setDaemon(true);
            return t;
        });
        s.setExecutor(executor);
        s.createContext("/", ex -> {
            try (ex) {
                int n = count.getAndIncrement();
                seen.add(new Seen(
                        ex.getRequestMethod(),
                        ex.getRequestURI().getRawPath(),
                        ex.getRequestURI().getRawQuery(),
                        ex.getRequestHeaders().getFirst("Accept"),
                        ex.getRequestHeaders().getFirst("Authorization")));
                route.answer(ex, n);
            } catch (IOException | RuntimeException e) {
                // the client went away (an oversized or stalled answer): nothing left to answer
            }
        });
        s.start();
        return DicomWebLocation.parse(scheme + "://127.0.0.1:" + s.getAddress().getPort() + "/dicom-web");
    }

    @AfterEach
    void stopArchive() {
        release.countDown();
        server.stop(0);
        executor.shutdownNow();
    }

    private DicomWebClient.Builder client() {
        return DicomWebClient.builder()
                .setLocation(location)
                .optTimeout(Duration.ofSeconds(5))
                .optRetries(2, 10);
    }

    // ---------------------------------------------------------------- QIDO-RS

    @Test
    void searchSeriesCollectsEveryPage() throws Exception {
        List<String> uids = uids("1.2.3.4.", 2500);
        route = qidoOver(uids, Integer.MAX_VALUE, false);
        try (DicomWebClient c = client().build()) {
            List<DicomJson> found = c.searchSeries(QidoFilter.of("ct", "20240101-", null));
            assertSeries(uids, found);
            assertEquals("CT", found.get(1234).string(DicomJson.MODALITY));
            assertEquals(List.of(0, 1000, 2000), offsets());
            for (Seen s : seen) {
                assertEquals("/dicom-web/series", s.path());
                Map<String, String> p = s.params();
                assertEquals("CT", p.get("Modality"), s.query());
                assertEquals("20240101-", p.get("StudyDate"), s.query());
                assertFalse(p.containsKey("BodyPartExamined"), s.query());
                assertEquals("1000", p.get("limit"), s.query());
                assertTrue(p.get("includefield").contains(DicomJson.SERIES_INSTANCES), s.query());
                assertTrue(s.accept().contains("application/dicom+json"), s.accept());
                assertEquals("GET", s.method());
                assertNull(s.authorization(), "no credentials were given");
            }
            assertEquals(new DicomWebClient.Counters(3, 0, 0, 0), c.counters());
        }
    }

    @Test
    void aRedirectIsNotFollowedSoTheCredentialsStayWithThePacs() throws Exception {
        HttpServer elsewhere = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        AtomicInteger reached = new AtomicInteger();
        elsewhere.createContext("/", ex -> {
            reached.incrementAndGet();
            send(ex, 200, "application/dicom+json", "[]");
        });
        elsewhere.start();
        try {
            String target = "http://127.0.0.1:" + elsewhere.getAddress().getPort() + "/dicom-web/series";
            route = (ex, n) -> {
                ex.getResponseHeaders().set("Location", target);
                send(ex, 302, "text/plain", "moved");
            };
            try (DicomWebClient c =
                    client().optCredentials(PacsCredentials.basic("u", "p")).build()) {
                DicomWebException e = assertThrows(DicomWebException.class, () -> c.searchSeries(QidoFilter.ALL));
                assertEquals(DicomWebException.Kind.FAILED, e.kind());
                assertTrue(
                        e.getMessage().contains("redirects") && e.getMessage().contains(target), e.getMessage());
            }
            assertEquals(0, reached.get(), "the redirect's target never saw the request (nor the credentials)");
        } finally {
            elsewhere.stop(0);
        }
    }

    @Test
    void aFullLastPageIsFollowedByOneMoreRequest() throws Exception {
        List<String> uids = uids("1.2.3.5.", 2000);
        route = qidoOver(uids, Integer.MAX_VALUE, false);
        try (DicomWebClient c = client().build()) {
            assertEquals(2000, c.searchSeries(QidoFilter.ALL).size());
            assertEquals(List.of(0, 1000, 2000), offsets());
            assertFalse(
                    seen.get(0).params().containsKey("Modality"), seen.get(0).query());
        }
    }

    @Test
    void searchInstancesPagesUnderItsSeries() throws Exception {
        List<String> uids = uids("1.2.3.6.", 1001);
        route = qidoOver(uids, Integer.MAX_VALUE, false);
        try (DicomWebClient c = client().build()) {
            List<DicomJson> found = c.searchInstances(STUDY, SERIES);
            assertEquals(1001, found.size());
            assertEquals(List.of(0, 1000), offsets());
            assertEquals(
                    "/dicom-web/studies/" + STUDY + "/series/" + SERIES + "/instances",
                    seen.get(0).path());
        }
    }

    @Test
    void anArchiveThatCapsItsPagesWithAWarningIsStillReadToTheEnd() throws Exception {
        // PS3.18 8.3.4.4: an origin server may return fewer results than the limit, with a Warning
        List<String> uids = uids("1.2.3.7.", 2500);
        route = qidoOver(uids, 300, true);
        try (DicomWebClient c = client().build()) {
            List<DicomJson> found = c.searchSeries(QidoFilter.ALL);
            assertSeries(uids, found);
            List<Integer> offsets = offsets();
            assertEquals(0, offsets.get(0));
            for (int i = 1; i < offsets.size(); i++) {
                assertEquals(offsets.get(i - 1) + 300, offsets.get(i), "offsets " + offsets);
            }
        }
    }

    @Test
    void anArchiveThatIgnoresLimitAndOffsetDoesNotMakeItLoop() throws Exception {
        List<String> uids = uids("1.2.3.8.", 1500);
        route = (ex, n) -> send(ex, 200, "application/dicom+json", seriesJson(uids));
        try (DicomWebClient c = client().build()) {
            List<DicomJson> found =
                    assertTimeoutPreemptively(Duration.ofSeconds(10), () -> c.searchSeries(QidoFilter.ALL));
            assertSeries(uids, found);
            assertEquals(1, seen.size(), "the whole list came at once");
        }
    }

    @Test
    void anArchiveThatIgnoresOffsetIsRefusedRatherThanLoopedOn() throws Exception {
        List<String> uids = uids("1.2.3.9.", 2500);
        route = (ex, n) -> send(ex, 200, "application/dicom+json", seriesJson(uids.subList(0, 1000)));
        try (DicomWebClient c = client().build()) {
            DicomWebException e = assertTimeoutPreemptively(
                    Duration.ofSeconds(10),
                    () -> assertThrows(DicomWebException.class, () -> c.searchSeries(QidoFilter.ALL)));
            assertEquals(DicomWebException.Kind.FAILED, e.kind());
            assertTrue(e.getMessage().contains("offset"), e.getMessage());
            assertEquals(2, seen.size(), "the repeated page ends it");
        }
    }

    @Test
    void noContentIsAnEmptyAnswer() throws Exception {
        route = (ex, n) -> {
            ex.sendResponseHeaders(204, -1);
        };
        try (DicomWebClient c = client().build()) {
            c.probe();
            assertTrue(c.searchSeries(QidoFilter.ALL).isEmpty());
            assertEquals("/dicom-web/studies", seen.get(0).path());
            assertEquals("1", seen.get(0).params().get("limit"));
            assertEquals(List.of(-1, 0), offsets(), "the probe, then the first page");
        }
    }

    @Test
    void findInstanceKeepsOnlyTheInstanceAsked() throws Exception {
        route = (ex, n) -> send(
                ex,
                200,
                "application/dicom+json",
                "[{\"00080018\":{\"vr\":\"UI\",\"Value\":[\"9.9\"]}},"
                        + "{\"00080018\":{\"vr\":\"UI\",\"Value\":[\"" + INSTANCE + "\"]},"
                        + "\"0020000D\":{\"vr\":\"UI\",\"Value\":[\"" + STUDY + "\"]}}]");
        try (DicomWebClient c = client().build()) {
            Optional<DicomJson> found = c.findInstance(INSTANCE);
            assertTrue(found.isPresent());
            assertEquals(STUDY, found.get().string(DicomJson.STUDY_UID));
            assertEquals("/dicom-web/instances", seen.get(0).path());
            assertEquals(INSTANCE, seen.get(0).params().get("SOPInstanceUID"));
            assertFalse(c.findInstance("1.2.3").isPresent());
        }
    }

    // ---------------------------------------------------------------- WADO-RS

    @Test
    void retrieveUnpacksTheMultipartAnswerAndAsksForDicom() throws Exception {
        byte[] dicom = randomBytes(70_000, 1);
        route = (ex, n) -> sendMultipart(ex, "XbOuNdArY", dicom);
        try (DicomWebClient c = client().build()) {
            assertArrayEquals(dicom, c.retrieve(STUDY, SERIES, INSTANCE));
            Seen s = seen.get(0);
            assertEquals(WADO_PATH, s.path());
            assertTrue(s.accept().startsWith("multipart/related"), s.accept());
            assertTrue(s.accept().contains("type=\"application/dicom\""), s.accept());
            assertTrue(s.accept().contains("transfer-syntax=*"), s.accept());
            DicomWebClient.Counters k = c.counters();
            assertEquals(1, k.retrievals());
            assertEquals(dicom.length, k.bytes());
            assertEquals(1, k.requests());
        }
    }

    @Test
    void retrieveTakesASinglePartAnswerAsIs() throws Exception {
        byte[] dicom = randomBytes(5000, 2);
        route = (ex, n) -> send(ex, 200, "application/dicom", dicom);
        try (DicomWebClient c = client().build()) {
            assertArrayEquals(dicom, c.retrieve(STUDY, SERIES, INSTANCE));
        }
    }

    @Test
    void retrieveRefusesAnEmptyMultipartOrAnHtmlAnswer() throws Exception {
        route = (ex, n) -> {
            if (n == 0) {
                send(ex, 200, "multipart/related; type=\"application/dicom\"; boundary=b", "--b--\r\n");
            } else {
                send(ex, 200, "text/html", "<html><body>Welcome</body></html>");
            }
        };
        try (DicomWebClient c = client().build()) {
            assertEquals(DicomWebException.Kind.FAILED, kindOf(() -> c.retrieve(STUDY, SERIES, INSTANCE)));
            assertEquals(DicomWebException.Kind.NOT_DICOMWEB, kindOf(() -> c.retrieve(STUDY, SERIES, INSTANCE)));
            assertEquals(0, c.counters().retrievals());
        }
    }

    @Test
    void anArchiveRefusingAnySyntaxIsAskedForItsDefaultFromThenOn() throws Exception {
        byte[] dicom = randomBytes(1000, 3);
        route = (ex, n) -> {
            String accept = ex.getRequestHeaders().getFirst("Accept");
            if (accept.contains("transfer-syntax")) {
                send(ex, 406, "text/plain", "not acceptable");
            } else {
                sendMultipart(ex, "bb", dicom);
            }
        };
        try (DicomWebClient c = client().build()) {
            assertArrayEquals(dicom, c.retrieve(STUDY, SERIES, INSTANCE));
            assertEquals(2, seen.size());
            assertTrue(
                    seen.get(0).accept().contains("transfer-syntax=*"),
                    seen.get(0).accept());
            assertFalse(
                    seen.get(1).accept().contains("transfer-syntax"),
                    seen.get(1).accept());
            assertTrue(
                    seen.get(1).accept().contains("type=\"application/dicom\""),
                    seen.get(1).accept());
            assertEquals(WADO_PATH, seen.get(1).path());

            assertArrayEquals(dicom, c.retrieve(STUDY, SERIES, INSTANCE));
            assertEquals(3, seen.size(), "the second retrieval goes straight to the default syntax");
            assertFalse(
                    seen.get(2).accept().contains("transfer-syntax"),
                    seen.get(2).accept());
            assertEquals(0, c.counters().retries(), "a 406 is no retry");
        }
    }

    @Test
    void aMissingInstanceIsNoSuchInstance() throws Exception {
        route = (ex, n) -> send(ex, 404, "application/json", "{\"Message\":\"Unknown resource\"}");
        try (DicomWebClient c = client().build()) {
            DicomWebException e = assertThrows(DicomWebException.class, () -> c.retrieve(STUDY, SERIES, INSTANCE));
            assertEquals(DicomWebException.Kind.NO_SUCH_INSTANCE, e.kind());
            assertTrue(e.getMessage().contains(INSTANCE), e.getMessage());
            assertEquals(1, seen.size(), "a 404 is final");
        }
    }

    @Test
    void anAnswerDeclaredOverTheCapIsRefusedUnread() throws Exception {
        route = (ex, n) -> {
            ex.getResponseHeaders().set("Content-Type", "application/dicom");
            ex.sendResponseHeaders(200, 1L << 30); // declares a GiB, sends 64 KiB, then waits
            OutputStream out = ex.getResponseBody();
            out.write(new byte[64 * 1024]);
            out.flush();
            awaitRelease();
        };
        try (DicomWebClient c = client().optMaxInstanceBytes(1000).build()) {
            DicomWebException e = assertTimeoutPreemptively(
                    Duration.ofSeconds(4),
                    () -> assertThrows(DicomWebException.class, () -> c.retrieve(STUDY, SERIES, INSTANCE)));
            assertEquals(DicomWebException.Kind.TOO_LARGE, e.kind());
            assertTrue(e.getMessage().contains("larger than 1000 bytes"), e.getMessage());
            assertEquals(1, seen.size(), "too large is final");
            assertEquals(0, c.counters().bytes());
        }
    }

    @Test
    void anEndlessAnswerIsCutAtTheCap() throws Exception {
        AtomicInteger written = new AtomicInteger();
        route = (ex, n) -> {
            ex.getResponseHeaders().set("Content-Type", "application/dicom");
            ex.sendResponseHeaders(200, 0); // chunked, no length
            OutputStream out = ex.getResponseBody();
            byte[] chunk = new byte[16 * 1024];
            for (int i = 0; i < 64 * 1024 && release.getCount() > 0; i++) { // up to a GiB
                out.write(chunk);
                written.addAndGet(chunk.length);
            }
        };
        long cap = 200_000;
        try (DicomWebClient c = client().optMaxInstanceBytes(cap).build()) {
            DicomWebException e = assertTimeoutPreemptively(
                    Duration.ofSeconds(10),
                    () -> assertThrows(DicomWebException.class, () -> c.retrieve(STUDY, SERIES, INSTANCE)));
            assertEquals(DicomWebException.Kind.TOO_LARGE, e.kind());
            assertTrue(written.get() < 256 << 20, "the server wrote " + written.get() + " bytes");
        }
    }

    @Test
    void anAnswerJustUnderTheCapIsAccepted() throws Exception {
        byte[] dicom = randomBytes(100_000, 4);
        route = (ex, n) -> sendMultipart(ex, "cap", dicom);
        try (DicomWebClient c = client().optMaxInstanceBytes(dicom.length).build()) {
            assertArrayEquals(dicom, c.retrieve(STUDY, SERIES, INSTANCE));
        }
    }

    @Test
    void aStalledBodyEndsInAFailureNotATruncatedInstance() throws Exception {
        route = (ex, n) -> {
            ex.getResponseHeaders().set("Content-Type", "application/dicom");
            ex.sendResponseHeaders(200, 100_000);
            ex.getResponseBody().write(new byte[1000]);
            ex.getResponseBody().flush();
            awaitRelease();
        };
        try (DicomWebClient c =
                client().optTimeout(Duration.ofMillis(150)).optRetries(0, 10).build()) {
            DicomWebException e = assertTimeoutPreemptively(
                    Duration.ofSeconds(8),
                    () -> assertThrows(DicomWebException.class, () -> c.retrieve(STUDY, SERIES, INSTANCE)));
            assertEquals(DicomWebException.Kind.UNREACHABLE, e.kind(), e.getMessage());
            assertEquals(0, c.counters().retrievals());
        }
    }

    @Test
    void uidsThatAreNotDigitsAndDotsNeverReachTheArchive() throws Exception {
        route = (ex, n) -> send(ex, 200, "application/dicom+json", "[]");
        try (DicomWebClient c = client().build()) {
            for (String bad : List.of(
                    "",
                    "1.2.abc",
                    "1.2.3/../../../instances",
                    "1.2.3?x=1",
                    "1.2.3%2F4",
                    " 1.2.3",
                    "1.2.3\n",
                    "1.2-3",
                    "\u0661.\u0662", // Arabic-Indic digits
                    "1." + "2".repeat(63))) {
                assertThrows(MedsearchException.class, () -> c.retrieve(bad, SERIES, INSTANCE), bad);
                assertThrows(MedsearchException.class, () -> c.retrieve(STUDY, bad, INSTANCE), bad);
                assertThrows(MedsearchException.class, () -> c.retrieve(STUDY, SERIES, bad), bad);
                assertThrows(MedsearchException.class, () -> c.searchInstances(bad, SERIES), bad);
                assertThrows(MedsearchException.class, () -> c.searchInstances(STUDY, bad), bad);
                assertThrows(MedsearchException.class, () -> c.findInstance(bad), bad);
            }
            assertThrows(MedsearchException.class, () -> c.retrieve(STUDY, SERIES, null));
            assertEquals(0, count.get(), "requests the archive saw: " + seen);
            assertEquals(0, c.counters().requests());
            c.searchInstances("1." + "2".repeat(62), SERIES); // 64 characters: the longest UID
            assertEquals(1, count.get());
        }
    }

    // ---------------------------------------------------------------- credentials

    @Test
    void sendsBasicCredentials() throws Exception {
        route = (ex, n) -> send(ex, 200, "application/dicom+json", "[]");
        try (DicomWebClient c =
                client().optCredentials(PacsCredentials.basic("ris", "pa:ss")).build()) {
            c.probe();
            c.searchSeries(QidoFilter.ALL);
        }
        assertEquals(2, seen.size());
        for (Seen s : seen) {
            assertTrue(s.authorization().startsWith("Basic "), s.authorization());
            assertEquals(
                    "ris:pa:ss",
                    new String(Base64.getDecoder().decode(s.authorization().substring(6)), StandardCharsets.UTF_8));
        }
    }

    @Test
    void sendsABearerToken() throws Exception {
        byte[] dicom = randomBytes(10, 5);
        route = (ex, n) -> sendMultipart(ex, "b", dicom);
        try (DicomWebClient c =
                client().optCredentials(PacsCredentials.bearer("eyJ0.abc-_")).build()) {
            c.retrieve(STUDY, SERIES, INSTANCE);
        }
        assertEquals("Bearer eyJ0.abc-_", seen.get(0).authorization());
    }

    @Test
    void unauthorizedIsCredentialsWithAMessageForEachCase() throws Exception {
        route = (ex, n) -> {
            ex.getResponseHeaders().set("WWW-Authenticate", "Basic realm=\"pacs\"");
            send(ex, 401, "text/plain", "unauthorized");
        };
        String without;
        try (DicomWebClient c = client().build()) {
            DicomWebException e = assertThrows(DicomWebException.class, c::probe);
            assertEquals(DicomWebException.Kind.CREDENTIALS, e.kind());
            without = e.getMessage();
            assertTrue(without.contains("asks for credentials"), without);
            assertTrue(without.contains(PacsCredentials.ENV), without);
        }
        assertEquals(1, seen.size(), "a 401 is final");
        try (DicomWebClient c =
                client().optCredentials(PacsCredentials.basic("ris", "wrong")).build()) {
            DicomWebException e = assertThrows(DicomWebException.class, c::probe);
            assertEquals(DicomWebException.Kind.CREDENTIALS, e.kind());
            assertTrue(e.getMessage().contains("refused the credentials"), e.getMessage());
            assertFalse(e.getMessage().contains("wrong"), e.getMessage());
            assertNotEquals(without, e.getMessage());
        }
        route = (ex, n) -> send(ex, 403, "text/plain", "forbidden");
        try (DicomWebClient c =
                client().optCredentials(PacsCredentials.bearer("t")).build()) {
            assertEquals(DicomWebException.Kind.CREDENTIALS, kindOf(() -> c.retrieve(STUDY, SERIES, INSTANCE)));
        }
    }

    // ---------------------------------------------------------------- not DICOMweb

    @Test
    void anHtmlPageIsNotDicomWeb() throws Exception {
        route = (ex, n) -> send(ex, 200, "text/html", "<!DOCTYPE html><html><body>Login</body></html>");
        try (DicomWebClient c = client().build()) {
            DicomWebException e = assertThrows(DicomWebException.class, c::probe);
            assertEquals(DicomWebException.Kind.NOT_DICOMWEB, e.kind());
            assertTrue(e.getMessage().contains("text/html"), e.getMessage());
            assertEquals(1, seen.size());
        }
    }

    @Test
    void otherNonDicomWebAnswers() throws Exception {
        List<Route> answers = List.of(
                (ex, n) -> send(ex, 404, "text/plain", "Not Found"),
                (ex, n) -> send(ex, 405, "text/plain", "Method Not Allowed"),
                (ex, n) -> send(ex, 200, "application/json", "{\"studies\":[]}"),
                (ex, n) -> send(ex, 200, "application/json", "[1, 2]"),
                (ex, n) -> send(ex, 200, "application/dicom+json", "[{\"0020000D\":"));
        for (Route r : answers) {
            route = r;
            try (DicomWebClient c = client().build()) {
                assertEquals(DicomWebException.Kind.NOT_DICOMWEB, kindOf(c::probe));
                assertEquals(DicomWebException.Kind.NOT_DICOMWEB, kindOf(() -> c.searchSeries(QidoFilter.ALL)));
                assertEquals(0, c.counters().retries());
            }
        }
    }

    @Test
    void anotherFinalAnswerIsFailed() throws Exception {
        route = (ex, n) -> send(ex, 400, "text/plain", "bad\nrequest");
        try (DicomWebClient c = client().build()) {
            DicomWebException e = assertThrows(DicomWebException.class, c::probe);
            assertEquals(DicomWebException.Kind.FAILED, e.kind());
            assertTrue(e.getMessage().contains("HTTP 400"), e.getMessage());
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
            assertEquals(1, seen.size());
        }
    }

    // ---------------------------------------------------------------- retries

    @Test
    void aServiceUnavailableIsRetriedUntilItPasses() throws Exception {
        route = (ex, n) -> {
            if (n < 2) {
                send(ex, 503, "text/plain", "starting");
            } else {
                send(ex, 200, "application/dicom+json", seriesJson(List.of("1.2.3")));
            }
        };
        try (DicomWebClient c = client().build()) {
            assertEquals(1, c.searchSeries(QidoFilter.ALL).size());
            assertEquals(new DicomWebClient.Counters(3, 0, 0, 2), c.counters());
            assertEquals(3, seen.size());
        }
    }

    @Test
    void timeoutTooManyAndBadGatewayAreRetriedOtherFourHundredsAreNot() throws Exception {
        int[] statuses = {408, 429, 502};
        route = (ex, n) -> {
            if (n < statuses.length) {
                send(ex, statuses[n], "text/plain", "later");
            } else {
                send(ex, 200, "application/dicom+json", "[]");
            }
        };
        try (DicomWebClient c = client().optRetries(3, 10).build()) {
            c.probe();
            assertEquals(new DicomWebClient.Counters(4, 0, 0, 3), c.counters());
        }
        seen.clear();
        route = (ex, n) -> send(ex, 429, "text/plain", "slow down");
        try (DicomWebClient c = client().optRetries(1, 10).build()) {
            DicomWebException e = assertThrows(DicomWebException.class, c::probe);
            assertEquals(DicomWebException.Kind.FAILED, e.kind());
            assertTrue(e.getMessage().contains("HTTP 429"), e.getMessage());
            assertEquals(2, seen.size());
        }
    }

    @Test
    void tooManyRequestsWaitsForRetryAfter() throws Exception {
        route = (ex, n) -> {
            if (n == 0) {
                ex.getResponseHeaders().set("Retry-After", "1");
                send(ex, 429, "text/plain", "slow down");
            } else {
                sendMultipart(ex, "b", new byte[] {1, 2, 3});
            }
        };
        try (DicomWebClient c = client().build()) {
            long start = System.nanoTime();
            assertArrayEquals(new byte[] {1, 2, 3}, c.retrieve(STUDY, SERIES, INSTANCE));
            long millis = (System.nanoTime() - start) / 1_000_000;
            assertTrue(millis >= 950, "waited " + millis + " ms, not the second asked");
            assertTrue(millis < 5000, "waited " + millis + " ms");
            assertEquals(1, c.counters().retries());
        }
    }

    @Test
    void aPersistentServerErrorIsUnreachableAfterTheRetries() throws Exception {
        route = (ex, n) -> send(ex, 500, "text/plain", "internal error");
        try (DicomWebClient c = client().build()) {
            DicomWebException e = assertThrows(DicomWebException.class, c::probe);
            assertEquals(DicomWebException.Kind.UNREACHABLE, e.kind());
            assertTrue(e.getMessage().contains("HTTP 500"), e.getMessage());
            assertTrue(e.getMessage().contains("internal error"), e.getMessage());
            assertEquals(3, seen.size(), "the first request and two retries");
            assertEquals(new DicomWebClient.Counters(3, 0, 0, 2), c.counters());
        }
    }

    @Test
    void aClosedPortIsUnreachableConnectionRefused() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        DicomWebLocation closed = DicomWebLocation.parse("dicomweb://127.0.0.1:" + port + "/dicom-web");
        try (DicomWebClient c = client().setLocation(closed).build()) {
            long start = System.nanoTime();
            DicomWebException e = assertThrows(DicomWebException.class, c::probe);
            assertEquals(DicomWebException.Kind.UNREACHABLE, e.kind());
            assertTrue(e.getMessage().contains("connection refused"), e.getMessage());
            assertTrue(e.getMessage().contains("after 3 attempts"), e.getMessage());
            assertTrue(e.getMessage().contains(closed.toString()), e.getMessage());
            assertEquals(new DicomWebClient.Counters(3, 0, 0, 2), c.counters());
            assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(3));
        }
    }

    @Test
    void anArchiveThatNeverAnswersIsUnreachableQuickly() throws Exception {
        route = (ex, n) -> awaitRelease();
        try (DicomWebClient c =
                client().optTimeout(Duration.ofMillis(300)).optRetries(1, 10).build()) {
            long start = System.nanoTime();
            DicomWebException e = assertTimeoutPreemptively(
                    Duration.ofSeconds(5), () -> assertThrows(DicomWebException.class, c::probe));
            long millis = (System.nanoTime() - start) / 1_000_000;
            assertEquals(DicomWebException.Kind.UNREACHABLE, e.kind());
            assertTrue(e.getMessage().contains("no answer within"), e.getMessage());
            assertTrue(millis >= 600, "two attempts of 300 ms took " + millis + " ms");
            assertTrue(millis < 3000, "took " + millis + " ms");
            assertEquals(2, c.counters().requests());
        }
    }

    // ---------------------------------------------------------------- TLS

    @Test
    void tlsTrustsOnlyTheTrustStoreGiven() throws Exception {
        Tls tls = tlsServer("san=ip:127.0.0.1");
        // the JDK's own trust store does not know a self-signed certificate
        try (DicomWebClient c = client().setLocation(location).build()) {
            DicomWebException e = assertThrows(DicomWebException.class, c::probe);
            assertEquals(DicomWebException.Kind.TLS, e.kind(), e.getMessage());
            assertEquals(1, c.counters().requests(), "a TLS failure is final");
        }
        try (DicomWebClient c = client().optTrustStore(tls.pem()).build()) {
            c.probe();
        }
        try (DicomWebClient c = client().optTrustStore(tls.trustOnlyP12()).build()) {
            c.probe();
        }
        assertEquals(2, seen.size(), "the untrusted attempt never got to HTTP");
    }

    @Test
    void tlsVerifiesTheHostName() throws Exception {
        Tls tls = tlsServer("san=dns:elsewhere.invalid");
        try (DicomWebClient c = client().optTrustStore(tls.pem()).build()) {
            DicomWebException e = assertThrows(DicomWebException.class, c::probe);
            assertEquals(DicomWebException.Kind.TLS, e.kind(), e.getMessage());
            assertTrue(e.getMessage().contains("does not name 127.0.0.1"), e.getMessage());
        }
        assertEquals(0, seen.size());
    }

    @Test
    void anUnreadableTrustStoreIsRefusedNamingIt() throws Exception {
        Tls tls = tlsServer("san=ip:127.0.0.1");
        for (Path bad : List.of(
                tls.keyStore(), // a PKCS#12 with a password
                Files.writeString(dir.resolve("empty.pem"), "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"),
                Files.writeString(dir.resolve("garbage.p12"), "not a key store"),
                dir.resolve("missing.pem"))) {
            MedsearchException e = assertThrows(
                    MedsearchException.class, () -> client().optTrustStore(bad).build(), bad.toString());
            assertTrue(e.getMessage().contains(bad.toString()), e.getMessage());
        }
    }

    /** A self-signed certificate made by keytool, and an HTTPS archive that serves it. */
    record Tls(Path keyStore, Path pem, Path trustOnlyP12) {}

    @TempDir
    static Path keys;

    private static final Map<String, Tls> MADE = new ConcurrentHashMap<>();

    /** The certificate for {@code san} (made once), served by an HTTPS archive from now on. */
    private Tls tlsServer(String san) throws Exception {
        Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
        assumeTrue(Files.isExecutable(keytool), "no keytool in " + keytool);
        Tls tls = MADE.get(san);
        if (tls == null) {
            tls = makeCertificate(keytool, san, keys.resolve("k" + MADE.size()));
            MADE.put(san, tls);
        }
        return serveTls(tls);
    }

    private static Tls makeCertificate(Path keytool, String san, Path where) throws Exception {
        Files.createDirectories(where);
        Path p12 = where.resolve("pacs.p12");
        keytool(
                keytool,
                "-genkeypair",
                "-alias",
                "pacs",
                "-keyalg",
                "EC",
                "-groupname",
                "secp256r1",
                "-dname",
                "CN=medsearch test PACS",
                "-ext",
                san,
                "-validity",
                "2",
                "-storetype",
                "PKCS12",
                "-keystore",
                p12.toString(),
                "-storepass",
                "changeit",
                "-keypass",
                "changeit");
        Path pem = where.resolve("pacs.pem");
        keytool(
                keytool,
                "-exportcert",
                "-rfc",
                "-alias",
                "pacs",
                "-keystore",
                p12.toString(),
                "-storepass",
                "changeit",
                "-file",
                pem.toString());
        assertTrue(Files.readString(pem).startsWith("-----BEGIN CERTIFICATE-----"));
        // a trust store without password: no MAC, certificates unencrypted
        Path trust = where.resolve("trust.p12");
        keytool(
                keytool,
                "-J-Dkeystore.pkcs12.certProtectionAlgorithm=NONE",
                "-J-Dkeystore.pkcs12.macAlgorithm=NONE",
                "-importcert",
                "-noprompt",
                "-alias",
                "pacs",
                "-file",
                pem.toString(),
                "-storetype",
                "PKCS12",
                "-keystore",
                trust.toString(),
                "-storepass",
                "changeit");
        return new Tls(p12, pem, trust);
    }

    private Tls serveTls(Tls tls) throws Exception {
        Path p12 = tls.keyStore();
        KeyStore ks = KeyStore.getInstance(p12.toFile(), "changeit".toCharArray());
        Certificate cert = ks.getCertificate("pacs");
        assertTrue(cert != null, "keytool made no certificate");
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, "changeit".toCharArray());
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), null, null);

        // the plain archive of @BeforeEach gives way to an HTTPS one
        server.stop(0);
        executor.shutdownNow();
        HttpsServer https = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        https.setHttpsConfigurator(new HttpsConfigurator(ctx));
        server = https;
        location = serve(https, "dicomwebs");
        route = (ex, n) -> send(ex, 200, "application/dicom+json", "[]");
        return tls;
    }

    private static void keytool(Path keytool, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(keytool.toString());
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        byte[] output = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "keytool hangs");
        assertEquals(0, p.exitValue(), () -> "keytool " + command + ": " + new String(output, StandardCharsets.UTF_8));
    }

    // ---------------------------------------------------------------- the fake archive

    /** QIDO over {@code uids}, honouring limit and offset, at most {@code cap} a page. */
    private static Route qidoOver(List<String> uids, int cap, boolean warn) {
        return (ex, n) -> {
            Map<String, String> p = new Seen("", "", ex.getRequestURI().getRawQuery(), null, null).params();
            int offset = Integer.parseInt(p.getOrDefault("offset", "0"));
            int limit = Math.min(cap, Integer.parseInt(p.getOrDefault("limit", "100000")));
            int from = Math.min(offset, uids.size());
            int to = Math.min(uids.size(), from + limit);
            if (warn && to < uids.size() && to - from < Integer.parseInt(p.getOrDefault("limit", "0"))) {
                ex.getResponseHeaders()
                        .set(
                                "Warning",
                                "299 localhost: The number of results exceeded the maximum supported by the server."
                                        + " Additional results can be requested.");
            }
            send(ex, 200, "application/dicom+json", seriesJson(uids.subList(from, to)));
        };
    }

    /** The series UIDs found are {@code expected}, in order (a short message when not). */
    private static void assertSeries(List<String> expected, List<DicomJson> found) {
        List<String> got =
                found.stream().map(d -> d.string(DicomJson.SERIES_UID)).toList();
        assertEquals(expected.size(), got.size(), "series found");
        for (int i = 0; i < expected.size(); i++) {
            assertEquals(expected.get(i), got.get(i), "series " + i);
        }
    }

    private List<Integer> offsets() {
        List<Integer> out = new ArrayList<>();
        for (Seen s : seen) {
            out.add(Integer.parseInt(s.params().getOrDefault("offset", "-1")));
        }
        return out;
    }

    private static List<String> uids(String prefix, int n) {
        List<String> out = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
            out.add(prefix + i);
        }
        return out;
    }

    private static String seriesJson(List<String> uids) {
        StringBuilder b = new StringBuilder("[");
        for (String uid : uids) {
            if (b.length() > 1) {
                b.append(',');
            }
            b.append("{\"0020000E\":{\"vr\":\"UI\",\"Value\":[\"")
                    .append(uid)
                    .append("\"]},\"00080060\":{\"vr\":\"CS\",\"Value\":[\"CT\"]}}");
        }
        return b.append(']').toString();
    }

    private static void send(HttpExchange ex, int status, String contentType, String body) throws IOException {
        send(ex, status, contentType, body.getBytes(StandardCharsets.UTF_8));
    }

    private static void send(HttpExchange ex, int status, String contentType, byte[] body) throws IOException {
        ex.getResponseHeaders().set("Content-Type", contentType);
        ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(body);
        }
    }

    private static void sendMultipart(HttpExchange ex, String boundary, byte[] dicom) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(("--" + boundary + "\r\nContent-Type: application/dicom; transfer-syntax=1.2.840.10008.1.2.1"
                        + "\r\n\r\n")
                .getBytes(StandardCharsets.ISO_8859_1));
        b.writeBytes(dicom);
        b.writeBytes(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.ISO_8859_1));
        send(ex, 200, "multipart/related; type=\"application/dicom\"; boundary=\"" + boundary + "\"", b.toByteArray());
    }

    private void awaitRelease() {
        try {
            release.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Bytes with CR, LF and dashes among them, as a DICOM file has. */
    private static byte[] randomBytes(int n, long seed) {
        byte[] b = new byte[n];
        new SplittableRandom(seed).nextBytes(b);
        for (int i = 0; i + 4 < n; i += 97) {
            b[i] = '\r';
            b[i + 1] = '\n';
            b[i + 2] = '-';
            b[i + 3] = '-';
        }
        return b;
    }

    interface Call {
        void run() throws Exception;
    }

    private static DicomWebException.Kind kindOf(Call call) {
        DicomWebException e = assertThrows(DicomWebException.class, call::run);
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        return e.kind();
    }
}
