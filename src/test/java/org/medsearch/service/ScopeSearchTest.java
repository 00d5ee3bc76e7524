package org.medsearch.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.index.Hit;
import org.medsearch.index.IndexInfo;
import org.medsearch.index.IndexedImage;
import org.medsearch.index.LuceneIndex;
import org.medsearch.index.SearchFilter;
import org.medsearch.model.Embedding;
import org.medsearch.search.Scope;
import org.medsearch.search.SearchAnswer;
import org.medsearch.search.SearchRequest;
import org.medsearch.search.SearchResult;
import org.medsearch.testutil.StubBackend;
import org.medsearch.util.MedsearchException;

/**
 * Every scope against a hand-built index whose answers are known: two images per class on a line,
 * a at x = 0, b at x = 10, c at x = 20; the query sits at x = 9 (nearest: b) while the classifier
 * says a 0.5, c 0.3, b 0.2.
 */
class ScopeSearchTest {

    static final List<String> CLASSES = List.of("a", "b", "c");
    static final Embedding QUERY = new Embedding(new float[] {9, 0, 0, 0}, new float[] {0.5f, 0.2f, 0.3f});

    @TempDir
    static Path dir;

    static LuceneIndex index;

    @BeforeAll
    static void build() throws Exception {
        index = LuceneIndex.create(
                dir.resolve("index"),
                new IndexInfo(LuceneIndex.FORMAT, "stub-a-b-c", CLASSES, StubBackend.DIM, "test"));
        for (int c = 0; c < CLASSES.size(); c++) {
            for (int y = 0; y < 2; y++) {
                String cls = CLASSES.get(c);
                index.add(new IndexedImage(
                        -1,
                        "/data/" + cls + "/" + y + ".png",
                        cls,
                        cls,
                        1f,
                        String.format("%064x", c * 2 + y),
                        new float[] {10 * c, y, 0, 0},
                        "train",
                        null,
                        null,
                        null,
                        Map.of()));
            }
        }
        index.commit();
    }

    @AfterAll
    static void close() throws Exception {
        index.close();
    }

    static SearchService service(double threshold) throws Exception {
        return new SearchService(StubBackend.of(CLASSES, threshold), index);
    }

    static List<String> labels(SearchResult r) {
        return r.hits().stream().map(h -> h.image().label()).toList();
    }

    static SearchResult search(SearchService s, int k, Scope scope) throws Exception {
        return s.search(QUERY, SearchRequest.of(k, scope), 0);
    }

    @Test
    void predictedSearchesThePredictedClassOnly() throws Exception {
        SearchResult r = search(service(Double.NaN), 6, Scope.PREDICTED);
        assertEquals(List.of("a", "a"), labels(r));
        assertEquals(List.of("a"), r.searched());
        assertEquals(Scope.PREDICTED, r.scope());
        assertTrue(Double.isNaN(r.autoThreshold()));
        assertEquals(81f, r.hits().get(0).squaredDistance(), 1e-4);
    }

    @Test
    void allSearchesEveryClassNearestFirst() throws Exception {
        SearchResult r = search(service(Double.NaN), 6, Scope.ALL);
        assertEquals(List.of("b", "b", "a", "a", "c", "c"), labels(r));
        assertEquals(CLASSES, r.searched());
        assertEquals("b", r.vote().top());
        assertFalse(r.vote().agrees(), "the classifier says a, the neighbours b");
    }

    @Test
    void topTwoSearchesTheTwoMostProbableClasses() throws Exception {
        SearchResult r = search(service(Double.NaN), 6, Scope.top(2));
        assertEquals(List.of("a", "c"), r.searched(), "most probable first");
        assertEquals(List.of("a", "a", "c", "c"), labels(r));
        assertEquals("top:2", r.scope().toString());
        // as many classes as the model has, or more, is every class
        SearchResult three = search(service(Double.NaN), 6, Scope.top(3));
        assertEquals(CLASSES, three.searched());
        assertEquals(6, three.hits().size());
        assertEquals(6, search(service(Double.NaN), 6, Scope.top(7)).hits().size());
        // top:1 is the predicted class
        assertEquals(List.of("a", "a"), labels(search(service(Double.NaN), 6, Scope.top(1))));
    }

    @Test
    void autoSearchesThePredictedClassWhenConfident() throws Exception {
        SearchResult r = search(service(0.5), 6, Scope.AUTO);
        assertEquals(List.of("a", "a"), labels(r), "p = 0.5 reaches the threshold 0.5");
        assertEquals(List.of("a"), r.searched());
        assertEquals(0.5, r.autoThreshold());
        assertEquals(Scope.AUTO, r.scope());
    }

    @Test
    void autoSearchesEveryClassWhenUnsure() throws Exception {
        SearchResult r = search(service(0.6), 6, Scope.AUTO);
        assertEquals(List.of("b", "b", "a", "a", "c", "c"), labels(r));
        assertEquals(CLASSES, r.searched());
        assertEquals(0.6, r.autoThreshold(), 1e-9);
        SearchAnswer a = SearchAnswer.of(SearchRequest.of(6, Scope.AUTO), r, SearchAnswer.Timings.of(0, 0, r));
        assertEquals("auto", a.scope());
        assertEquals(0.6, a.threshold(), 1e-9);
    }

    @Test
    void autoWithoutAThresholdIsRefused() throws Exception {
        SearchService s = service(Double.NaN);
        MedsearchException e = assertThrows(MedsearchException.class, () -> search(s, 5, Scope.AUTO));
        assertTrue(e.getMessage().contains("retrain"), e.getMessage());
        assertTrue(e.getMessage().contains("'predicted' or 'all'"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line");
    }

    @Test
    void theDefaultScopeIsAutoWithAThresholdAndPredictedWithout() throws Exception {
        assertEquals(Scope.PREDICTED, service(Double.NaN).defaultScope());
        assertEquals(Scope.AUTO, service(0.6).defaultScope());

        SearchResult old = search(service(Double.NaN), 6, null);
        assertEquals(Scope.PREDICTED, old.scope());
        assertEquals(List.of("a", "a"), labels(old));

        SearchResult calibrated = search(service(0.6), 6, null);
        assertEquals(Scope.AUTO, calibrated.scope());
        assertEquals(6, calibrated.hits().size(), "unsure: every class");
        SearchAnswer a =
                SearchAnswer.of(SearchRequest.of(6, null), calibrated, SearchAnswer.Timings.of(0, 0, calibrated));
        assertEquals("auto", a.scope(), "the answer names the scope used, not the request's absence of one");
    }

    @Test
    void aClassFilterIsIntersectedUnderTopN() throws Exception {
        SearchService s = service(Double.NaN);
        SearchRequest req = new SearchRequest(6, Scope.top(2), SearchFilter.ALL.withClasses(Set.of("b", "c")));
        SearchResult r = s.search(QUERY, req, 0);
        assertEquals(List.of("c"), r.searched());
        assertEquals(List.of("c", "c"), labels(r));
        assertNull(r.notice());

        SearchResult none = s.search(QUERY, req.withFilter(SearchFilter.ALL.withClasses(Set.of("b"))), 0);
        assertTrue(none.hits().isEmpty());
        assertEquals(List.of(), none.searched());
        assertTrue(none.notice().contains("top:2") && none.notice().contains("[b]"), none.notice());
        assertNull(none.vote().top());
    }

    @Test
    void aClassFilterIsIntersectedUnderAuto() throws Exception {
        SearchRequest onlyB = new SearchRequest(6, Scope.AUTO, SearchFilter.ALL.withClasses(Set.of("b")));
        // unsure: every class, so the filter alone decides
        SearchResult unsure = service(0.6).search(QUERY, onlyB, 0);
        assertEquals(List.of("b"), unsure.searched());
        assertEquals(List.of("b", "b"), labels(unsure));
        // confident: the predicted class a, which the filter excludes: nothing, and a notice that says why
        SearchResult confident = service(0.4).search(QUERY, onlyB, 0);
        assertTrue(confident.hits().isEmpty());
        assertTrue(confident.notice().contains("'a'"), confident.notice());
        assertEquals(0.4, confident.autoThreshold(), 1e-9);
    }

    @Test
    void aBareBackboneSearchesAllByDefaultAndRefusesClassScopes(@TempDir Path bare) throws Exception {
        try (LuceneIndex idx = LuceneIndex.create(
                bare, new IndexInfo(LuceneIndex.FORMAT, "stub-", List.of(), StubBackend.DIM, "test"))) {
            idx.add(new IndexedImage(
                    -1, "/x.png", "x", null, 0f, "00", new float[] {1, 0, 0, 0}, null, null, null, null, Map.of()));
            idx.commit();
            SearchService s = new SearchService(StubBackend.of(List.of(), Double.NaN), idx);
            Embedding q = new Embedding(new float[] {0, 0, 0, 0}, new float[0]);
            assertEquals(Scope.ALL, s.defaultScope());
            SearchResult r = s.search(q, SearchRequest.of(3, null), 0);
            assertEquals(1, r.hits().size());
            assertEquals("x", r.vote().top());
            assertNull(r.vote().agrees(), "no classifier, nothing to agree with");
            for (Scope scope : List.of(Scope.PREDICTED, Scope.AUTO, Scope.top(2))) {
                MedsearchException e =
                        assertThrows(MedsearchException.class, () -> s.search(q, SearchRequest.of(3, scope), 0));
                assertTrue(e.getMessage().contains("use the scope 'all'"), e.getMessage());
            }
        }
    }

    @Test
    void theVoteWeighsTheHitsByInverseDistance() throws Exception {
        SearchResult r = search(service(Double.NaN), 3, Scope.ALL);
        // b at squared distances 81 - 80 = 1 and 2, a at 81
        List<Hit> hits = r.hits();
        assertEquals(
                List.of(1f, 2f, 81f), hits.stream().map(Hit::squaredDistance).toList());
        double total = 1 + 0.5 + 1 / 81.0;
        assertEquals(1.5 / total, r.vote().distribution().get("b"), 1e-9);
        assertEquals((1 / 81.0) / total, r.vote().distribution().get("a"), 1e-9);
        assertEquals(List.of("b", "a"), List.copyOf(r.vote().distribution().keySet()), "largest share first");
    }
}
