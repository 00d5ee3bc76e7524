package org.medsearch.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.testutil.StubBackend;
import org.medsearch.testutil.TestImages;

/** {@link EmbedBenchmark} on a backend without a network: files decoded from disk, counted after the warm-up batch. */
class EmbedBenchmarkTest {

    @TempDir
    Path tmp;

    private List<Path> pngs(int n) throws Exception {
        Random rnd = new Random(7);
        List<Path> files = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Path f = tmp.resolve("img_" + i + ".png");
            Files.write(f, TestImages.png(TestImages.pattern(TestImages.PATTERNS[i % 3], 40, rnd)));
            files.add(f);
        }
        return files;
    }

    @Test
    void measuresAPositiveRateOverTheFilesAfterTheWarmUpBatch() throws Exception {
        List<Path> files = pngs(10);
        files.add(tmp.resolve("missing.png")); // one that cannot be read costs that image, not the run
        try (EmbeddingBackend b = StubBackend.of(List.of("a", "b"), Double.NaN)) {
            EmbedBenchmark.Result r = EmbedBenchmark.run(b, files, 4, 30);
            // the first 4 warm up; the other 6 decode, the missing file does not; the files run out long before 30 s
            assertEquals(6, r.images());
            assertTrue(r.seconds() > 0 && r.seconds() < 30, "seconds " + r.seconds());
            assertTrue(r.imagesPerSecond() > 0);
        }
    }

    @Test
    void refusesBadArguments() throws Exception {
        List<Path> files = pngs(5);
        try (EmbeddingBackend b = StubBackend.of(List.of("a"), Double.NaN)) {
            assertThrows(IllegalArgumentException.class, () -> EmbedBenchmark.run(b, files, 0, 1));
            assertThrows(IllegalArgumentException.class, () -> EmbedBenchmark.run(b, files, 2, 0));
            assertThrows(IllegalArgumentException.class, () -> EmbedBenchmark.run(b, files, 2, -1));
            assertThrows(IllegalArgumentException.class, () -> EmbedBenchmark.run(b, files, 2, Double.NaN));
            assertThrows(
                    IllegalArgumentException.class, () -> EmbedBenchmark.run(b, files, 2, Double.POSITIVE_INFINITY));
            // one batch or less: nothing left to measure after the warm-up
            assertThrows(IllegalArgumentException.class, () -> EmbedBenchmark.run(b, files, 5, 1));
            assertThrows(IllegalArgumentException.class, () -> EmbedBenchmark.run(b, List.of(), 1, 1));
            assertThrows(NullPointerException.class, () -> EmbedBenchmark.run(null, files, 2, 1));
        }
    }
}
