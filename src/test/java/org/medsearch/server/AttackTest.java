package org.medsearch.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.testutil.HostileImages;
import org.medsearch.testutil.TestImages;

/**
 * What a hostile client found (issue 10), each kept as a test over real HTTP to 127.0.0.1: uploads
 * that trickle in, decompression bombs that count samples and frames rather than pixels, foreign
 * web origins, absurd part headers, and parameters that must be refused before any decode.
 */
class AttackTest {

    static final String ALLOWED = "https://viewer.example.org";

    @TempDir
    static Path scratch;

    static Fixture.Built built;
    /** Defaults, writes on, CORS for {@link #ALLOWED}, no rate cut-off (tricklers stay open). */
    static Fixture.Running server;

    @BeforeAll
    static void start() throws Exception {
        built = Fixture.synthetic();
        server = Fixture.start(
                built,
                ServerConfig.defaults()
                        .withToken(Fixture.TOKEN)
                        .withCorsOrigin(ALLOWED)
                        .withUploadPace(0, Duration.ofSeconds(120)),
                scratch);
    }

    @AfterAll
    static void stop() throws Exception {
        if (server != null) {
            server.close();
        }
    }

    static byte[] png(int seed) throws Exception {
        return TestImages.png(TestImages.pattern("disc", 64, new Random(seed)));
    }

    // ---------------------------------------------------------------- slow uploads

    /** A search whose body trickles in, one byte at a time, every {@code periodMillis}. */
    static final class Trickler implements AutoCloseable {
        final Socket socket;
        final Thread thread;
        volatile boolean stop;

        Trickler(int port, long periodMillis, int declared) throws IOException {
            socket = new Socket("127.0.0.1", port);
            socket.setSoTimeout(60_000);
            OutputStream out = socket.getOutputStream();
            String head = "POST /api/search HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\n"
                    + "Content-Type: multipart/form-data; boundary=b0undary\r\nContent-Length: " + declared + "\r\n\r\n"
                    + "--b0undary\r\nContent-Disposition: form-data; name=\"image\"; filename=\"q.png\"\r\n\r\n";
            out.write(head.getBytes(StandardCharsets.US_ASCII));
            out.flush();
            thread = new Thread(
                    () -> {
                        try {
                            while (!stop) {
                                out.write(0);
                                out.flush();
                                Thread.sleep(periodMillis);
                            }
                        } catch (IOException | InterruptedException e) {
                            // cut off by the server, or stopped
                        }
                    },
                    "trickler");
            thread.setDaemon(true);
            thread.start();
        }

        /** The status line's code of the answer, however long it takes (up to the socket timeout). */
        int status() throws IOException {
            InputStream in = socket.getInputStream();
            StringBuilder line = new StringBuilder();
            for (int c; (c = in.read()) >= 0 && c != '\n'; ) {
                line.append((char) c);
            }
            String[] parts = line.toString().split(" ");
            return parts.length > 1 ? Integer.parseInt(parts[1]) : -1;
        }

        @Override
        public void close() throws IOException {
            stop = true;
            thread.interrupt();
            socket.close();
        }
    }

    @Test
    void fourTricklingUploadsDelayNoSearchAndNoThumbnail() throws Exception {
        List<Trickler> tricklers = new ArrayList<>();
        try {
            for (int i = 0; i < 4; i++) {
                tricklers.add(new Trickler(server.server.port(), 1000, 200_000));
            }
            Thread.sleep(1500); // every trickler is mid-body now
            byte[] query = png(3);
            long[] ms = new long[50];
            for (int i = 0; i < ms.length; i++) {
                long t0 = System.nanoTime();
                HttpResponse<byte[]> r = server.http.search(query);
                ms[i] = (System.nanoTime() - t0) / 1_000_000;
                assertEquals(200, r.statusCode(), Http.text(r));
            }
            Arrays.sort(ms);
            long p99 = ms[(int) Math.ceil(0.99 * ms.length) - 1];
            System.out.printf("with 4 trickling uploads: 50 searches, p50 %d ms, p99 %d ms%n", ms[ms.length / 2], p99);
            assertTrue(p99 < 1000, "p99 " + p99 + " ms with 4 trickling uploads: " + Arrays.toString(ms));
            long t0 = System.nanoTime();
            HttpResponse<byte[]> thumb = server.http.get("/api/images/0/thumbnail");
            assertEquals(200, thumb.statusCode(), Http.text(thumb));
            assertTrue(System.nanoTime() - t0 < 1_000_000_000L, "a thumbnail waited behind the tricklers");
        } finally {
            for (Trickler t : tricklers) {
                t.close();
            }
        }
    }

    @Test
    void slowStalledAndLateUploadsAreCutOffWith408() throws Exception {
        ServerConfig cfg = ServerConfig.defaults().withUploadPace(4096, Duration.ofSeconds(8));
        try (Fixture.Running s = Fixture.start(built, cfg, scratch.resolve("paced"));
                Trickler slow = new Trickler(s.server.port(), 200, 200_000); // 5 B/s: under the rate
                Trickler stalled = new Trickler(s.server.port(), 3_600_000, 200_000)) { // one byte, then silence
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try {
                long t0 = System.nanoTime();
                List<Future<Integer>> answers = List.of(pool.submit(slow::status), pool.submit(stalled::status));
                for (Future<Integer> a : answers) {
                    assertEquals(408, a.get(30, TimeUnit.SECONDS));
                }
                double seconds = (System.nanoTime() - t0) / 1e9;
                System.out.printf("a 5 B/s upload and a stalled one: both 408 after %.1f s%n", seconds);
                assertTrue(seconds < 8 + 4, "cut off after " + seconds + " s");
            } finally {
                pool.shutdownNow();
            }
            // the server still answers
            assertEquals(200, s.http.search(png(4)).statusCode());
        }
    }

    @Test
    void anUploadAboveTheRateButPastTheDeadlineGets408() throws Exception {
        ServerConfig cfg = ServerConfig.defaults().withUploadPace(1024, Duration.ofSeconds(3));
        try (Fixture.Running s = Fixture.start(built, cfg, scratch.resolve("deadline"));
                Trickler steady = new Trickler(s.server.port(), 0, 30_000_000)) {
            // 30 MB at whatever rate this loop reaches with a 1-byte write and flush per step is far above
            // 1 KiB/s and far slower than 10 MB/s: the deadline, not the rate, cuts it off
            long t0 = System.nanoTime();
            int status = steady.status();
            double seconds = (System.nanoTime() - t0) / 1e9;
            assertEquals(408, status);
            assertTrue(seconds < 3 + 4, "cut off after " + seconds + " s");
        }
    }

    // ---------------------------------------------------------------- decompression bombs

    static void assertRefusedBeforeDecoding(byte[] file, String what) throws Exception {
        long t0 = System.nanoTime();
        HttpResponse<byte[]> r = server.http.search(file);
        double seconds = (System.nanoTime() - t0) / 1e9;
        System.out.printf("%s (%d bytes): %d in %.3f s%n", what, file.length, r.statusCode(), seconds);
        JsonNode j = Http.assertError(r, 422, "invalid_image");
        assertTrue(j.path("message").asText().contains("over the limit"), what + ": " + j);
        assertTrue(seconds < 2, what + " took " + seconds + " s: decoded rather than refused from its header");
    }

    @Test
    void aTiffWithManySamplesPerPixelIsRefusedFromItsHeader() throws Exception {
        byte[] tiff = HostileImages.tiff(4096, 4096, 64);
        assertTrue(tiff.length < 4 << 20, "a small file: " + tiff.length);
        assertRefusedBeforeDecoding(tiff, "TIFF 4096x4096x64");
    }

    @Test
    void a16BitRgbaPngOfTheMaximumPixelCountIsRefusedFromItsHeader() throws Exception {
        byte[] png = HostileImages.png(8192, 8192, 6, 16); // 64 MP: within --max-pixels, 768 MiB decoded
        assertTrue(png.length < 32 << 20, "within the upload limit: " + png.length);
        assertRefusedBeforeDecoding(png, "PNG 8192x8192 RGBA16");
    }

    @Test
    void aDeepPpmIsRefusedFromItsHeader() throws Exception {
        // 8192x8192 16-bit RGB: within --max-pixels, 640 MiB declared; a Netpbm file is uncompressed,
        // so the upload is little more than its header
        byte[] ppm = Arrays.copyOf("P6\n8192 8192\n65535\n".getBytes(StandardCharsets.US_ASCII), 4096);
        assertRefusedBeforeDecoding(ppm, "PPM 8192x8192 RGB16");
    }

    @Test
    void aMultiFrameDicomIsRefusedFromItsHeader() throws Exception {
        // 2048x2048x15 = 63 MP: within --max-pixels; 32-bit RGB: 720 MiB declared
        assertRefusedBeforeDecoding(HostileImages.dicomFrames(2048, 2048, 15, 32), "DICOM 2048x2048x15 RGB32");
    }

    // ---------------------------------------------------------------- origins

    static HttpResponse<byte[]> withOrigin(String path, MultipartBody body, String origin, String... more)
            throws Exception {
        List<String> h = new ArrayList<>(List.of("Origin", origin));
        h.addAll(List.of(more));
        return server.http.post(path, body, h.toArray(String[]::new));
    }

    @Test
    void theServersOwnOriginIsAlwaysAllowed() throws Exception {
        HttpResponse<byte[]> r = withOrigin(
                "/api/search",
                new MultipartBody().file("image", "q.png", png(5)),
                "http://127.0.0.1:" + server.server.port());
        assertEquals(200, r.statusCode(), Http.text(r));
    }

    @Test
    void theConfiguredOriginGetsCorsHeadersAndItsPreflight() throws Exception {
        HttpResponse<byte[]> r = withOrigin("/api/search", new MultipartBody().file("image", "q.png", png(6)), ALLOWED);
        assertEquals(200, r.statusCode(), Http.text(r));
        assertEquals(
                ALLOWED, r.headers().firstValue("Access-Control-Allow-Origin").orElse(null));
        HttpResponse<byte[]> pre = server.http.send(HttpRequest.newBuilder(server.http.uri("/api/images"))
                .method("OPTIONS", HttpRequest.BodyPublishers.noBody())
                .header("Origin", ALLOWED)
                .header("Access-Control-Request-Method", "POST")
                .header("Access-Control-Request-Headers", "authorization"));
        assertEquals(204, pre.statusCode(), Http.text(pre));
        assertTrue(pre.headers()
                .firstValue("Access-Control-Allow-Methods")
                .orElse("")
                .contains("POST"));
        assertTrue(pre.headers()
                .firstValue("Access-Control-Allow-Headers")
                .orElse("")
                .toLowerCase()
                .contains("authorization"));
    }

    @Test
    void aForeignOriginIsRefusedBeforeAnyWriteTakesEffect() throws Exception {
        int before = Http.json(server.http.get("/api/health")).path("indexSize").asInt();
        MultipartBody add = new MultipartBody().field("label", "disc").file("image", "x.png", png(7));
        HttpResponse<byte[]> r =
                withOrigin("/api/images", add, "https://evil.example.com", "Authorization", "Bearer " + Fixture.TOKEN);
        Http.assertError(r, 403, "forbidden");
        assertFalse(r.headers().firstValue("Access-Control-Allow-Origin").isPresent());
        int after = Http.json(server.http.get("/api/health")).path("indexSize").asInt();
        assertEquals(before, after, "a refused cross-origin write changed the index");
        Http.assertError(
                withOrigin("/api/search", new MultipartBody().file("image", "q.png", png(8)), "null"),
                403,
                "forbidden");
    }

    // ---------------------------------------------------------------- small ones

    @Test
    void aHugeFileNameInAPartHeaderIsRefusedAsSuch() throws Exception {
        String name = "x".repeat(200_000) + ".png";
        HttpResponse<byte[]> r = server.http.post("/api/search", new MultipartBody().file("image", name, png(9)));
        assertTrue(r.statusCode() == 400 || r.statusCode() == 431, r.statusCode() + " " + Http.text(r));
        assertFalse(Http.text(r).contains("larger than"), Http.text(r));
    }

    @Test
    void kAndScopeAreCheckedBeforeTheImageIsDecoded() throws Exception {
        byte[] bomb = HostileImages.tiff(4096, 4096, 64);
        JsonNode k = Http.assertError(server.http.search(bomb, "k", "0"), 400, "bad_request");
        assertTrue(k.path("message").asText().contains("k must be"), k.toString());
        JsonNode scope = Http.assertError(server.http.search(bomb, "scope", "everything"), 400, "bad_request");
        assertTrue(scope.path("message").asText().contains("scope must be"), scope.toString());
    }
}
