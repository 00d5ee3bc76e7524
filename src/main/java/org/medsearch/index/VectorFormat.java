package org.medsearch.index;

import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.apache.lucene.codecs.KnnVectorsFormat;
import org.apache.lucene.codecs.lucene99.Lucene99HnswScalarQuantizedVectorsFormat;
import org.apache.lucene.codecs.lucene99.Lucene99HnswVectorsFormat;

/**
 * How an index stores its vectors for the approximate path. Both keep the full-precision vectors
 * too (Lucene needs them to merge segments, medsearch to re-rank and for the exact path).
 *
 * <ul>
 *   <li>{@link #FLOAT32}: an HNSW graph over 32-bit floats;</li>
 *   <li>{@link #INT8}: an HNSW graph over 7-bit scalar-quantised copies (Lucene's quantised HNSW):
 *       the bytes a graph search reads shrink about 4x; medsearch re-ranks the candidates exactly.</li>
 * </ul>
 */
public enum VectorFormat {
    FLOAT32,
    INT8;

    /** HNSW neighbours per node (Lucene's default). */
    public static final int MAX_CONN = 16;
    /** HNSW candidate queue while building (Lucene's default). */
    public static final int BEAM_WIDTH = 100;

    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static VectorFormat parse(String s) {
        for (VectorFormat f : values()) {
            if (f.key().equalsIgnoreCase(s.trim())) {
                return f;
            }
        }
        throw new IllegalArgumentException("vector format must be float32 or int8, got " + s);
    }

    /** Merges rebuild HNSW graphs; Lucene can spread that work over threads. */
    private static final int MERGE_WORKERS = Math.max(1, Runtime.getRuntime().availableProcessors());

    private static final ExecutorService MERGE_EXEC = MERGE_WORKERS == 1
            ? null
            : Executors.newFixedThreadPool(MERGE_WORKERS, r -> {
                Thread t = new Thread(r, "medsearch-hnsw-merge");
                t.setDaemon(true);
                return t;
            });

    KnnVectorsFormat luceneFormat() {
        return this == FLOAT32
                ? new Lucene99HnswVectorsFormat(MAX_CONN, BEAM_WIDTH, MERGE_WORKERS, MERGE_EXEC)
                : new Lucene99HnswScalarQuantizedVectorsFormat(
                        MAX_CONN, BEAM_WIDTH, MERGE_WORKERS, 7, false, null, MERGE_EXEC);
    }

    /** "hnsw-float32 (M=16, beam=100)". */
    public String describe() {
        return "hnsw-" + key() + " (M=" + MAX_CONN + ", beam=" + BEAM_WIDTH + ")";
    }
}
