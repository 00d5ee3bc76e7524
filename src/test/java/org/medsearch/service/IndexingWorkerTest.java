package org.medsearch.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** {@link IndexingJob.Worker}: N workers partition any set of paths, the same way every time. */
class IndexingWorkerTest {

    @Test
    void everyPathBelongsToExactlyOneWorker() {
        Random r = new Random(42);
        for (int n : new int[] {1, 2, 3, 7}) {
            int[] share = new int[n];
            for (int i = 0; i < 5_000; i++) {
                String path = "/data/" + r.nextInt(1_000_000) + "/img_" + i + ".png";
                int owners = 0;
                for (int w = 0; w < n; w++) {
                    if (new IndexingJob.Worker(w, n).owns(path)) {
                        owners++;
                        share[w]++;
                    }
                }
                assertEquals(1, owners, path + " with " + n + " workers");
            }
            for (int w = 0; w < n; w++) {
                // a hash spreads the files: each share within 15% of even
                assertTrue(
                        Math.abs(share[w] - 5_000.0 / n) < 0.15 * 5_000 / n + 20,
                        "worker " + w + "/" + n + ": " + share[w]);
            }
        }
    }

    @Test
    void theShareDependsOnThePathAlone() {
        IndexingJob.Worker a = IndexingJob.Worker.parse("1/4");
        IndexingJob.Worker b = new IndexingJob.Worker(1, 4);
        assertEquals(a, b);
        for (int i = 0; i < 200; i++) {
            String p = "/x/" + i;
            assertEquals(a.owns(p), b.owns(p));
        }
    }

    @Test
    void badWorkersAreRefused() {
        for (String bad : new String[] {"2/2", "-1/2", "0/0", "1", "a/b", "1/2/3", ""}) {
            assertThrows(IllegalArgumentException.class, () -> IndexingJob.Worker.parse(bad), bad);
        }
    }
}
