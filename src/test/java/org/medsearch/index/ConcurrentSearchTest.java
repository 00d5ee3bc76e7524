package org.medsearch.index;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Searches keep working while another thread indexes, and never see half an image. */
class ConcurrentSearchTest {

    @Test
    void searchesDuringIndexingSeeWholeImages(@TempDir Path dir) throws Exception {
        IndexInfo info = new IndexInfo(LuceneIndex.FORMAT, "fp", List.of("a", "b"), 8, "test");
        try (LuceneIndex index = LuceneIndex.create(dir, info)) {
            AtomicBoolean done = new AtomicBoolean();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            AtomicInteger searches = new AtomicInteger();
            Thread writer = new Thread(() -> {
                Random r = new Random(1);
                try {
                    for (int i = 0; i < 3000; i++) {
                        float[] v = new float[8];
                        v[0] = i; // the vector encodes the image, so a search can check the pairing
                        v[1] = r.nextFloat();
                        String cls = i % 2 == 0 ? "a" : "b";
                        index.add(new IndexedImage(-1, "/p/" + i, cls, cls, 1f, String.format("%064x", i), v, null,
                                null, null, null, Map.of("i", Integer.toString(i))));
                        if (i % 50 == 0) {
                            index.refresh();
                        }
                        if (i % 700 == 0) {
                            index.commit();
                        }
                    }
                    index.commit();
                } catch (Throwable t) {
                    failure.set(t);
                } finally {
                    done.set(true);
                }
            });
            Thread reader = new Thread(() -> {
                Random r = new Random(2);
                try {
                    int lastSize = 0;
                    while (!done.get()) {
                        float[] q = new float[8];
                        q[0] = r.nextInt(3000);
                        for (Hit h : index.search(q, 5, r.nextBoolean() ? SearchFilter.ALL
                                : SearchFilter.ALL.withClasses(java.util.Set.of("a")))) {
                            IndexedImage img = h.image();
                            int i = (int) img.vector()[0];
                            assertEquals("/p/" + i, img.path(), "vector and stored fields belong together");
                            assertEquals(Integer.toString(i), img.metadata().get("i"));
                            assertNotNull(img.contentHash());
                        }
                        int size = index.size();
                        assertTrue(size >= lastSize, "the visible set never shrinks");
                        lastSize = size;
                        searches.incrementAndGet();
                    }
                } catch (Throwable t) {
                    failure.set(t);
                }
            });
            writer.start();
            reader.start();
            writer.join();
            reader.join();
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
            assertTrue(searches.get() > 10, "searches ran during indexing: " + searches.get());
            assertEquals(3000, index.size());
        }
    }
}
