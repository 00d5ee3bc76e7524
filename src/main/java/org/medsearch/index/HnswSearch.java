package org.medsearch.index;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import org.apache.lucene.search.KnnFloatVectorQuery;
import org.apache.lucene.search.TopDocs;

/**
 * The approximate path: Lucene's HNSW graph search with the filter applied during the graph walk
 * (Lucene switches to an exact pass by itself when the filter leaves few documents), for
 * {@code fetch} candidates, then an exact re-rank of those candidates from the full-precision vectors.
 *
 * <p>Contract: every result passes the filter and carries its exact distance; results are ordered
 * as the exact path orders them (distance, then id). What is approximate is only which candidates
 * are found: recall@k against the exact path is measured by {@code medsearch bench-index}.
 *
 * <p>It reads the candidates' vectors and ids from Lucene's files, so it builds no in-heap copy
 * (the distances are the same: the same floats through the same kernel).
 */
final class HnswSearch {
    private HnswSearch() {}

    static List<TopK.Entry> search(Snapshot s, float[] q, int k, CompiledFilter f, int fetch) throws IOException {
        TopDocs td = s.searcher.search(new KnnFloatVectorQuery(LuceneSchema.VECTOR, q, fetch, f.toQuery()), fetch);
        int[] docs = Arrays.stream(td.scoreDocs).mapToInt(h -> h.doc).toArray();
        TopK top = new TopK(k);
        s.forEachVector(docs, (doc, id, v) -> top.offer(Distances.squaredL2(q, v, 0, q.length), id, doc));
        return top.sorted();
    }
}
