package org.medsearch.index;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.lucene.store.FilterDirectory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Searches keep working while another thread indexes or commits, and never see half an image. */
class ConcurrentSearchTest {

    /**
     * A commit held inside Lucene's fsync (a directory whose sync waits for a latch) must not hold
     * up a filtered search on another thread: searches and commits share no lock.
     */
    @Test
    void filteredSearchDoesNotWaitForACommit(@TempDir Path dir) throws Exception {
        AtomicBoolean hold = new AtomicBoolean();
        CountDownLatch syncing = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        IndexInfo info = new IndexInfo(LuceneIndex.FORMAT, "fp", List.of("a", "b"), 8, "test");
        ExecutorService threads = Executors.newFixedThreadPool(2);
        try (LuceneIndex index = LuceneIndex.create(dir, info, d -> new FilterDirectory(d) {
            @Override
            public void sync(Collection<String> names) throws IOException {
                if (hold.get()) {
                    syncing.countDown();
                    try {
                        release.await(60, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        throw new InterruptedIOException();
                    }
                }
                super.sync(names);
            }
        })) {
            for (int i = 0; i < 40; i++) {
                index.add(image(i));
            }
            index.commit();
            index.add(image(40));
            hold.set(true);
            try {
                Future<?> commit = threads.submit(() -> {
                    index.commit();
                    return null;
                });
                assertTrue(syncing.await(30, TimeUnit.SECONDS), "the commit reached its fsync");
                Future<List<Hit>> search =
                        threads.submit(() -> index.search(new float[8], 3, SearchFilter.ALL.withClasses(Set.of("a"))));
                try {
                    assertEquals(3, search.get(10, TimeUnit.SECONDS).size());
                } catch (TimeoutException e) {
                    fail("a filtered search waited for the commit");
                }
                assertFalse(commit.isDone(), "the commit was still in progress during the search");
                release.countDown();
                commit.get(30, TimeUnit.SECONDS);
                assertEquals(41, index.size());
            } finally {
                release.countDown(); // before close, which would wait for the held commit
            }
        } finally {
            threads.shutdownNow();
        }
    }

    private static IndexedImage image(int i) {
        float[] v = new float[8];
        v[0] = i;
        String cls = i % 2 == 0 ? "a" : "b";
        return new IndexedImage(
                -1, "/p/" + i, cls, cls, 1f, String.format("%064x", i), v, null, null, null, null, Map.of());
    }

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
                        index.add(new IndexedImage(
                                -1,
                                "/p/" + i,
                                cls,
                                cls,
                                1f,
                                String.format("%064x", i),
                                v,
                                null,
                                null,
                                null,
                                null,
                                Map.of("i", Integer.toString(i))));
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
                        for (Hit h : index.search(
                                q,
                                5,
                                r.nextBoolean()
                                        ? SearchFilter.ALL
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
