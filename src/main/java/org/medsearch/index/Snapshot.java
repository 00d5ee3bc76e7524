package org.medsearch.index;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import org.apache.lucene.index.FloatVectorValues;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.NumericDocValues;
import org.apache.lucene.search.IndexSearcher;

/**
 * One point-in-time view of the index: a Lucene searcher and, for the exact path only, the
 * {@link SegmentData} of each of its segments. Every search runs against one snapshot, so it never
 * sees half of an update. The in-heap copies are taken on the first call of {@link #segmentData()}:
 * a graph search or a count reads Lucene's files and builds none.
 */
final class Snapshot {
    final IndexSearcher searcher;
    final List<LeafReaderContext> leaves;
    private final HeapCopies copies;
    private SegmentData[] data;

    Snapshot(IndexSearcher searcher, HeapCopies copies) {
        this.searcher = searcher;
        this.leaves = searcher.getIndexReader().leaves();
        this.copies = copies;
    }

    /** Every segment's in-heap copy, building those that no search has built yet. One thread per snapshot. */
    SegmentData[] segmentData() throws IOException {
        if (data == null) {
            SegmentData[] d = new SegmentData[leaves.size()];
            for (int i = 0; i < d.length; i++) {
                d[i] = copies.of(leaves.get(i).reader());
            }
            data = d;
        }
        return data;
    }

    /**
     * Calls {@code visitor} with the id and full-precision vector of each of {@code globalDocs}
     * (reader-wide doc ids, any order) that has both, in ascending doc order, reading Lucene's files.
     * The vector is Lucene's buffer: valid during the call only.
     */
    void forEachVector(int[] globalDocs, VectorVisitor visitor) throws IOException {
        int[] docs = globalDocs.clone();
        Arrays.sort(docs); // Lucene's iterators only move forward
        int leaf = -1;
        int base = 0;
        FloatVectorValues vectors = null;
        NumericDocValues ids = null;
        for (int global : docs) {
            int l = leafOf(global);
            if (l != leaf) {
                leaf = l;
                base = leaves.get(l).docBase;
                LeafReader r = leaves.get(l).reader();
                vectors = r.getFloatVectorValues(LuceneSchema.VECTOR);
                ids = r.getNumericDocValues(LuceneSchema.ID);
            }
            int doc = global - base;
            if (vectors == null || ids == null) {
                continue;
            }
            if (vectors.docID() < doc) {
                vectors.advance(doc);
            }
            if (vectors.docID() == doc && ids.advanceExact(doc)) {
                visitor.accept(global, ids.longValue(), vectors.vectorValue());
            }
        }
    }

    interface VectorVisitor {
        void accept(int globalDoc, long id, float[] vector) throws IOException;
    }

    int leafOf(int globalDoc) {
        return org.apache.lucene.index.ReaderUtil.subIndex(globalDoc, leaves);
    }

    interface Body<T> {
        T apply(Snapshot s) throws IOException;
    }
}
