package org.medsearch.model;

import java.nio.file.Path;
import java.util.List;
import org.medsearch.image.BatchLoader;
import org.medsearch.image.ImageReaders;
import org.medsearch.image.Preprocessing;

/**
 * Embedding throughput for {@code medsearch bench}: files decoded from disk on worker threads and
 * run through a ResNet-18 of the given shape, for about a given time after one warm-up batch. The
 * network is untrained: the cost of a forward pass does not depend on the weights.
 *
 * <pre>{@code
 * double imagesPerSecond = EmbedBenchmark.run(files, 6, 64, 64, 20);
 * }</pre>
 */
public final class EmbedBenchmark {
    private EmbedBenchmark() {}

    /**
     * @param files images to decode, cycled through once at most
     * @param classes the head's width
     * @param size the input side in pixels
     * @param batch images per forward pass
     * @param seconds how long to measure
     * @return images per second, decoding included
     */
    public static double run(List<Path> files, int classes, int size, int batch, double seconds) throws Exception {
        Preprocessing prep = Preprocessing.imagenet(size);
        try (var m = Engines.newManager();
                ResNet18 net = ResNet18.create(m, classes, 1)) {
            Engines.inferenceOnThisThread();
            long deadline = 0;
            long t0 = 0;
            long n = 0;
            boolean warm = false;
            try (BatchLoader loader = BatchLoader.forFiles(
                    ImageReaders.standard(),
                    prep,
                    files,
                    batch,
                    Runtime.getRuntime().availableProcessors())) {
                for (BatchLoader.Batch b : loader) {
                    try (var step = Engines.newManager()) {
                        net.forward(Engines.input(step, b.data(), b.size(), prep), false)
                                .features()
                                .toFloatArray();
                    }
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
            return n / ((System.nanoTime() - t0) / 1e9);
        }
    }
}
