package org.medsearch.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.index.LuceneIndex;
import org.medsearch.model.Embedder;
import org.medsearch.service.SearchService;

/** A stop lets the request in flight finish, then refuses new connections. */
class GracefulShutdownTest {

    @Test
    void aSearchInFlightFinishesWhenTheServerStops(@TempDir Path scratch) throws Exception {
        Fixture.Built built = Fixture.synthetic();
        Embedder embedder = new Embedder(built.bundle());
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicBoolean armed = new AtomicBoolean();
        InferenceQueue.BatchModel held = (x, n) -> {
            if (armed.get()) {
                entered.countDown();
                try {
                    release.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return embedder.embed(x, n);
        };
        try (LuceneIndex index = LuceneIndex.open(built.index(), false)) {
            SearchServer server = SearchServer.start(
                    ServerConfig.defaults().withPort(0).withGrace(Duration.ofSeconds(20)),
                    new SearchService(embedder, index),
                    held);
            armed.set(true);
            Http http = new Http(server.port());
            byte[] q = Files.readAllBytes(built.data().resolve("disc/img_001.png"));
            CompletableFuture<HttpResponse<byte[]>> inFlight = CompletableFuture.supplyAsync(() -> {
                try {
                    return http.search(q);
                } catch (IOException | InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            });
            assertTrue(entered.await(30, TimeUnit.SECONDS), "the search reached the model");
            CompletableFuture<Void> stopping = CompletableFuture.runAsync(server::stop);
            Thread.sleep(500);
            assertTrue(!stopping.isDone(), "the stop waits for the request in flight");
            release.countDown();
            HttpResponse<byte[]> r = inFlight.get(30, TimeUnit.SECONDS);
            assertEquals(200, r.statusCode(), Http.text(r));
            assertEquals("disc", Http.json(r).at("/predicted/name").asText());
            stopping.get(30, TimeUnit.SECONDS);
            assertThrows(IOException.class, () -> http.get("/api/health"), "stopped: connections are refused");
        }
    }
}
