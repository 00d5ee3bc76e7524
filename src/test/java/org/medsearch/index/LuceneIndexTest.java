package org.medsearch.index;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.util.MedsearchException;

/** The index against a brute-force oracle, with reproducible seeds. */
class LuceneIndexTest {

    static final int DIM = 16;
    static final List<String> CLASSES = List.of("a", "b", "c");

    static IndexInfo info(String fingerprint) {
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

    static IndexedImage image(Random r, int i) {
        String cls = CLASSES.get(r.nextInt(CLASSES.size()));
        String split = List.of("train", "val", "test").get(r.nextInt(3));
        String modality = r.nextBoolean() ? "CT" : "MR";
        String sha = String.format("%064x", r.nextInt(50));
        String patient = r.nextInt(3) == 0 ? String.format("%032x", 1 + r.nextInt(10)) : null;
        return new IndexedImage(-1, "/data/" + cls + "/" + i + ".png", r.nextInt(5) == 0 ? null : cls, cls, 0.9f, sha,
                vector(r), split, modality, patient, null, Map.of("format", "png"));
    }

    record Stored(long id, IndexedImage img) {}

    /**
     * The oracle's distance: the same kernel as the index (a pure function of two arrays), so that
     * the comparison tests filtering, top-k selection, ties, segments and deletions, not rounding.
     */
    static float dist(float[] a, float[] b) {
        return Distances.squaredL2(a, b, 0, a.length);
    }

    static List<Long> oracle(List<Stored> all, float[] q, int k, SearchFilter f) {
        return all.stream()
                .filter(s -> f.classes() == null || f.classes().contains(s.img().searchClass()))
                .filter(s -> f.modality() == null || f.modality().equals(s.img().modality()))
                .filter(s -> f.splits() == null || f.splits().contains(s.img().split()))
                .filter(s -> f.excludeContentHash() == null || !f.excludeContentHash().equals(s.img().contentHash()))
                .filter(s -> f.excludePatientKey() == null || !f.excludePatientKey().equals(s.img().patientKey()))
                .sorted(Comparator.<Stored>comparingDouble(s -> dist(q, s.img().vector())).thenComparingLong(Stored::id))
                .limit(k).map(Stored::id).collect(Collectors.toList());
    }

    @Test
    void exactSearchEqualsBruteForceIncludingTies(@TempDir Path dir) throws Exception {
        for (long seed : new long[] {1, 2, 3}) {
            Random r = new Random(seed);
            Path d = dir.resolve("s" + seed);
            List<Stored> all = new ArrayList<>();
            try (LuceneIndex index = LuceneIndex.create(d, info("fp"))) {
                int n = 300 + r.nextInt(300);
                for (int i = 0; i < n; i++) {
                    IndexedImage img = image(r, i);
                    long id = index.add(img);
                    all.add(new Stored(id, img.withId(id)));
                    if (i % 97 == 0) {
                        index.commit(); // several segments
                    }
                }
                // delete some, including by path
                for (int i = 0; i < 20; i++) {
                    Stored victim = all.remove(r.nextInt(all.size()));
                    if (i % 2 == 0) {
                        index.delete(victim.id());
                    } else {
                        index.deleteByPath(victim.img().path());
                        all.removeIf(s -> s.img().path().equals(victim.img().path()));
                    }
                }
                index.commit();
                for (int q = 0; q < 60; q++) {
                    float[] query = vector(r);
                    int k = 1 + r.nextInt(25);
                    SearchFilter f = randomFilter(r, all);
                    List<Long> got = index.search(query, k, f).stream().map(Hit::id).toList();
                    assertEquals(oracle(all, query, k, f), got, "seed " + seed + " query " + q + " filter " + f);
                }
            }
        }
    }

    /** Random float vectors: the planner's scans must equal the oracle; graph searches must keep the contract. */
    @Test
    void plannerAndApproximatePathKeepTheContract(@TempDir Path dir) throws Exception {
        Random r = new Random(77);
        List<Stored> all = new ArrayList<>();
        try (LuceneIndex index = LuceneIndex.create(dir, info("fp"))) {
            for (int i = 0; i < 2000; i++) {
                IndexedImage img = image(r, i);
                float[] v = img.vector();
                for (int j = 0; j < v.length; j++) {
                    v[j] = (float) r.nextGaussian();
                }
                long id = index.add(img);
                all.add(new Stored(id, img.withId(id)));
            }
            index.commit();
            int scans = 0;
            int graphs = 0;
            for (int q = 0; q < 80; q++) {
                float[] query = new float[DIM];
                for (int j = 0; j < DIM; j++) {
                    query[j] = (float) r.nextGaussian();
                }
                SearchFilter f = randomFilter(r, all);
                int k = 1 + r.nextInt(20);
                index.setExactThreshold(r.nextInt(2500));
                LuceneIndex.SearchResults auto = index.search(query, k, f, LuceneIndex.SearchMode.AUTO);
                List<Long> truth = oracle(all, query, k, f);
                if (auto.path().equals("exact")) {
                    scans++;
                    assertEquals(truth, auto.hits().stream().map(Hit::id).toList(), "planner scan " + q);
                } else {
                    graphs++;
                    assertTrue(auto.candidates() > index.exactThreshold());
                }
                LuceneIndex.SearchResults approx = index.search(query, k, f, LuceneIndex.SearchMode.APPROXIMATE);
                List<Hit> hits = approx.hits();
                assertTrue(hits.size() <= k);
                for (int i = 0; i < hits.size(); i++) {
                    Hit h = hits.get(i);
                    Stored s = all.stream().filter(x -> x.id() == h.id()).findFirst().orElseThrow();
                    assertTrue(oracle(List.of(s), query, 1, f).size() == 1, "approximate hit passes the filter");
                    assertEquals(dist(query, s.img().vector()), h.squaredDistance(), 1e-3f, "exact re-ranked distance");
                    if (i > 0) {
                        Hit prev = hits.get(i - 1);
                        assertTrue(prev.squaredDistance() < h.squaredDistance()
                                || (prev.squaredDistance() == h.squaredDistance() && prev.id() < h.id()), "ordered");
                    }
                }
            }
            assertTrue(scans > 10 && graphs > 10, "both paths exercised: " + scans + " scans, " + graphs + " graphs");
        }
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
        return f;
    }

    @Test
    void hitsCarryTheStoredImage(@TempDir Path dir) throws Exception {
        Random r = new Random(5);
        try (LuceneIndex index = LuceneIndex.create(dir, info("fp"))) {
            IndexedImage img = image(r, 1);
            long id = index.add(img);
            index.commit();
            Hit h = index.search(img.vector(), 1, SearchFilter.ALL).get(0);
            assertEquals(id, h.id());
            assertEquals(0f, h.squaredDistance());
            assertEquals(img.path(), h.image().path());
            assertEquals(img.label(), h.image().label());
            assertEquals(img.contentHash(), h.image().contentHash());
            assertEquals(Map.of("format", "png"), h.image().metadata());
            assertEquals(img.withId(id).searchClass(), h.image().searchClass());
            assertTrue(index.get(id).isPresent());
            assertFalse(index.get(id + 1).isPresent());
        }
    }

    @Test
    void survivesReopenAndNeverReusesIds(@TempDir Path dir) throws Exception {
        Random r = new Random(9);
        long last;
        try (LuceneIndex index = LuceneIndex.create(dir, info("fp"))) {
            for (int i = 0; i < 10; i++) {
                index.add(image(r, i));
            }
            last = index.add(image(r, 10));
            index.delete(last);
            index.commit();
            index.add(image(r, 11)); // not committed: must be gone after reopening
        }
        try (LuceneIndex index = LuceneIndex.open(dir, true)) {
            assertEquals(10, index.size());
            long next = index.add(image(r, 12));
            assertTrue(next > last, "ids must not be reused: " + next + " <= " + last);
            index.commit();
            assertEquals(11, index.size());
        }
    }

    @Test
    void refusesAnotherModelsIndex(@TempDir Path dir) throws Exception {
        try (LuceneIndex index = LuceneIndex.create(dir, info("model-A"))) {
            index.commit();
        }
        MedsearchException e = assertThrows(MedsearchException.class, () -> LuceneIndex.openOrCreate(dir, info("model-B")));
        assertTrue(e.getMessage().contains("holds vectors of another model (model-A)"), e.getMessage());
    }

    @Test
    void missingIndexIsAClearError(@TempDir Path dir) {
        MedsearchException e = assertThrows(MedsearchException.class, () -> LuceneIndex.open(dir.resolve("none"), false));
        assertTrue(e.getMessage().startsWith("index not found"), e.getMessage());
    }

    @Test
    void secondWriterIsRefused(@TempDir Path dir) throws Exception {
        try (LuceneIndex index = LuceneIndex.create(dir, info("fp"))) {
            MedsearchException e = assertThrows(MedsearchException.class, () -> LuceneIndex.open(dir, true));
            assertTrue(e.getMessage().contains("being written by another process"), e.getMessage());
        }
    }

    @Test
    void countsAndHashes(@TempDir Path dir) throws Exception {
        Random r = new Random(3);
        List<IndexedImage> imgs = new ArrayList<>();
        try (LuceneIndex index = LuceneIndex.create(dir, info("fp"))) {
            for (int i = 0; i < 50; i++) {
                IndexedImage img = image(r, i);
                imgs.add(img);
                index.add(img);
            }
            index.commit();
            Map<String, Long> expected = imgs.stream().collect(Collectors.groupingBy(IndexedImage::searchClass,
                    java.util.TreeMap::new, Collectors.counting()));
            assertEquals(expected.toString(), index.countsPerClass().toString());
            Map<String, String> hashes = index.contentHashesByPath();
            assertEquals(50, hashes.size());
            imgs.forEach(i -> assertEquals(i.contentHash(), hashes.get(i.path())));
        }
    }
}
