package org.medsearch.image;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import org.medsearch.util.Progress;

/**
 * Decodes and pre-processes images on worker threads, a few batches ahead of the consumer, so that
 * the network never waits for JPEG decoding or resizing. Batches come out in input order.
 *
 * <p>Contract: every input index appears in exactly one batch, either in {@link Batch#indices()}
 * (decoded; its pixels at that position of {@link Batch#data()}) or in {@link Batch#failures()}
 * (with the reader's message). A file that broke after the scan therefore costs one image, not the
 * run. {@link #close()} stops the workers; it must be called.
 *
 * <pre>{@code
 * try (BatchLoader loader = BatchLoader.forFiles(readers, prep, paths, 32, 2)) {
 *     for (BatchLoader.Batch b : loader) {
 *         float[] nhwc = b.data(); // b.size() images, channels last
 *     }
 * }
 * }</pre>
 */
public final class BatchLoader implements Iterable<BatchLoader.Batch>, AutoCloseable {

    /**
     * One batch.
     *
     * @param data {@code size * imageSize * imageSize * 3} floats, channels last
     * @param indices the input index of each decoded image, in order
     * @param failures input indices that failed, with the reason
     * @param decodeNanos time the worker spent decoding and pre-processing this batch
     * @param metadata each decoded image's technical metadata, aligned with {@code indices}
     */
    public record Batch(
            float[] data, int[] indices, List<Failure> failures, long decodeNanos, List<Map<String, String>> metadata) {
        public int size() {
            return indices.length;
        }
    }

    /** An input that could not be decoded. */
    public record Failure(int index, String reason) {}

    /** A source of image bytes: a file, or an in-memory upload. */
    @FunctionalInterface
    public interface Source {
        MedicalImage load(ImageReaders readers) throws ImageFormatException;

        static Source of(Path p) {
            return readers -> readers.read(p);
        }
    }

    private final ImageReaders readers;
    private final Preprocessing prep;
    private final List<Source> sources;
    private final int batchSize;
    private final ExecutorService pool;
    private final int prefetch;
    private Augmentation augmentation;
    private long augmentationSeed;

    /** Loads files. */
    public static BatchLoader forFiles(
            ImageReaders readers, Preprocessing prep, List<Path> paths, int batchSize, int workers) {
        return new BatchLoader(readers, prep, paths.stream().map(Source::of).toList(), batchSize, workers);
    }

    public BatchLoader(ImageReaders readers, Preprocessing prep, List<Source> sources, int batchSize, int workers) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be >= 1");
        }
        this.readers = readers;
        this.prep = prep;
        this.sources = List.copyOf(sources);
        this.batchSize = batchSize;
        int w = Math.max(1, workers);
        this.pool = Executors.newFixedThreadPool(w, r -> {
            Thread t = new Thread(r, "medsearch-decode");
            t.setDaemon(true);
            return t;
        });
        this.prefetch = w + 2;
    }

    /**
     * Augments every image of this loader (for training batches only): input {@code i} is changed
     * with a generator seeded from {@code seed} and {@code i}, so a batch is the same whichever
     * thread loads it. Call before iterating.
     */
    public BatchLoader optAugmentation(Augmentation a, long seed) {
        this.augmentation = a;
        this.augmentationSeed = seed;
        return this;
    }

    public int batchCount() {
        return (sources.size() + batchSize - 1) / batchSize;
    }

    /** What to do with one loaded batch. */
    @FunctionalInterface
    public interface BatchWork {
        void accept(Batch batch) throws IOException;
    }

    /**
     * The one loop behind indexing, evaluation and validation: hands every input that could not be
     * loaded to {@code onFailure}, every batch of those that could to {@code work} (in order), and
     * steps {@code task} by all the inputs a batch covered.
     */
    public void forEach(Progress.Task task, Consumer<Failure> onFailure, BatchWork work) throws IOException {
        for (Batch b : this) {
            b.failures().forEach(onFailure);
            if (b.size() > 0) {
                work.accept(b);
            }
            task.step(b.size() + b.failures().size());
        }
    }

    @Override
    public Iterator<Batch> iterator() {
        return new Iterator<>() {
            private final ArrayDeque<Future<Batch>> ahead = new ArrayDeque<>();
            private int nextToSubmit;

            {
                fill();
            }

            private void fill() {
                while (ahead.size() < prefetch && nextToSubmit < batchCount()) {
                    int b = nextToSubmit++;
                    ahead.add(pool.submit(() -> load(b)));
                }
            }

            @Override
            public boolean hasNext() {
                return !ahead.isEmpty();
            }

            @Override
            public Batch next() {
                if (ahead.isEmpty()) {
                    throw new NoSuchElementException();
                }
                try {
                    Batch b = ahead.poll().get();
                    fill();
                    return b;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while loading images", e);
                } catch (ExecutionException e) {
                    throw new IllegalStateException("image loading failed: " + e.getCause(), e.getCause());
                }
            }
        };
    }

    private Batch load(int batch) {
        long t0 = System.nanoTime();
        int from = batch * batchSize;
        int to = Math.min(sources.size(), from + batchSize);
        int len = prep.inputLength();
        float[] data = new float[(to - from) * len];
        int[] idx = new int[to - from];
        List<Failure> failures = new ArrayList<>();
        List<Map<String, String>> meta = new ArrayList<>();
        int n = 0;
        for (int i = from; i < to; i++) {
            try {
                MedicalImage img = sources.get(i).load(readers);
                if (augmentation == null) {
                    prep.apply(img, data, n * len);
                } else {
                    SplittableRandom rnd = new SplittableRandom(augmentationSeed * 0x9E3779B97F4A7C15L + i);
                    prep.normalise(augmentation.apply(prep.resize(img), prep.imageSize(), rnd), data, n * len);
                }
                meta.add(img.metadata());
                idx[n++] = i;
            } catch (ImageFormatException e) {
                failures.add(new Failure(i, e.getMessage()));
            } catch (RuntimeException | OutOfMemoryError e) {
                failures.add(new Failure(i, "cannot decode (" + e + ")"));
            }
        }
        if (n < idx.length) {
            data = java.util.Arrays.copyOf(data, n * len);
            idx = java.util.Arrays.copyOf(idx, n);
        }
        return new Batch(data, idx, failures, System.nanoTime() - t0, meta);
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }
}
