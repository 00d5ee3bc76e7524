package org.medsearch.index;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.index.VectorStore.SearchMode;
import org.medsearch.index.VectorStore.SearchResults;

/**
 * {@link VectorStore}'s contract, written once: every store passes it by extending this class with
 * {@link #create} and {@link #reopen}. Searches are compared with a brute-force oracle over
 * reproducible seeds.
 */
abstract class VectorStoreConformance {

    static final int DIM = 16;
    static final List<String> CLASSES = List.of("a", "b", "c");
    /** The approximate path's recall@k floor on {@link #approximateSearchKeepsTheContract}'s data. */
    static final double RECALL_FLOOR = 0.9;

    /** A new, empty, writable store for {@code info}, kept in {@code dir} (which does not exist yet). */
    protected abstract VectorStore create(Path dir, IndexInfo info) throws IOException;

    /** The store that {@link #create} made in {@code dir}, closed since, opened again for writing. */
    protected abstract VectorStore reopen(Path dir) throws IOException;

    /** What the stores of these tests are built with. */
    protected IndexInfo info(String fingerprint) {
        return new IndexInfo(LuceneIndex.FORMAT, fingerprint, CLASSES, DIM, "test");
    }

    /** Vectors on a coarse grid, so that exact ties are common and the id tie-break is exercised. */
    static float[] vector(Random r) {
        float[] v = new float[DIM];
        for (int i = 0; i < DIM; i++) {
            v[i] = r.nextInt(3);
        }
        return v;
    }

    static float[] gaussian(Random r) {
        float[] v = new float[DIM];
        for (int j = 0; j < DIM; j++) {
            v[j] = (float) r.nextGaussian();
        }
        return v;
    }

    static IndexedImage image(Random r, int i) {
        String cls = CLASSES.get(r.nextInt(CLASSES.size()));
        String split = List.of("train", "val", "test").get(r.nextInt(3));
        String modality = r.nextBoolean() ? "CT" : "MR";
        String sha = String.format("%064x", r.nextInt(50));
        String patient = r.nextInt(3) == 0 ? String.format("%032x", 1 + r.nextInt(10)) : null;
        return new IndexedImage(
                -1,
                "/data/" + cls + "/" + i + ".png",
                r.nextInt(5) == 0 ? null : cls,
                cls,
                0.9f,
                sha,
                vector(r),
                split,
                modality,
                patient,
                null,
                Map.of("format", "png"));
    }

    static IndexedImage withVector(IndexedImage img, float[] v) {
        return new IndexedImage(
                img.id(),
                img.path(),
                img.label(),
                img.predicted(),
                img.confidence(),
                img.contentHash(),
                v,
                img.split(),
                img.modality(),
                img.patientKey(),
                img.studyKey(),
                img.metadata());
    }

    record Stored(long id, IndexedImage img) {}

    /**
     * The oracle's distance: the same kernel as the Lucene store's scan (a pure function of two
     * arrays), so that the comparison tests filtering, top-k selection, ties, segments and
     * deletions, not rounding.
     */
    static float dist(float[] a, float[] b) {
        return Distances.squaredL2(a, b, 0, a.length);
    }

    static boolean passes(Stored s, SearchFilter f) {
        IndexedImage i = s.img();
        return (f.classes() == null || f.classes().contains(i.searchClass()))
                && (f.modality() == null || f.modality().equals(i.modality()))
                && (f.splits() == null || f.splits().contains(i.split()))
                && (f.patientKey() == null || f.patientKey().equals(i.patientKey()))
                && (f.studyKey() == null || f.studyKey().equals(i.studyKey()))
                && (f.excludeContentHash() == null || !f.excludeContentHash().equals(i.contentHash()))
                && (f.excludePatientKey() == null || !f.excludePatientKey().equals(i.patientKey()));
    }

    static List<Long> oracle(List<Stored> all, float[] q, int k, SearchFilter f) {
        return all.stream()
                .filter(s -> passes(s, f))
                .sorted(Comparator.<Stored>comparingDouble(s -> dist(q, s.img().vector()))
                        .thenComparingLong(Stored::id))
                .limit(k)
                .map(Stored::id)
                .collect(Collectors.toList());
    }

    static SearchFilter randomFilter(Random r, List<Stored> all) {
        SearchFilter f = SearchFilter.ALL;
        if (r.nextBoolean()) {
            f = f.withClasses(Set.of(CLASSES.get(r.nextInt(3))));
        }
        if (r.nextInt(3) == 0) {
            f = f.withModality(r.nextBoolean() ? "CT" : "MR");
        }
        if (r.nextInt(3) == 0) {
            f = f.withSplits(Set.of("train", "val"));
        }
        if (r.nextInt(3) == 0) {
            f = f.excludingContent(all.get(r.nextInt(all.size())).img().contentHash());
        }
        if (r.nextInt(3) == 0) {
            f = f.excludingPatient(String.format("%032x", 1 + r.nextInt(10)));
        }
        if (r.nextInt(5) == 0) {
            f = f.withPatient(String.format("%032x", 1 + r.nextInt(10)));
        }
        return f;
    }

    static List<Long> ids(SearchResults r) {
        return r.hits().stream().map(Hit::id).toList();
    }

    /** Adds {@code img} and remembers it under its new id. */
    static Stored add(VectorStore store, List<Stored> all, IndexedImage img) throws IOException {
        long id = store.add(img);
        Stored s = new Stored(id, img.withId(id));
        all.add(s);
        return s;
    }

    @Test
    void exactSearchEqualsBruteForceIncludingTies(@TempDir Path dir) throws Exception {
        for (long seed : new long[] {1, 2, 3}) {
            Random r = new Random(seed);
            List<Stored> all = new ArrayList<>();
            try (VectorStore store = create(dir.resolve("s" + seed), info("fp"))) {
                int n = 300 + r.nextInt(300);
                for (int i = 0; i < n; i++) {
                    add(store, all, image(r, i));
                    if (i % 97 == 0) {
                        store.commit(); // several segments (or batches)
                    }
                }
                for (int i = 0; i < 20; i++) {
                    Stored victim = all.remove(r.nextInt(all.size()));
                    if (i % 2 == 0) {
                        store.delete(victim.id());
                    } else {
                        store.deleteByPath(victim.img().path());
                        all.removeIf(s -> s.img().path().equals(victim.img().path()));
                    }
                }
                store.commit();
                for (int q = 0; q < 60; q++) {
                    float[] query = vector(r);
                    int k = q % 10 == 9 ? n : 1 + r.nextInt(25); // now and then more than there are
                    SearchFilter f = randomFilter(r, all);
                    assertEquals(
                            oracle(all, query, k, f),
                            ids(store.search(query, k, f, SearchMode.EXACT)),
                            "seed " + seed + " query " + q + " filter " + f);
                }
            }
        }
    }

    @Test
    void tiesAreBrokenByAscendingId(@TempDir Path dir) throws Exception {
        Random r = new Random(11);
        List<Stored> all = new ArrayList<>();
        float[] same = vector(r);
        try (VectorStore store = create(dir, info("fp"))) {
            for (int i = 0; i < 40; i++) {
                add(store, all, withVector(image(r, i), same.clone()));
                if (i % 13 == 0) {
                    store.commit();
                }
            }
            store.delete(all.get(2).id());
            all.remove(2);
            store.commit();
            List<Long> ascending = all.stream().map(Stored::id).sorted().toList();
            assertEquals(ascending.subList(0, 10), ids(store.search(same, 10, SearchFilter.ALL, SearchMode.EXACT)));
            // equal distances from different vectors: +1 and -1 along one axis
            float[] q = new float[DIM];
            float[] plus = new float[DIM];
            float[] minus = new float[DIM];
            plus[0] = 1;
            minus[0] = -1;
            Stored p = add(store, all, withVector(image(r, 100), plus));
            Stored m = add(store, all, withVector(image(r, 101), minus));
            store.commit();
            List<Long> got = ids(store.search(q, 2, SearchFilter.ALL, SearchMode.EXACT));
            assertEquals(List.of(Math.min(p.id(), m.id()), Math.max(p.id(), m.id())), got);
        }
    }

    @Test
    void deletesByIdAndByPath(@TempDir Path dir) throws Exception {
        Random r = new Random(13);
        List<Stored> all = new ArrayList<>();
        try (VectorStore store = create(dir, info("fp"))) {
            for (int i = 0; i < 30; i++) {
                add(store, all, image(r, i));
            }
            store.commit();
            Stored byId = all.get(4);
            Stored byPath = all.get(17);
            store.delete(byId.id());
            store.deleteByPath(byPath.img().path());
            store.delete(1_000_000); // none: nothing happens
            store.commit();
            all.remove(byPath);
            all.remove(byId);
            assertEquals(28, store.size());
            assertFalse(store.get(byId.id()).isPresent());
            assertFalse(store.get(byPath.id()).isPresent());
            assertFalse(store.contentHashesByPath().containsKey(byPath.img().path()));
            List<Long> found = ids(store.search(byId.img().vector(), 30, SearchFilter.ALL, SearchMode.EXACT));
            assertEquals(oracle(all, byId.img().vector(), 30, SearchFilter.ALL), found);
            assertEquals(expectedCounts(all, IndexedImage::searchClass), store.countsPerClass());
        }
    }

    @Test
    void changesBecomeVisibleAtRefreshOrCommit(@TempDir Path dir) throws Exception {
        Random r = new Random(17);
        try (VectorStore store = create(dir, info("fp"))) {
            IndexedImage first = image(r, 1);
            long a = store.add(first);
            assertEquals(0, store.size(), "not visible before a refresh or commit");
            assertTrue(store.search(first.vector(), 5, SearchFilter.ALL, SearchMode.EXACT)
                    .hits()
                    .isEmpty());
            assertFalse(store.get(a).isPresent());
            store.refresh();
            assertEquals(List.of(a), ids(store.search(first.vector(), 5, SearchFilter.ALL, SearchMode.EXACT)));
            IndexedImage second = image(r, 2);
            long b = store.add(second);
            store.commit();
            assertEquals(2, store.size());
            assertTrue(store.get(b).isPresent());
            assertTrue(ids(store.search(second.vector(), 2, SearchFilter.ALL, SearchMode.EXACT))
                    .contains(b));
            store.delete(a);
            assertEquals(2, store.size(), "a delete is not visible before a refresh or commit either");
            store.commit();
            assertEquals(1, store.size());
        }
    }

    @Test
    void reopenKeepsEverythingCommittedAndNeverReusesIds(@TempDir Path dir) throws Exception {
        Random r = new Random(9);
        List<Stored> all = new ArrayList<>();
        float[] query = vector(r);
        long last;
        List<Long> before;
        Map<String, Integer> classes;
        IndexInfo info = info("fp");
        try (VectorStore store = create(dir, info)) {
            for (int i = 0; i < 10; i++) {
                add(store, all, image(r, i));
            }
            last = store.add(image(r, 10));
            store.delete(last);
            store.commit();
            before = ids(store.search(query, 5, SearchFilter.ALL, SearchMode.EXACT));
            classes = store.countsPerClass();
            store.add(image(r, 11)); // not committed: must be gone after reopening
        }
        try (VectorStore store = reopen(dir)) {
            assertEquals(info.modelFingerprint(), store.info().modelFingerprint());
            assertEquals(info.classes(), store.info().classes());
            assertEquals(info.dimensions(), store.info().dimensions());
            assertEquals(info.vectorFormat(), store.info().vectorFormat());
            assertEquals(10, store.size());
            assertEquals(before, ids(store.search(query, 5, SearchFilter.ALL, SearchMode.EXACT)));
            assertEquals(classes, store.countsPerClass());
            for (Stored s : all) {
                IndexedImage got = store.get(s.id()).orElseThrow();
                assertEquals(s.img().path(), got.path());
                assertTrue(java.util.Arrays.equals(s.img().vector(), got.vector()));
            }
            long next = store.add(image(r, 12));
            assertTrue(next > last, "ids must not be reused: " + next + " <= " + last);
            store.commit();
            assertEquals(11, store.size());
            assertTrue(store.check().ok(), store.check().problems().toString());
        }
    }

    @Test
    void countsAndHashes(@TempDir Path dir) throws Exception {
        Random r = new Random(3);
        List<Stored> all = new ArrayList<>();
        try (VectorStore store = create(dir, info("fp"))) {
            for (int i = 0; i < 50; i++) {
                add(store, all, image(r, i));
            }
            store.commit();
            assertEquals(50, store.size());
            assertEquals(expectedCounts(all, IndexedImage::searchClass), store.countsPerClass());
            assertEquals(expectedCounts(all, IndexedImage::split), store.countsPerSplit());
            assertEquals(expectedCounts(all, IndexedImage::modality), store.countsPerModality());
            Map<String, String> hashes = store.contentHashesByPath();
            assertEquals(50, hashes.size());
            all.forEach(
                    s -> assertEquals(s.img().contentHash(), hashes.get(s.img().path())));
            VectorStore.Stats st = store.stats();
            assertEquals(50, st.images());
            assertEquals(store.countsPerClass(), st.perClass());
        }
    }

    static Map<String, Integer> expectedCounts(List<Stored> all, Function<IndexedImage, String> key) {
        Map<String, Integer> m = new TreeMap<>();
        for (Stored s : all) {
            String k = key.apply(s.img());
            m.merge(k == null ? "none" : k, 1, Integer::sum);
        }
        return m;
    }

    /**
     * Random float vectors: each approximate hit passes the filter, carries its exact distance and
     * comes in the exact order; recall@k over all queries stays above {@link #RECALL_FLOOR}; the
     * planner's scans (AUTO) equal the oracle.
     */
    @Test
    void approximateSearchKeepsTheContract(@TempDir Path dir) throws Exception {
        Random r = new Random(77);
        List<Stored> all = new ArrayList<>();
        try (VectorStore store = create(dir, info("fp"))) {
            for (int i = 0; i < 2000; i++) {
                add(store, all, withVector(image(r, i), gaussian(r)));
            }
            store.commit();
            Map<Long, Stored> byId = all.stream().collect(Collectors.toMap(Stored::id, s -> s));
            int wanted = 0;
            int found = 0;
            for (int q = 0; q < 80; q++) {
                float[] query = gaussian(r);
                SearchFilter f = randomFilter(r, all);
                int k = 1 + r.nextInt(20);
                List<Long> truth = oracle(all, query, k, f);
                SearchResults approx = store.search(query, k, f, SearchMode.APPROXIMATE);
                List<Hit> hits = approx.hits();
                assertTrue(hits.size() <= k);
                for (int i = 0; i < hits.size(); i++) {
                    Hit h = hits.get(i);
                    Stored s = byId.get(h.id());
                    assertTrue(s != null && passes(s, f), "approximate hit passes the filter");
                    assertEquals(dist(query, s.img().vector()), h.squaredDistance(), 1e-3f, "exact distance");
                    if (i > 0) {
                        Hit prev = hits.get(i - 1);
                        assertTrue(
                                prev.squaredDistance() < h.squaredDistance()
                                        || (prev.squaredDistance() == h.squaredDistance() && prev.id() < h.id()),
                                "ordered");
                    }
                }
                wanted += truth.size();
                found += (int) ids(approx).stream().filter(truth::contains).count();
                SearchResults auto = store.search(query, k, f, SearchMode.AUTO);
                if (auto.path().equals("exact")) {
                    assertEquals(truth, ids(auto), "planner scan " + q);
                }
            }
            double recall = (double) found / wanted;
            assertTrue(recall >= RECALL_FLOOR, "recall@k " + recall + " below " + RECALL_FLOOR);
        }
    }

    @Test
    void hitsCarryTheStoredImage(@TempDir Path dir) throws Exception {
        Random r = new Random(5);
        try (VectorStore store = create(dir, info("fp"))) {
            IndexedImage img = image(r, 1);
            long id = store.add(img);
            store.commit();
            for (SearchMode mode : SearchMode.values()) {
                Hit h = store.search(img.vector(), 1, SearchFilter.ALL, mode)
                        .hits()
                        .get(0);
                assertEquals(id, h.id());
                assertEquals(0f, h.squaredDistance());
                assertEquals(img.path(), h.image().path());
                assertEquals(img.label(), h.image().label());
                assertEquals(img.contentHash(), h.image().contentHash());
                assertEquals(Map.of("format", "png"), h.image().metadata());
                assertEquals(img.withId(id).searchClass(), h.image().searchClass());
                assertTrue(java.util.Arrays.equals(img.vector(), h.image().vector()));
            }
            assertTrue(store.get(id).isPresent());
            assertFalse(store.get(id + 1).isPresent());
        }
    }

    @Test
    void checkPassesOnAStoreWithDeletions(@TempDir Path dir) throws Exception {
        Random r = new Random(21);
        try (VectorStore store = create(dir, info("fp"))) {
            for (int i = 0; i < 60; i++) {
                long id = store.add(image(r, i));
                if (i % 7 == 0) {
                    store.delete(id - 1);
                }
                if (i % 20 == 0) {
                    store.commit();
                }
            }
            store.commit();
            VectorStore.CheckReport report = store.check();
            assertTrue(report.ok(), report.problems().toString());
            assertEquals(store.size(), report.images());
        }
    }
}
