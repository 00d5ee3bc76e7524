package org.medsearch.index;

import java.io.IOException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import org.apache.lucene.index.BinaryDocValues;
import org.apache.lucene.index.FloatVectorValues;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.NumericDocValues;
import org.apache.lucene.index.SortedDocValues;
import org.apache.lucene.search.DocIdSetIterator;

/**
 * Everything a scan reads from one Lucene segment, in contiguous arrays: the vectors grouped by
 * class (so a class-filtered scan streams one block of memory), and per document its id and the
 * ordinals and hashes the filters test. Segments are immutable, so this is built once per segment
 * (by the first exact scan that meets it, see {@link HeapCopies}) and shared by all searches;
 * deletions are applied at search time through the reader's live docs.
 *
 * <p>Cost: {@code 4 * dim} bytes per vector on the heap, plus about 40 bytes per document.
 */
final class SegmentData {

    /** Global name to ordinal table of one index (classes, modalities, splits share it). */
    interface Ordinals {
        int ordinal(String name);
    }

    final int maxDoc;
    final int dim;
    final long[] ids;
    final int[] classOrd;
    final int[] modalityOrd;
    final int[] splitOrd;
    final long[] shaHash;
    final long[] patientHash;
    final long[] studyHash;
    /** Per class ordinal: the segment's documents of that class, ascending. */
    final Map<Integer, int[]> docsByClass = new HashMap<>();
    /** Per class ordinal: their vectors, row i belonging to {@code docsByClass.get(c)[i]}. */
    final Map<Integer, float[]> vectorsByClass = new HashMap<>();
    /** Per document: its row in its class block, -1 without a vector. */
    final int[] row;

    SegmentData(LeafReader r, int dim, Ordinals ordinals) throws IOException {
        this.dim = dim;
        maxDoc = r.maxDoc();
        ids = new long[maxDoc];
        Arrays.fill(ids, -1);
        classOrd = new int[maxDoc];
        modalityOrd = new int[maxDoc];
        splitOrd = new int[maxDoc];
        shaHash = new long[maxDoc];
        patientHash = new long[maxDoc];
        studyHash = new long[maxDoc];
        row = new int[maxDoc];
        Arrays.fill(classOrd, -1);
        Arrays.fill(modalityOrd, -1);
        Arrays.fill(splitOrd, -1);
        Arrays.fill(row, -1);
        NumericDocValues idv = r.getNumericDocValues(LuceneSchema.ID);
        if (idv != null) {
            for (int doc = idv.nextDoc(); doc != DocIdSetIterator.NO_MORE_DOCS; doc = idv.nextDoc()) {
                ids[doc] = idv.longValue();
            }
        }
        ordinals(r.getSortedDocValues(LuceneSchema.CLASS), classOrd, ordinals);
        ordinals(r.getSortedDocValues(LuceneSchema.MODALITY), modalityOrd, ordinals);
        ordinals(r.getSortedDocValues(LuceneSchema.SPLIT), splitOrd, ordinals);
        hashes(r.getBinaryDocValues(LuceneSchema.SHA), shaHash);
        hashes(r.getBinaryDocValues(LuceneSchema.PATIENT), patientHash);
        hashes(r.getBinaryDocValues(LuceneSchema.STUDY), studyHash);

        FloatVectorValues fv = r.getFloatVectorValues(LuceneSchema.VECTOR);
        if (fv == null) {
            return;
        }
        // two passes: count per class, then copy each vector into its class block
        Map<Integer, Integer> counts = new HashMap<>();
        for (int doc = 0; doc < maxDoc; doc++) {
            if (ids[doc] >= 0 && classOrd[doc] >= 0) {
                counts.merge(classOrd[doc], 1, Integer::sum);
            }
        }
        Map<Integer, Integer> fill = new HashMap<>();
        counts.forEach((c, n) -> {
            docsByClass.put(c, new int[n]);
            vectorsByClass.put(c, new float[Math.multiplyExact(n, dim)]);
            fill.put(c, 0);
        });
        for (int doc = fv.nextDoc(); doc != DocIdSetIterator.NO_MORE_DOCS; doc = fv.nextDoc()) {
            int c = classOrd[doc];
            if (ids[doc] < 0 || c < 0) {
                continue;
            }
            int i = fill.get(c);
            fill.put(c, i + 1);
            docsByClass.get(c)[i] = doc;
            System.arraycopy(fv.vectorValue(), 0, vectorsByClass.get(c), i * dim, dim);
            row[doc] = i;
        }
    }

    private static void ordinals(SortedDocValues dv, int[] out, Ordinals ordinals) throws IOException {
        if (dv == null) {
            return;
        }
        int[] map = new int[dv.getValueCount()];
        for (int i = 0; i < map.length; i++) {
            map[i] = ordinals.ordinal(dv.lookupOrd(i).utf8ToString());
        }
        for (int doc = dv.nextDoc(); doc != DocIdSetIterator.NO_MORE_DOCS; doc = dv.nextDoc()) {
            out[doc] = map[dv.ordValue()];
        }
    }

    private static void hashes(BinaryDocValues dv, long[] out) throws IOException {
        if (dv == null) {
            return;
        }
        for (int doc = dv.nextDoc(); doc != DocIdSetIterator.NO_MORE_DOCS; doc = dv.nextDoc()) {
            out[doc] = hash(dv.binaryValue().utf8ToString());
        }
    }

    /** A 64-bit hash of a whole value (FNV-1a), for a fast reject; 0 means "none". */
    static long hash(String value) {
        long h = 0xcbf29ce484222325L;
        for (int i = 0; i < value.length(); i++) {
            h ^= value.charAt(i);
            h *= 0x100000001b3L;
        }
        return h == 0 ? 1 : h;
    }

    long heapBytes() {
        long b = (long) maxDoc * (8 + 4 * 4 + 8 * 3);
        for (float[] v : vectorsByClass.values()) {
            b += 4L * v.length;
        }
        return b;
    }
}
