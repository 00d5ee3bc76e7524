package org.medsearch.index;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.medsearch.index.VectorStoreConformance.CLASSES;
import static org.medsearch.index.VectorStoreConformance.DIM;
import static org.medsearch.index.VectorStoreConformance.gaussian;
import static org.medsearch.index.VectorStoreConformance.ids;
import static org.medsearch.index.VectorStoreConformance.image;
import static org.medsearch.index.VectorStoreConformance.oracle;
import static org.medsearch.index.VectorStoreConformance.randomFilter;
import static org.medsearch.index.VectorStoreConformance.withVector;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.index.VectorStore.SearchMode;
import org.medsearch.index.VectorStore.SearchResults;
import org.medsearch.index.VectorStoreConformance.Stored;
import org.medsearch.util.MedsearchException;

/** What only the Lucene store has: its planner's threshold, its lazy in-heap copies, its files and locks. */
class LuceneIndexTest {

    static IndexInfo info(String fingerprint) {
        return new IndexInfo(LuceneIndex.FORMAT, fingerprint, CLASSES, DIM, "test");
    }

    /** The planner scans up to the threshold and walks the graph above it; its scans equal the oracle. */
    @Test
    void plannerFollowsTheExactThreshold(@TempDir Path dir) throws Exception {
        Random r = new Random(77);
        List<Stored> all = new ArrayList<>();
        try (LuceneIndex index = LuceneIndex.create(dir, info("fp"))) {
            for (int i = 0; i < 2000; i++) {
                IndexedImage img = withVector(image(r, i), gaussian(r));
                long id = index.add(img);
                all.add(new Stored(id, img.withId(id)));
            }
            index.commit();
            int scans = 0;
            int graphs = 0;
            for (int q = 0; q < 80; q++) {
                float[] query = gaussian(r);
                SearchFilter f = randomFilter(r, all);
                int k = 1 + r.nextInt(20);
                index.setExactThreshold(r.nextInt(2500));
                SearchResults auto = index.search(query, k, f, SearchMode.AUTO);
                if (auto.path().equals("exact")) {
                    scans++;
                    assertTrue(auto.candidates() <= index.exactThreshold());
                    assertEquals(oracle(all, query, k, f), ids(auto), "planner scan " + q);
                } else {
                    graphs++;
                    assertTrue(auto.candidates() > index.exactThreshold());
                }
            }
            assertTrue(scans > 10 && graphs > 10, "both paths exercised: " + scans + " scans, " + graphs + " graphs");
        }
    }

    /** Only the exact scan copies vectors to the heap: graph searches, counts and gets read Lucene's files. */
    @Test
    void graphSearchBuildsNoInHeapCopy(@TempDir Path dir) throws Exception {
        Random r = new Random(31);
        try (LuceneIndex index = LuceneIndex.create(dir, info("fp"))) {
            for (int i = 0; i < 500; i++) {
                index.add(withVector(image(r, i), gaussian(r)));
                if (i % 200 == 0) {
                    index.commit();
                }
            }
            index.commit();
            index.setExactThreshold(10);
            float[] q = gaussian(r);
            SearchResults graph = index.search(q, 10, SearchFilter.ALL.withClasses(Set.of("a")), SearchMode.AUTO);
            assertEquals("approximate", graph.path());
            assertEquals(10, graph.hits().size());
            index.search(q, 5, SearchFilter.ALL, SearchMode.APPROXIMATE);
            index.get(graph.hits().get(0).id());
            index.countsPerClass();
            assertEquals(0, index.stats().heapBytes(), "a graph search built the in-heap copy");
            index.search(q, 10, SearchFilter.ALL, SearchMode.EXACT);
            assertTrue(index.stats().heapBytes() > 0, "the scan builds it");
        }
    }

    @Test
    void refusesAnotherModelsIndex(@TempDir Path dir) throws Exception {
        try (LuceneIndex index = LuceneIndex.create(dir, info("model-A"))) {
            index.commit();
        }
        MedsearchException e =
                assertThrows(MedsearchException.class, () -> LuceneIndex.openOrCreate(dir, info("model-B")));
        assertTrue(e.getMessage().contains("holds vectors of another model (model-A)"), e.getMessage());
    }

    @Test
    void missingIndexIsAClearError(@TempDir Path dir) {
        MedsearchException e =
                assertThrows(MedsearchException.class, () -> LuceneIndex.open(dir.resolve("none"), false));
        assertTrue(e.getMessage().startsWith("index not found"), e.getMessage());
    }

    @Test
    @SuppressWarnings("try") // the open index only holds the write lock; the test never reads it
    void secondWriterIsRefused(@TempDir Path dir) throws Exception {
        try (LuceneIndex index = LuceneIndex.create(dir, info("fp"))) {
            MedsearchException e = assertThrows(MedsearchException.class, () -> LuceneIndex.open(dir, true));
            assertTrue(e.getMessage().contains("being written by another process"), e.getMessage());
        }
    }
}
