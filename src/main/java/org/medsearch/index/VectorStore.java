package org.medsearch.index;

import java.io.Closeable;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A store of indexed images and their feature vectors, searchable by vector. {@link LuceneIndex}
 * is the embedded implementation; every implementation passes the same conformance suite.
 *
 * <h2>Search contract</h2>
 * {@link #search(float[], int, SearchFilter, SearchMode)} returns at most {@code k} images that pass
 * the {@link SearchFilter}, nearest first by squared Euclidean distance to the query (the paper's
 * mean squared error times the dimension: the same order), ties broken by ascending id. Every hit
 * carries its exact squared distance, computed from the full-precision vector, and the stored image.
 * <ul>
 *   <li>{@link SearchMode#EXACT}: exactly the brute-force top-k, ties included: the first
 *       {@code min(k, n)} of the n passing images sorted by (distance, id);</li>
 *   <li>{@link SearchMode#APPROXIMATE}: every hit passes the filter, carries its exact distance and
 *       comes in the exact order above; what is approximate is only which images are found: a true
 *       neighbour may be missed (recall below 1), and fewer than k hits may come back. Each store
 *       states how its recall is measured; the conformance suite holds it to a floor;</li>
 *   <li>{@link SearchMode#AUTO}: the store's planner picks one of the two per search
 *       ({@link SearchResults#path()} says which).</li>
 * </ul>
 *
 * <h2>Visibility and durability</h2>
 * {@link #add}, {@link #delete} and {@link #deleteByPath} become visible to searches, counts and
 * {@link #get} at the next {@link #refresh()} or {@link #commit()} of this store, all at once, and
 * not before; an image is wholly visible or not at all. Only {@link #commit()} makes them durable:
 * {@link #close()} drops what was not committed, and a crash keeps the last commit whole. Ids are
 * assigned by the store in increasing order; the id of a committed image is never handed out
 * again, not after a delete, a reopen or a crash.
 *
 * <h2>Threads</h2>
 * Every method but {@link #close()} may be called from several threads at once. Searches never
 * wait for an add, a delete or a commit in progress, and each runs against one point-in-time view.
 * Commits are serialised.
 *
 * <h2>Cost</h2>
 * An exact search computes one distance per image in the filter's classes (O(candidates x dim)),
 * and may keep a copy of the vectors in memory for it ({@link Stats#heapBytes()}); an approximate
 * search visits a small part of a proximity graph (about O(log n) steps) and re-ranks a bounded
 * number of candidates exactly, whatever the size of the store. A commit costs at least one
 * fsync; make it per batch, not per image.
 *
 * <pre>{@code
 * try (VectorStore store = LuceneIndex.openOrCreate(Path.of("index"), info)) {
 *     long id = store.add(image);
 *     store.commit(); // durable, and visible to searches
 *     SearchFilter f = SearchFilter.ALL.withClasses(Set.of("CXR")).excludingContent(image.contentHash());
 *     SearchResults r = store.search(queryVector, 10, f, SearchMode.EXACT);
 *     for (Hit h : r.hits()) {
 *         System.out.println(h.id() + " " + h.image().path() + " " + h.meanSquaredError());
 *     }
 * }
 * }</pre>
 */
public interface VectorStore extends Closeable {

    /** Which path a search takes. */
    enum SearchMode {
        /** The planner decides from the number of candidates. */
        AUTO,
        /** Always the exact scan. */
        EXACT,
        /** Always the approximate (graph) search. */
        APPROXIMATE
    }

    /**
     * Hits and how they were found.
     *
     * @param hits nearest first
     * @param path "exact" or "approximate"
     * @param candidates images in the filter's classes when the search started (deletions not subtracted)
     */
    record SearchResults(List<Hit> hits, String path, long candidates) {}

    /**
     * What {@code medsearch index --stats} prints.
     *
     * @param bytesByKind bytes on disk of the raw vectors, the quantised vectors, the proximity graph
     *     and everything else
     * @param segments the store's units of storage (Lucene segments, shards...)
     * @param heapBytes memory of the exact path's in-heap vector copies (built by the first exact search)
     * @param exactKernel the exact path's distance kernel ("vector API (...)" or "scalar")
     */
    record Stats(
            int images,
            Map<String, Integer> perClass,
            Map<String, Integer> perSplit,
            Map<String, Integer> perModality,
            long bytesOnDisk,
            Map<String, Long> bytesByKind,
            int segments,
            String modelFingerprint,
            String vectorFormat,
            long nextId,
            String createdBy,
            long heapBytes,
            String exactKernel) {}

    /**
     * What {@link #check()} found: {@code problems} empty means the store is consistent.
     *
     * @param images live images checked
     * @param problems one line each
     */
    record CheckReport(int images, List<String> problems) {
        public boolean ok() {
            return problems.isEmpty();
        }
    }

    /** What the store was built with: format, model fingerprint, classes, dimensions, vector format. */
    IndexInfo info();

    /**
     * Adds an image under a new id (its {@code id} field is ignored) and returns that id.
     *
     * @throws IllegalArgumentException if the vector's length is not {@link IndexInfo#dimensions()}
     * @throws IllegalStateException if the store was opened read-only
     */
    long add(IndexedImage image) throws IOException;

    /** Deletes the image with this id; nothing happens if there is none. */
    void delete(long id) throws IOException;

    /** Deletes every image with this source path. */
    void deleteByPath(String path) throws IOException;

    /** Makes every change so far durable and visible, atomically. */
    void commit() throws IOException;

    /** Makes every change so far (and other writers' commits) visible to searches, without making it durable. */
    void refresh() throws IOException;

    /** The visible image with this id, with its vector. */
    Optional<IndexedImage> get(long id) throws IOException;

    /** Visible images. */
    int size() throws IOException;

    /** Visible images per search class ({@link IndexedImage#searchClass()}), sorted by class. */
    Map<String, Integer> countsPerClass() throws IOException;

    /** Visible images per split ("train", "val", "test", or "none"), sorted. */
    Map<String, Integer> countsPerSplit() throws IOException;

    /** Visible images per modality ("none" when unknown), sorted. */
    Map<String, Integer> countsPerModality() throws IOException;

    /** Source path to content hash of every visible image (to skip unchanged files on re-indexing). */
    Map<String, String> contentHashesByPath() throws IOException;

    /** The k nearest images that pass the filter: see the search contract above. */
    SearchResults search(float[] query, int k, SearchFilter filter, SearchMode mode) throws IOException;

    /** {@link SearchMode#AUTO}'s hits. */
    default List<Hit> search(float[] query, int k, SearchFilter filter) throws IOException {
        return search(query, k, filter, SearchMode.AUTO).hits();
    }

    /**
     * Checks the store: the engine's own consistency check, then the invariants every store keeps:
     * every visible image has an id below the next id, a source path, a content hash, a class and a
     * vector; ids and paths are unique. Changes nothing.
     */
    CheckReport check() throws IOException;

    /** Counts, sizes and settings, for {@code medsearch index --stats}. */
    Stats stats() throws IOException;

    /** Releases the store; changes not committed are dropped. */
    @Override
    void close() throws IOException;
}
