package org.medsearch.model;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import org.medsearch.image.BatchLoader;

/**
 * Embedding throughput for {@code medsearch bench}, on any {@link EmbeddingBackend}: files decoded
 * from disk and pre-processed on worker threads ({@link BatchLoader}, one per available processor,
 * as indexing does), each batch then run through {@link EmbeddingBackend#embed(float[], int)}. The
 * first batch warms up and is not counted; the clock then runs for about the given time, or until
 * the files run out (each file is read once at most).
 *
 * <pre>{@code
 * EmbedBenchmark.Result r = EmbedBenchmark.run(backend, files, 64, 20);
 * double imagesPerSecond = r.imagesPerSecond();
 * }</pre>
 */
public final class EmbedBenchmark {
    private EmbedBenchmark() {}

    /**
     * What one run measured.
     *
     * @param images images embedded after the warm-up batch
     * @param seconds the time they took, decoding included
     */
    public record Result(long images, double seconds) {
        public double imagesPerSecond() {
            return seconds > 0 ? images / seconds : 0;
        }
    }

    /**
     * @param backend the runtime to measure; it is used, not closed
     * @param files images to decode with the backend's readers and pre-processing, read once at most;
     *     more than one batch of them (the first batch warms up)
     * @param batch images per {@code embed} call
     * @param seconds how long to measure, at most: the run ends early when the files run out
     * @throws IllegalArgumentException for too few files, a batch below 1 or a time that is not
     *     positive and finite
     */
    public static Result run(EmbeddingBackend backend, List<Path> files, int batch, double seconds) {
        Objects.requireNonNull(backend, "backend");
        if (batch < 1) {
            throw new IllegalArgumentException("batch must be >= 1, not " + batch);
        }
        if (!(seconds > 0) || Double.isInfinite(seconds)) {
            throw new IllegalArgumentException("seconds must be positive and finite, not " + seconds);
        }
        if (files.size() <= batch) {
            throw new IllegalArgumentException("need more than one batch of files (" + batch
                    + "): the first batch only warms up; got " + files.size());
        }
        long t0 = 0;
        long deadline = 0;
        long n = 0;
        boolean warm = false;
        try (BatchLoader loader = BatchLoader.forFiles(
                backend.readers(),
                backend.preprocessing(),
                files,
                batch,
                Runtime.getRuntime().availableProcessors())) {
            for (BatchLoader.Batch b : loader) {
                backend.embed(b.data(), b.size());
                if (!warm) {
                    warm = true;
                    t0 = System.nanoTime();
                    deadline = t0 + (long) (seconds * 1e9);
                    continue;
                }
                n += b.size();
                if (System.nanoTime() > deadline) {
                    break;
                }
            }
        }
        return new Result(n, (System.nanoTime() - t0) / 1e9);
    }
}
