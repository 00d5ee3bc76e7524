package org.medsearch.index;

import java.io.IOException;
import java.util.List;
import org.apache.lucene.search.KnnFloatVectorQuery;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TopDocs;

/**
 * The approximate path: Lucene's HNSW graph search with the filter applied during the graph walk
 * (Lucene switches to an exact pass by itself when the filter leaves few documents), for
 * {@code fetch} candidates, then an exact re-rank of those candidates from the full-precision vectors.
 *
 * <p>Contract: every result passes the filter and carries its exact distance; results are ordered
 * as the exact path orders them (distance, then id). What is approximate is only which candidates
 * are found: recall@k against the exact path is measured by {@code medsearch bench-index}.
 */
final class HnswSearch {
    private HnswSearch() {}

    static List<TopK.Entry> search(Snapshot s, float[] q, int k, CompiledFilter f, int fetch) throws IOException {
        TopDocs td = s.searcher.search(new KnnFloatVectorQuery(LuceneIndex.VECTOR, q, fetch, f.toQuery()), fetch);
        TopK top = new TopK(k);
        for (ScoreDoc hit : td.scoreDocs) {
            int leaf = s.leafOf(hit.doc);
            SegmentData sd = s.data[leaf];
            int doc = hit.doc - s.leaves.get(leaf).docBase;
            if (sd.row[doc] >= 0) {
                top.offer(sd.distance(q, doc), sd.ids[doc], hit.doc);
            }
        }
        return top.sorted();
    }
}
