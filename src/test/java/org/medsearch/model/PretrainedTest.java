package org.medsearch.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.testutil.Shared;
import org.medsearch.util.Hashing;
import org.medsearch.util.MedsearchException;
import org.medsearch.util.Progress;

/**
 * {@code --init imagenet} against a real HTTP server on 127.0.0.1, serving the conformance fixture's
 * torchvision {@code .pth} in place of the ImageNet weights (which cannot be had offline).
 */
class PretrainedTest {

    HttpServer server;
    byte[] pth;
    String prefix;
    final AtomicInteger requests = new AtomicInteger();

    @BeforeEach
    void start() throws Exception {
        pth = Files.readAllBytes(Shared.require("conformance/resnet18/resnet18.pth"));
        prefix = Hashing.sha256Hex(pth).substring(0, 8);
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", ex -> {
            requests.incrementAndGet();
            byte[] body = pth.clone();
            switch (ex.getRequestURI().getPath()) {
                case "/good.pth" -> {
                    ex.sendResponseHeaders(200, body.length);
                    ex.getResponseBody().write(body);
                }
                case "/corrupt.pth" -> {
                    body[body.length / 2] ^= 0x55;
                    ex.sendResponseHeaders(200, body.length);
                    ex.getResponseBody().write(body);
                }
                case "/truncated.pth" -> {
                    ex.sendResponseHeaders(200, body.length);
                    ex.getResponseBody().write(body, 0, body.length / 3);
                }
                default -> ex.sendResponseHeaders(503, -1);
            }
            ex.close();
        });
        server.start();
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.stop(0);
        }
    }

    Pretrained.Source source(String path) {
        return new Pretrained.Source(
                URI.create("http://127.0.0.1:" + server.getAddress().getPort() + path), prefix);
    }

    @Test
    void downloadsVerifiesConvertsAndCaches(@TempDir Path cache) throws Exception {
        Pretrained.Init init = Pretrained.resolve("imagenet", cache, source("/good.pth"), Progress.NONE);
        assertTrue(
                init.description().startsWith("imagenet resnet18-f37072fd.pth sha256:" + prefix), init.description());
        Map<String, Tensor> expected = SafeTensors.read(Shared.require("conformance/resnet18/resnet18.safetensors"));
        assertEquals(expected.keySet(), init.weights().keySet());
        expected.forEach((k, t) -> assertEquals(t.data(), init.weights().get(k).data(), k));
        assertTrue(Files.exists(cache.resolve("weights/resnet18-f37072fd.pth")));
        Pretrained.resolve("imagenet", cache, source("/good.pth"), Progress.NONE);
        assertEquals(1, requests.get(), "the second use reads the cache");
    }

    @Test
    void corruptTruncatedAndFailedDownloadsAreNeverUsed(@TempDir Path cache) {
        for (String path : new String[] {"/corrupt.pth", "/truncated.pth", "/unavailable.pth"}) {
            MedsearchException e = assertThrows(
                    MedsearchException.class,
                    () -> Pretrained.resolve("imagenet", cache, source(path), Progress.NONE),
                    path);
            assertTrue(e.getMessage().startsWith("ImageNet weights unavailable: "), e.getMessage());
            assertTrue(
                    e.getMessage().contains("damaged")
                            || e.getMessage().contains("cut short")
                            || e.getMessage().contains("HTTP 503"),
                    path + ": " + e.getMessage());
            assertFalse(Files.exists(cache.resolve("weights/resnet18-f37072fd.pth")), path);
        }
    }

    @Test
    void aCachedFileThatFailsTheCheckIsRefused(@TempDir Path cache) throws Exception {
        Files.createDirectories(cache.resolve("weights"));
        byte[] bad = pth.clone();
        bad[100] ^= 1;
        Files.write(cache.resolve("weights/resnet18-f37072fd.pth"), bad);
        MedsearchException e = assertThrows(
                MedsearchException.class,
                () -> Pretrained.resolve("imagenet", cache, source("/good.pth"), Progress.NONE));
        assertTrue(e.getMessage().contains("exists but its SHA-256 is"), e.getMessage());
        assertEquals(0, requests.get());
    }

    @Test
    void offlineSaysWhichFileToPlaceWhere(@TempDir Path cache) throws Exception {
        int port;
        try (var s = new java.net.ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Pretrained.Source src = new Pretrained.Source(
                URI.create("http://127.0.0.1:" + port + "/resnet18-f37072fd.pth"), Pretrained.IMAGENET_SHA256_PREFIX);
        MedsearchException e =
                assertThrows(MedsearchException.class, () -> Pretrained.resolve("imagenet", cache, src, Progress.NONE));
        assertTrue(e.getMessage().contains("(offline?)"), e.getMessage());
        assertTrue(
                e.getMessage()
                        .contains("copy it to "
                                + cache.resolve("weights/resnet18-f37072fd.pth").toAbsolutePath()),
                e.getMessage());
    }
}
