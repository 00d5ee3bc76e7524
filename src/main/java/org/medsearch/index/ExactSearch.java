package org.medsearch.index;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ForkJoinPool;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.util.Bits;

/**
 * The exact path: a scan of every candidate vector, class block by class block.
 *
 * <p>Contract: returns exactly the k candidates passing the filter with the smallest squared
 * Euclidean distance, ties broken by ascending id (the brute-force answer). Cost: one distance
 * per candidate (O(candidates x dim)), over contiguous memory; scans of more than
 * {@value #PARALLEL_MIN} candidates are split across the cores.
 */
final class ExactSearch {
    private ExactSearch() {}

    static final int PARALLEL_MIN = 32_768;
    private static final int CHUNK = 8_192;

    /** A contiguous run of one class block of one segment. */
    private record Range(int leaf, int cls, int from, int to) {}

    static List<TopK.Entry> search(Snapshot s, float[] q, int k, CompiledFilter f) throws IOException {
        SegmentData[] data = s.segmentData();
        List<Range> ranges = new ArrayList<>();
        long total = 0;
        for (int leaf = 0; leaf < data.length; leaf++) {
            SegmentData sd = data[leaf];
            Iterable<Integer> classes = f.classes == null
                    ? sd.docsByClass.keySet()
                    : java.util.Arrays.stream(f.classes).boxed().toList();
            for (int c : classes) {
                int[] docs = sd.docsByClass.get(c);
                if (docs == null) {
                    continue;
                }
                for (int from = 0; from < docs.length; from += CHUNK) {
                    ranges.add(new Range(leaf, c, from, Math.min(docs.length, from + CHUNK)));
                }
                total += docs.length;
            }
        }
        List<TopK> parts;
        if (total >= PARALLEL_MIN && ForkJoinPool.getCommonPoolParallelism() > 1) {
            parts = ranges.parallelStream().map(r -> scan(s, data, q, k, f, r)).toList();
        } else {
            TopK one = new TopK(k);
            for (Range r : ranges) {
                scanInto(s, data, q, f, r, one);
            }
            parts = List.of(one);
        }
        TopK merged = new TopK(k);
        for (TopK t : parts) {
            for (TopK.Entry e : t.sorted()) {
                merged.offer(e.distance(), e.id(), e.doc());
            }
        }
        return merged.sorted();
    }

    private static TopK scan(Snapshot s, SegmentData[] data, float[] q, int k, CompiledFilter f, Range r) {
        TopK t = new TopK(k);
        scanInto(s, data, q, f, r, t);
        return t;
    }

    private static void scanInto(Snapshot s, SegmentData[] data, float[] q, CompiledFilter f, Range r, TopK top) {
        SegmentData sd = data[r.leaf()];
        LeafReaderContext ctx = s.leaves.get(r.leaf());
        Bits live = ctx.reader().getLiveDocs();
        int[] docs = sd.docsByClass.get(r.cls());
        float[] vecs = sd.vectorsByClass.get(r.cls());
        int dim = sd.dim;
        boolean plain = f.classOnly();
        try {
            for (int i = r.from(); i < r.to(); i++) {
                int doc = docs[i];
                if (live != null && !live.get(doc)) {
                    continue;
                }
                if (!plain && !f.accept(sd, ctx.reader(), doc)) {
                    continue;
                }
                top.offer(Distances.squaredL2(q, vecs, i * dim, dim), sd.ids[doc], ctx.docBase + doc);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
