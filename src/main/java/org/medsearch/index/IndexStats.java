package org.medsearch.index;

import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import org.apache.lucene.index.BinaryDocValues;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.NumericDocValues;
import org.apache.lucene.index.SortedDocValues;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.store.Directory;
import org.apache.lucene.util.Bits;

/** Counts and listings of a {@link LuceneIndex}, read from doc values (no in-heap copy is built). */
final class IndexStats {
    private IndexStats() {}

    /** Live images per value of a sorted doc-values field ("none" without one), counted by segment ordinal. */
    static Map<String, Integer> counts(IndexSearcher s, String field) throws IOException {
        Map<String, Integer> counts = new TreeMap<>();
        for (LeafReaderContext ctx : s.getIndexReader().leaves()) {
            LeafReader r = ctx.reader();
            NumericDocValues ids = r.getNumericDocValues(LuceneSchema.ID);
            if (ids == null) {
                continue;
            }
            SortedDocValues values = r.getSortedDocValues(field);
            int[] perOrd = new int[values == null ? 0 : values.getValueCount()];
            int none = 0;
            Bits live = r.getLiveDocs();
            for (int doc = ids.nextDoc(); doc != DocIdSetIterator.NO_MORE_DOCS; doc = ids.nextDoc()) {
                if (live != null && !live.get(doc)) {
                    continue;
                }
                if (values != null && values.advanceExact(doc)) {
                    perOrd[values.ordValue()]++;
                } else {
                    none++;
                }
            }
            for (int ord = 0; ord < perOrd.length; ord++) {
                if (perOrd[ord] > 0) {
                    counts.merge(values.lookupOrd(ord).utf8ToString(), perOrd[ord], Integer::sum);
                }
            }
            if (none > 0) {
                counts.merge("none", none, Integer::sum);
            }
        }
        return counts;
    }

    /** Source path to content hash of every live image. */
    static Map<String, String> contentHashesByPath(IndexSearcher s) throws IOException {
        Map<String, String> m = new HashMap<>();
        for (LeafReaderContext ctx : s.getIndexReader().leaves()) {
            LeafReader r = ctx.reader();
            BinaryDocValues paths = r.getBinaryDocValues(LuceneSchema.PATH);
            BinaryDocValues shas = r.getBinaryDocValues(LuceneSchema.SHA);
            Bits live = r.getLiveDocs();
            if (paths == null || shas == null) {
                continue;
            }
            for (int doc = paths.nextDoc(); doc != DocIdSetIterator.NO_MORE_DOCS; doc = paths.nextDoc()) {
                if ((live == null || live.get(doc)) && shas.advanceExact(doc)) {
                    m.put(paths.binaryValue().utf8ToString(), shas.binaryValue().utf8ToString());
                }
            }
        }
        return m;
    }

    /** Bytes on disk by kind: raw vectors (.vec), quantised vectors (.veq), HNSW graph (.vex), the rest. */
    static Map<String, Long> bytesByKind(Directory directory) throws IOException {
        Map<String, Long> kinds = new TreeMap<>();
        for (String f : directory.listAll()) {
            long len;
            try {
                len = directory.fileLength(f);
            } catch (NoSuchFileException e) {
                continue; // a merge removed it meanwhile
            }
            String kind = f.endsWith(".vec")
                    ? "vectors (float32)"
                    : f.endsWith(".veq")
                            ? "vectors (int8)"
                            : f.endsWith(".vex") ? "HNSW graph" : "documents and metadata";
            kinds.merge(kind, len, Long::sum);
        }
        return kinds;
    }
}
