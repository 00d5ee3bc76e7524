package org.medsearch.dataset;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorOutputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.medsearch.image.ImageReaders;
import org.medsearch.testutil.TestImages;
import org.medsearch.util.MedsearchException;
import org.medsearch.util.Progress;

/** Download and unpacking against a real HTTP server on 127.0.0.1. */
class DownloadTest {

    HttpServer server;
    final Map<String, byte[]> files = new ConcurrentHashMap<>();
    final AtomicInteger requests = new AtomicInteger();

    static final Download.Limits LIMITS = new Download.Limits(1 << 20, java.time.Duration.ofSeconds(30));

    @BeforeEach
    void start() throws Exception {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setExecutor(java.util.concurrent.Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "test-http");
            t.setDaemon(true); // the stalling handler must not outlive the test run
            return t;
        }));
        server.createContext("/", ex -> {
            requests.incrementAndGet();
            String p = ex.getRequestURI().getPath();
            byte[] body = files.get(p);
            if (p.equals("/error")) {
                ex.sendResponseHeaders(500, -1);
            } else if (p.equals("/truncated")) {
                byte[] b = files.get("/good.tar.gz");
                ex.sendResponseHeaders(200, b.length);
                ex.getResponseBody().write(b, 0, b.length / 2);
            } else if (p.equals("/endless")) {
                // no Content-Length (chunked): only the cap can stop it
                ex.sendResponseHeaders(200, 0);
                byte[] chunk = new byte[1 << 16];
                try {
                    for (int i = 0; i < 1024; i++) {
                        ex.getResponseBody().write(chunk);
                    }
                } catch (java.io.IOException closedByClient) {
                    // expected once the client stops reading
                }
            } else if (p.equals("/trickle")) {
                ex.sendResponseHeaders(200, 1000);
                try {
                    for (int i = 0; i < 1000; i++) {
                        ex.getResponseBody().write(0);
                        ex.getResponseBody().flush();
                        Thread.sleep(20);
                    }
                } catch (java.io.IOException | InterruptedException closedByClient) {
                    // expected once the client gives up
                }
            } else if (p.equals("/stall")) {
                ex.sendResponseHeaders(200, 1000);
                ex.getResponseBody().write(new byte[10]);
                ex.getResponseBody().flush();
                try {
                    Thread.sleep(10_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            } else if (p.equals("/huge-declared")) {
                ex.sendResponseHeaders(200, 1L << 40);
                try {
                    for (int i = 0; i < 64; i++) {
                        ex.getResponseBody().write(new byte[1 << 16]);
                    }
                } catch (java.io.IOException closedByClient) {
                    // expected: the client refuses before reading
                }
            } else if (body == null) {
                ex.sendResponseHeaders(404, -1);
            } else {
                ex.sendResponseHeaders(200, body.length);
                ex.getResponseBody().write(body);
            }
            ex.close();
        });
        server.start();
        files.put(
                "/good.tar.gz",
                tarGz(Map.of(
                        "MedNIST/A/1.png",
                        png(1),
                        "MedNIST/A/2.png",
                        png(2),
                        "MedNIST/B/1.png",
                        png(3),
                        "MedNIST/B/2.png",
                        png(4))));
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    URI url(String path) {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + path);
    }

    static String md5(byte[] b) throws Exception {
        return HexFormat.of()
                .formatHex(java.security.MessageDigest.getInstance("MD5").digest(b));
    }

    @Test
    void downloadsOnceChecksAndUnpacks(@TempDir Path cache) throws Exception {
        byte[] tgz = files.get("/good.tar.gz");
        MedNist.Source src = new MedNist.Source(url("/good.tar.gz"), md5(tgz));
        Path root = MedNist.ensure(src, cache, Progress.NONE);
        assertEquals(cache.resolve("MedNIST-unpacked/MedNIST"), root);
        Dataset ds = new DatasetScanner(ImageReaders.standard()).scan(root);
        assertEquals(4, ds.size());
        assertEquals(1, requests.get());
        assertEquals(root, MedNist.ensure(src, cache, Progress.NONE));
        assertEquals(1, requests.get(), "the second call must use the cache");
    }

    @Test
    void wrongChecksumLeavesNothing(@TempDir Path cache) throws Exception {
        MedsearchException e = assertThrows(
                MedsearchException.class,
                () -> Download.fetch(
                        url("/good.tar.gz"),
                        "MD5",
                        "00000000000000000000000000000000",
                        cache.resolve("x.tar.gz"),
                        LIMITS,
                        Progress.NONE));
        assertTrue(e.getMessage().contains("is damaged"), e.getMessage());
        assertTrue(
                e.getMessage()
                        .contains("copy it to " + cache.resolve("x.tar.gz").toAbsolutePath()),
                e.getMessage());
        assertEmpty(cache);
    }

    @Test
    void truncatedTransferLeavesNothing(@TempDir Path cache) throws Exception {
        String sum = md5(files.get("/good.tar.gz"));
        MedsearchException e = assertThrows(
                MedsearchException.class,
                () -> Download.fetch(url("/truncated"), "MD5", sum, cache.resolve("x.tar.gz"), LIMITS, Progress.NONE));
        assertTrue(e.getMessage().contains("cut short") || e.getMessage().contains("failed"), e.getMessage());
        assertEmpty(cache);
    }

    @Test
    void serverErrorIsReported(@TempDir Path cache) throws Exception {
        MedsearchException e = assertThrows(
                MedsearchException.class,
                () -> Download.fetch(url("/error"), "MD5", "x", cache.resolve("x.tar.gz"), LIMITS, Progress.NONE));
        assertTrue(e.getMessage().contains("HTTP 500"), e.getMessage());
        assertEmpty(cache);
    }

    @Test
    void offlineSaysWhatToDo(@TempDir Path cache) throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            closedPort = s.getLocalPort();
        }
        URI u = URI.create("http://127.0.0.1:" + closedPort + "/MedNIST.tar.gz");
        MedsearchException e = assertThrows(
                MedsearchException.class,
                () -> MedNist.ensure(new MedNist.Source(u, MedNist.MD5), cache, Progress.NONE));
        assertTrue(e.getMessage().startsWith("cannot reach 127.0.0.1 (offline?)"), e.getMessage());
        assertTrue(e.getMessage().contains("fetch " + u + " elsewhere (MD5 " + MedNist.MD5 + ")"), e.getMessage());
        assertTrue(
                e.getMessage()
                        .contains(
                                cache.resolve("MedNIST.tar.gz").toAbsolutePath().toString()),
                e.getMessage());
    }

    @Test
    void archiveEscapingItsFolderIsRefused(@TempDir Path dir) throws Exception {
        for (String evil : new String[] {"../evil.png", "MedNIST/../../evil.png", "/tmp/evil.png"}) {
            Path tgz = dir.resolve("evil.tar.gz");
            Files.write(tgz, tarGz(Map.of(evil, png(1))));
            Path target = dir.resolve("out");
            MedsearchException e = assertThrows(
                    MedsearchException.class, () -> TarGz.extract(tgz, target, TarGz.Limits.DEFAULT), evil);
            assertTrue(e.getMessage().contains("outside the folder"), e.getMessage());
            assertFalse(Files.exists(target));
            assertFalse(Files.exists(dir.resolve("evil.png")));
        }
    }

    @Test
    void linksAndBombsAreRefused(@TempDir Path dir) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(new GzipCompressorOutputStream(bytes))) {
            TarArchiveEntry link = new TarArchiveEntry("MedNIST/link", TarArchiveEntry.LF_SYMLINK);
            link.setLinkName("/etc/passwd");
            tar.putArchiveEntry(link);
            tar.closeArchiveEntry();
        }
        Path tgz = dir.resolve("link.tar.gz");
        Files.write(tgz, bytes.toByteArray());
        assertTrue(
                assertThrows(MedsearchException.class, () -> TarGz.extract(tgz, dir.resolve("a"), TarGz.Limits.DEFAULT))
                        .getMessage()
                        .contains("link or device"));

        Path big = dir.resolve("big.tar.gz");
        Files.write(big, tarGz(Map.of("MedNIST/A/1.bin", new byte[100_000])));
        assertTrue(assertThrows(
                        MedsearchException.class,
                        () -> TarGz.extract(big, dir.resolve("b"), new TarGz.Limits(10_000, 100)))
                .getMessage()
                .contains("more than 10000 bytes"));
        assertFalse(Files.exists(dir.resolve("b")));
    }

    /** A chunked body that runs past the cap is cut off there; nothing stays in the cache. */
    @Test
    void bodyLargerThanTheCapIsCutOff(@TempDir Path cache) throws Exception {
        MedsearchException e = assertThrows(
                MedsearchException.class,
                () -> Download.fetch(
                        url("/endless"),
                        "MD5",
                        "00",
                        cache.resolve("x.tar.gz"),
                        new Download.Limits(300_000, java.time.Duration.ofSeconds(30)),
                        Progress.NONE));
        assertTrue(
                e.getMessage().contains("the body is larger than the 300000 bytes expected at most"), e.getMessage());
        assertEmpty(cache);
    }

    /** A declared Content-Length over the cap: refused from the headers, before the body is read. */
    @Test
    void declaredLengthOverTheCapIsRefusedBeforeReading(@TempDir Path cache) throws Exception {
        long t0 = System.nanoTime();
        MedsearchException e = assertThrows(
                MedsearchException.class,
                () -> Download.fetch(
                        url("/huge-declared"), "MD5", "00", cache.resolve("x.tar.gz"), LIMITS, Progress.NONE));
        assertTrue(
                e.getMessage().contains("the server announces 1099511627776 bytes, more than the 1048576"),
                e.getMessage());
        assertTrue((System.nanoTime() - t0) / 1e9 < 5, "refused at once");
        assertEmpty(cache);
    }

    /**
     * {@code /trickle}: 1000 bytes at 50 bytes a second never stall a read, but the whole transfer has
     * a deadline; {@code /stall}: headers and then nothing, where the deadline ends the blocked read.
     */
    @ParameterizedTest
    @ValueSource(strings = {"/trickle", "/stall"})
    void aSlowBodyIsCutOffAtTheDeadline(String path, @TempDir Path cache) throws Exception {
        long t0 = System.nanoTime();
        MedsearchException e = assertThrows(
                MedsearchException.class,
                () -> Download.fetch(
                        url(path),
                        "MD5",
                        "00",
                        cache.resolve("x.tar.gz"),
                        new Download.Limits(1 << 20, java.time.Duration.ofSeconds(1)),
                        Progress.NONE));
        double s = (System.nanoTime() - t0) / 1e9;
        assertTrue(e.getMessage().contains("did not finish within 1 s"), e.getMessage());
        assertTrue(s < 5, "took " + s + " s");
        assertEmpty(cache);
    }

    private static void assertEmpty(Path dir) throws Exception {
        try (var s = Files.list(dir)) {
            assertEquals(0, s.count(), "the cache must hold no partial file");
        }
    }

    static byte[] png(int seed) throws Exception {
        return TestImages.png(TestImages.pattern("disc", 32, new Random(seed)));
    }

    static byte[] tarGz(Map<String, byte[]> entries) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(new GzipCompressorOutputStream(bytes))) {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            for (Map.Entry<String, byte[]> e : new java.util.TreeMap<>(entries).entrySet()) {
                TarArchiveEntry t = new TarArchiveEntry(e.getKey(), true);
                t.setSize(e.getValue().length);
                tar.putArchiveEntry(t);
                OutputStream o = tar;
                o.write(e.getValue());
                tar.closeArchiveEntry();
            }
        }
        return bytes.toByteArray();
    }
}
