package org.medsearch.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * 64 clients against a queue of 8 for 10 s (the long version is {@code medsearch loadtest}, whose
 * figures the README reports): only 200 and 503 come back, the server stays up, and the queries
 * admitted at once never exceed the queue's capacity, which is what bounds memory.
 */
class OverloadTest {

    @Test
    void sixtyFourClientsAgainstAQueueOfEightGetOnly200Or503(@TempDir Path scratch) throws Exception {
        Fixture.Built built = Fixture.synthetic();
        List<byte[]> queries;
        try (Stream<Path> s = Files.walk(built.data())) {
            queries = s.filter(p -> p.toString().endsWith(".png"))
                    .sorted()
                    .limit(60)
                    .map(p -> {
                        try {
                            return Files.readAllBytes(p);
                        } catch (java.io.IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                    })
                    .toList();
        }
        ServerConfig cfg = ServerConfig.defaults().withQueue(8, 16, 1);
        try (Fixture.Running running = Fixture.start(built, cfg, scratch)) {
            LoadGenerator.Report r = new LoadGenerator(URI.create(running.server.url()), queries, 10, "predicted")
                    .run(64, Duration.ofSeconds(10), Duration.ofSeconds(1));
            System.out.println("overload, 64 clients, queue 8, 10 s:\n" + r.summary());
            assertTrue(
                    Set.of("200", "503").containsAll(r.byStatus().keySet()),
                    r.byStatus().toString());
            assertTrue(r.byStatus().getOrDefault("200", 0L) > 0, "some are served: " + r.byStatus());
            assertTrue(r.byStatus().getOrDefault("503", 0L) > 0, "the rest are turned away: " + r.byStatus());
            JsonNode stats = Http.json(running.http.get("/api/stats"));
            assertEquals(8 + 16, stats.at("/queue/capacity").asInt());
            assertTrue(
                    stats.at("/queue/peakInFlight").asInt() <= 8 + 16,
                    stats.at("/queue").toString());
            assertEquals(200, running.http.get("/api/health").statusCode(), "still up");
            assertEquals(200, running.http.search(queries.get(0)).statusCode(), "still answering");
        }
    }

    @Test
    void loadIsOnlyEverSentToThisMachine() {
        List<byte[]> q = List.of(new byte[] {1});
        for (String url : List.of(
                "http://10.0.0.1:8080/",
                "http://192.168.1.10/",
                "http://8.8.8.8/",
                "https://127.0.0.1/",
                "http://no-such-host.invalid/")) {
            assertThrows(IllegalArgumentException.class, () -> new LoadGenerator(URI.create(url), q, 10, "all"), url);
        }
        for (String url : List.of("http://127.0.0.1:1/", "http://localhost:1/", "http://[::1]:1/")) {
            new LoadGenerator(URI.create(url), q, 10, "all");
        }
        LoadGenerator g = new LoadGenerator(URI.create("http://127.0.0.1:1/"), q, 10, "all");
        assertThrows(
                IllegalArgumentException.class,
                () -> g.run(LoadGenerator.MAX_CLIENTS + 1, Duration.ofSeconds(1), Duration.ZERO));
        assertThrows(
                IllegalArgumentException.class,
                () -> g.run(1, Duration.ofSeconds(LoadGenerator.MAX_SECONDS + 1), Duration.ZERO));
    }
}
