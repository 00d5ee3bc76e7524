package org.medsearch.server;

import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeoutException;
import org.medsearch.image.Preprocessing;
import org.medsearch.model.Embedding;
import org.medsearch.model.EmbeddingBackend;
import org.medsearch.model.ModelManifest;

/**
 * The server's inference queue seen as an embedding backend: each request thread embeds its one
 * image through it, and the queue's workers run those of many requests in one forward pass of the
 * model's backend. The server's {@link org.medsearch.service.SearchService} searches through it, so
 * the server searches exactly as every other caller does.
 *
 * <p>Contract: a call comes from a request thread that holds an admitted
 * {@link InferenceQueue.Ticket} (admission, and the 503 when the queue is full, happen before the
 * upload is decoded); it embeds one image per call and records the queue's timings on that ticket.
 * A model that does not answer in time is a 503. {@link #close()} leaves the queue and the model
 * to their owners.
 *
 * <pre>{@code
 * SearchService served = service.withBackend(new QueuedBackend(service.backend()));
 * try (InferenceQueue.Ticket t = queue.tryAdmit().orElseThrow(ApiException::overloaded)) {
 *     SearchResult r = served.search(input, request);
 * }
 * }</pre>
 */
final class QueuedBackend implements EmbeddingBackend {

    private final EmbeddingBackend model;

    /** @param model the backend the queue's workers run */
    QueuedBackend(EmbeddingBackend model) {
        this.model = model;
    }

    @Override
    public String name() {
        return model.name() + " (queued)";
    }

    @Override
    public ModelManifest manifest() {
        return model.manifest();
    }

    @Override
    public Preprocessing preprocessing() {
        return model.preprocessing();
    }

    @Override
    public List<Embedding> embed(float[] nhwc, int n) {
        if (n != 1) {
            throw new IllegalArgumentException("the queue embeds one image per request, got " + n);
        }
        InferenceQueue.Ticket ticket = InferenceQueue.current()
                .orElseThrow(() -> new IllegalStateException("embedding through the queue without a ticket"));
        try {
            return List.of(ticket.infer(nhwc).embedding());
        } catch (TimeoutException e) {
            throw new ApiException(
                    503, "overloaded", "the model did not answer in time; retry later", Map.of("Retry-After", "5"));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw ApiException.overloaded();
        }
    }

    @Override
    public void close() {
        // the queue belongs to the server, the model to whoever loaded it
    }
}
