package org.medsearch.service;

import java.io.IOException;
import java.nio.file.Path;
import org.medsearch.index.IndexInfo;
import org.medsearch.index.LuceneIndex;
import org.medsearch.index.VectorStore;

/**
 * Where an index location becomes a {@link VectorStore}: the one place that chooses the store's
 * implementation (today the embedded Lucene index in a directory). Everything above the service
 * layer opens, creates and checks indexes through here, and searches them through
 * {@link SearchService}.
 *
 * <pre>{@code
 * try (VectorStore store = Stores.open(Path.of("index"), false, Stores.DEFAULT_FETCH)) {
 *     SearchService service = new SearchService(backend, store);
 * }
 * }</pre>
 */
public final class Stores {
    private Stores() {}

    /** Graph-search candidates re-ranked exactly, unless told otherwise. */
    public static final int DEFAULT_FETCH = LuceneIndex.DEFAULT_APPROXIMATE_FETCH;

    /** Whether an index exists at {@code dir}. */
    public static boolean exists(Path dir) throws IOException {
        return LuceneIndex.exists(dir);
    }

    /**
     * Opens an existing index.
     *
     * @param writable false opens it read-only (no lock is taken)
     * @param fetch graph-search candidates re-ranked exactly
     */
    public static VectorStore open(Path dir, boolean writable, int fetch) throws IOException {
        LuceneIndex index = LuceneIndex.open(dir, writable);
        index.setApproximateFetch(fetch);
        return index;
    }

    /** Opens an existing index with the default fetch. */
    public static VectorStore open(Path dir, boolean writable) throws IOException {
        return open(dir, writable, DEFAULT_FETCH);
    }

    /** Opens the index at {@code dir} for writing, creating it for {@code info} if there is none. */
    public static VectorStore openOrCreate(Path dir, IndexInfo info) throws IOException {
        return LuceneIndex.openOrCreate(dir, info);
    }

    /** Checks an index's consistency without opening it for writing. */
    public static VectorStore.CheckReport check(Path dir) throws IOException {
        return LuceneIndex.check(dir);
    }

    /** The format new indexes record. */
    public static String format() {
        return LuceneIndex.FORMAT;
    }

    /** Where files that belong with {@code store} are kept (the server's uploads): its directory. */
    static Path directoryOf(VectorStore store) {
        if (store instanceof LuceneIndex li) {
            return li.directory();
        }
        throw new IllegalArgumentException(
                "a store without a local directory: " + store.getClass().getName());
    }
}
