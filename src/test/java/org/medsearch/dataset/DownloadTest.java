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
import org.medsearch.image.ImageReaders;
import org.medsearch.testutil.TestImages;
import org.medsearch.util.MedsearchException;
import org.medsearch.util.Progress;

/** Download and unpacking against a real HTTP server on 127.0.0.1. */
class DownloadTest {

    HttpServer server;
    final Map<String, byte[]> files = new ConcurrentHashMap<>();
    final AtomicInteger requests = new AtomicInteger();

    @BeforeEach
    void start() throws Exception {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
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
            } else if (body == null) {
                ex.sendResponseHeaders(404, -1);
            } else {
                ex.sendResponseHeaders(200, body.length);
                ex.getResponseBody().write(body);
            }
            ex.close();
        });
        server.start();
        files.put("/good.tar.gz", tarGz(Map.of("MedNIST/A/1.png", png(1), "MedNIST/A/2.png", png(2),
                "MedNIST/B/1.png", png(3), "MedNIST/B/2.png", png(4))));
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    URI url(String path) {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + path);
    }

    static String md5(byte[] b) throws Exception {
        return HexFormat.of().formatHex(java.security.MessageDigest.getInstance("MD5").digest(b));
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
        MedsearchException e = assertThrows(MedsearchException.class, () -> Download.fetch(url("/good.tar.gz"), "MD5",
                "00000000000000000000000000000000", cache.resolve("x.tar.gz"), Progress.NONE));
        assertTrue(e.getMessage().contains("is damaged"), e.getMessage());
        assertTrue(e.getMessage().contains("copy it to " + cache.resolve("x.tar.gz").toAbsolutePath()), e.getMessage());
        assertEmpty(cache);
    }

    @Test
    void truncatedTransferLeavesNothing(@TempDir Path cache) throws Exception {
        String sum = md5(files.get("/good.tar.gz"));
        MedsearchException e = assertThrows(MedsearchException.class, () -> Download.fetch(url("/truncated"), "MD5",
                sum, cache.resolve("x.tar.gz"), Progress.NONE));
        assertTrue(e.getMessage().contains("cut short") || e.getMessage().contains("failed"), e.getMessage());
        assertEmpty(cache);
    }

    @Test
    void serverErrorIsReported(@TempDir Path cache) throws Exception {
        MedsearchException e = assertThrows(MedsearchException.class,
                () -> Download.fetch(url("/error"), "MD5", "x", cache.resolve("x.tar.gz"), Progress.NONE));
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
        MedsearchException e = assertThrows(MedsearchException.class,
                () -> MedNist.ensure(new MedNist.Source(u, MedNist.MD5), cache, Progress.NONE));
        assertTrue(e.getMessage().startsWith("cannot reach 127.0.0.1 (offline?)"), e.getMessage());
        assertTrue(e.getMessage().contains("fetch " + u + " elsewhere (MD5 " + MedNist.MD5 + ")"), e.getMessage());
        assertTrue(e.getMessage().contains(cache.resolve("MedNIST.tar.gz").toAbsolutePath().toString()), e.getMessage());
    }

    @Test
    void archiveEscapingItsFolderIsRefused(@TempDir Path dir) throws Exception {
        for (String evil : new String[] {"../evil.png", "MedNIST/../../evil.png", "/tmp/evil.png"}) {
            Path tgz = dir.resolve("evil.tar.gz");
            Files.write(tgz, tarGz(Map.of(evil, png(1))));
            Path target = dir.resolve("out");
            MedsearchException e = assertThrows(MedsearchException.class,
                    () -> TarGz.extract(tgz, target, TarGz.Limits.DEFAULT), evil);
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
        assertTrue(assertThrows(MedsearchException.class, () -> TarGz.extract(tgz, dir.resolve("a"), TarGz.Limits.DEFAULT))
                .getMessage().contains("link or device"));

        Path big = dir.resolve("big.tar.gz");
        Files.write(big, tarGz(Map.of("MedNIST/A/1.bin", new byte[100_000])));
        assertTrue(assertThrows(MedsearchException.class,
                () -> TarGz.extract(big, dir.resolve("b"), new TarGz.Limits(10_000, 100))).getMessage()
                .contains("more than 10000 bytes"));
        assertFalse(Files.exists(dir.resolve("b")));
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
