package org.medsearch.index;

import java.io.IOException;
import java.util.List;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.search.IndexSearcher;

/**
 * One point-in-time view of the index: a Lucene searcher and the {@link SegmentData} of each of its
 * segments. Every search runs against one snapshot, so it never sees half of an update.
 */
final class Snapshot {
    final IndexSearcher searcher;
    final List<LeafReaderContext> leaves;
    final SegmentData[] data;

    Snapshot(IndexSearcher searcher, SegmentData[] data) {
        this.searcher = searcher;
        this.leaves = searcher.getIndexReader().leaves();
        this.data = data;
    }

    /** Documents (deleted ones included) in the given class ordinals, or in all classes. */
    long candidates(int[] classes) {
        long n = 0;
        for (SegmentData d : data) {
            if (classes == null) {
                for (int[] docs : d.docsByClass.values()) {
                    n += docs.length;
                }
            } else {
                for (int c : classes) {
                    int[] docs = d.docsByClass.get(c);
                    n += docs == null ? 0 : docs.length;
                }
            }
        }
        return n;
    }

    int leafOf(int globalDoc) {
        return org.apache.lucene.index.ReaderUtil.subIndex(globalDoc, leaves);
    }

    interface Body<T> {
        T apply(Snapshot s) throws IOException;
    }
}
