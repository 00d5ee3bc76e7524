package org.medsearch.index;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.lucene.index.IndexReader;
import org.apache.lucene.index.StoredFields;
import org.apache.lucene.index.Term;
import org.medsearch.index.VectorStore.SearchMode;
import org.medsearch.index.VectorStore.SearchResults;

/**
 * Picks the path of each search and turns its result into hits. {@link SearchMode#AUTO} scans
 * ({@link ExactSearch}) when the filter's classes hold at most {@link #exactThreshold()} images, and
 * walks the graph ({@link HnswSearch}) otherwise. The count comes from Lucene's term statistics,
 * so planning builds no in-heap copy; only the scan does.
 */
final class SearchPlanner {

    private volatile int exactThreshold = LuceneIndex.DEFAULT_EXACT_THRESHOLD;
    private volatile int approximateFetch = LuceneIndex.DEFAULT_APPROXIMATE_FETCH;

    int exactThreshold() {
        return exactThreshold;
    }

    void setExactThreshold(int n) {
        this.exactThreshold = Math.max(0, n);
    }

    void setApproximateFetch(int n) {
        this.approximateFetch = Math.max(1, n);
    }

    SearchResults search(Snapshot s, float[] query, int k, CompiledFilter f, SearchMode mode) throws IOException {
        long candidates = candidates(s.searcher.getIndexReader(), f.filter);
        boolean exact = mode == SearchMode.EXACT || (mode == SearchMode.AUTO && candidates <= exactThreshold);
        List<TopK.Entry> top = exact
                ? ExactSearch.search(s, query, k, f)
                : HnswSearch.search(s, query, k, f, Math.max(k, approximateFetch));
        Map<Integer, float[]> vectors = new HashMap<>();
        s.forEachVector(top.stream().mapToInt(TopK.Entry::doc).toArray(), (doc, id, v) -> vectors.put(doc, v.clone()));
        StoredFields stored = s.searcher.storedFields();
        List<Hit> hits = new ArrayList<>(top.size());
        for (TopK.Entry e : top) {
            hits.add(new Hit(e.id(), e.distance(), LuceneSchema.image(stored, e.doc(), vectors.get(e.doc()))));
        }
        return new SearchResults(hits, exact ? "exact" : "approximate", candidates);
    }

    /** Images in the filter's classes, deleted ones included (term statistics do not subtract them). */
    private static long candidates(IndexReader r, SearchFilter filter) throws IOException {
        if (filter.classes() == null) {
            return r.getDocCount(LuceneSchema.CLASS);
        }
        long n = 0;
        for (String c : filter.classes()) {
            n += r.docFreq(new Term(LuceneSchema.CLASS, c));
        }
        return n;
    }
}
