package org.medsearch.index;

import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.lucene.index.IndexReader;
import org.apache.lucene.index.LeafReader;

/**
 * The exact path's in-heap copies ({@link SegmentData}) of one index, one per Lucene segment, built
 * on first use and dropped when Lucene closes the segment, and the index-wide name-to-ordinal table
 * they share. Lock-free: searches building copies or compiling filters never wait for each other
 * longer than one map update, and never for a writer.
 */
final class HeapCopies implements SegmentData.Ordinals {

    private final int dim;
    private final Map<Object, SegmentData> segments = new ConcurrentHashMap<>();
    private final Map<String, Integer> ordinals = new ConcurrentHashMap<>();
    private final AtomicInteger nextOrdinal = new AtomicInteger();

    HeapCopies(int dim) {
        this.dim = dim;
    }

    @Override
    public int ordinal(String name) {
        return ordinals.computeIfAbsent(name, n -> nextOrdinal.getAndIncrement());
    }

    /** The copy of one segment, built now if no search has built it yet. */
    SegmentData of(LeafReader r) throws IOException {
        IndexReader.CacheHelper helper = r.getCoreCacheHelper();
        Object key = helper == null ? r : helper.getKey();
        SegmentData sd = segments.get(key);
        if (sd == null) {
            SegmentData fresh = new SegmentData(r, dim, this);
            sd = segments.putIfAbsent(key, fresh);
            if (sd == null) {
                sd = fresh;
                if (helper != null) {
                    helper.addClosedListener(segments::remove);
                }
            }
        }
        return sd;
    }

    /** Memory of the copies built so far (building none). */
    long heapBytes() {
        long heap = 0;
        for (SegmentData d : segments.values()) {
            heap += d.heapBytes();
        }
        return heap;
    }
}
