package org.medsearch.service;

import java.io.IOException;
import java.nio.file.Path;
import org.medsearch.dataset.PatientKeys;
import org.medsearch.index.IndexInfo;
import org.medsearch.index.LuceneIndex;
import org.medsearch.index.VectorStore;
import org.medsearch.index.solr.SolrVectorStore;

/**
 * Where an index location becomes a {@link VectorStore}: the one place that chooses the store's
 * implementation, the embedded Lucene index in a directory ({@link LuceneIndex}) or a SolrCloud
 * collection ({@link SolrVectorStore}), from the {@link IndexLocation}. Everything above the service
 * layer opens, creates and checks indexes through here, and searches them through
 * {@link SearchService}.
 *
 * <pre>{@code
 * try (VectorStore store = Stores.open(IndexLocation.parse("solr://zk:2181/images"), false, Stores.DEFAULT_FETCH)) {
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

    /** Whether an index exists at {@code location}. */
    public static boolean exists(IndexLocation location) throws IOException {
        return location.isSolr() ? SolrVectorStore.exists(location.solr()) : exists(location.directory());
    }

    /**
     * Opens an existing index.
     *
     * @param writable false opens it read-only (no lock is taken)
     * @param fetch graph-search candidates re-ranked exactly
     */
    public static VectorStore open(IndexLocation location, boolean writable, int fetch) throws IOException {
        if (location.isSolr()) {
            SolrVectorStore s = SolrVectorStore.open(location.solr(), writable);
            s.setApproximateFetch(fetch);
            return s;
        }
        return open(location.directory(), writable, fetch);
    }

    /** Opens an existing index with the default fetch. */
    public static VectorStore open(IndexLocation location, boolean writable) throws IOException {
        return open(location, writable, DEFAULT_FETCH);
    }

    /**
     * Opens an existing index in a directory.
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

    /**
     * Opens the index at {@code location} for writing, creating it for {@code info} if there is none
     * (a Solr collection must exist: {@code medsearch solr create}; its first writer records {@code info}).
     */
    public static VectorStore openOrCreate(IndexLocation location, IndexInfo info) throws IOException {
        return location.isSolr()
                ? SolrVectorStore.openOrCreate(location.solr(), info)
                : openOrCreate(location.directory(), info);
    }

    /** Opens the index at {@code dir} for writing, creating it for {@code info} if there is none. */
    public static VectorStore openOrCreate(Path dir, IndexInfo info) throws IOException {
        return LuceneIndex.openOrCreate(dir, info);
    }

    /** Checks an index's consistency without opening it for writing. */
    public static VectorStore.CheckReport check(IndexLocation location) throws IOException {
        if (location.isSolr()) {
            try (VectorStore s = SolrVectorStore.open(location.solr(), false)) {
                return s.check();
            }
        }
        return LuceneIndex.check(location.directory());
    }

    /** The format new indexes record. */
    public static String format() {
        return LuceneIndex.FORMAT;
    }

    /**
     * The patient keys of the index at {@code location}: the salt file beside an embedded index; for
     * a Solr collection, this installation's salt file ({@link #solrSaltFile()}), which every
     * machine writing the collection must share, checked against the collection's record of it.
     *
     * @param create make the salt when there is none (indexing); else null when there is none
     */
    public static PatientKeys patientKeys(IndexLocation location, VectorStore store, boolean create)
            throws IOException {
        if (!location.isSolr()) {
            Path f = PatientKeys.saltFile(location.directory());
            return create ? PatientKeys.loadOrCreate(f) : PatientKeys.loadIfPresent(f);
        }
        Path f = solrSaltFile();
        if (create) {
            java.nio.file.Files.createDirectories(f.toAbsolutePath().getParent());
        }
        PatientKeys keys = create ? PatientKeys.loadOrCreate(f) : PatientKeys.loadIfPresent(f);
        if (keys != null && store instanceof SolrVectorStore s) {
            s.verifyPatientKeys(keys.key(SALT_CHECK), f, create);
        }
        return keys;
    }

    /**
     * Where {@link PacsSync} remembers what a PACS gave that the index does not hold (undecodable
     * instances): inside an index directory, as its salt; for a Solr collection, beside the salt file.
     */
    public static Path pacsLedger(IndexLocation location, String source) {
        String name = "dicomweb-ledger-"
                + org.medsearch.util.Hashing.sha256Hex(source).substring(0, 12) + ".json";
        if (!location.isSolr()) {
            return location.directory().resolve(name);
        }
        Path dir = solrSaltFile().toAbsolutePath().getParent();
        return dir.resolve("dicomweb").resolve(location.toString().replaceAll("[^A-Za-z0-9._-]", "_") + "-" + name);
    }

    private static final String SALT_CHECK = "medsearch salt check";

    /**
     * The patient-key salt for Solr collections: {@code $MEDSEARCH_PATIENT_SALT}, else
     * {@code ~/.medsearch/patient-salt}. The salt never goes to Solr, only a check value of it.
     */
    public static Path solrSaltFile() {
        String env = System.getenv("MEDSEARCH_PATIENT_SALT");
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        return Path.of(System.getProperty("user.home"), ".medsearch", "patient-salt");
    }

    /**
     * Where the server keeps uploads added to {@code store}: {@code <index>/uploads} beside an
     * embedded index; for a Solr collection {@code $MEDSEARCH_UPLOADS/<collection>}, else
     * {@code ~/.medsearch/uploads/<collection>} (servers that share a collection need this on a
     * shared file system: the index stores the upload's path).
     */
    static Path uploadsDirectory(VectorStore store) {
        if (store instanceof LuceneIndex li) {
            return li.directory().resolve("uploads");
        }
        if (store instanceof SolrVectorStore s) {
            String env = System.getenv("MEDSEARCH_UPLOADS");
            Path root = env != null && !env.isBlank()
                    ? Path.of(env)
                    : Path.of(System.getProperty("user.home"), ".medsearch", "uploads");
            return root.resolve(s.collection());
        }
        throw new IllegalArgumentException(
                "a store without an uploads folder: " + store.getClass().getName());
    }

    /** How reports name the store: its directory, or its Solr collection. */
    static String describe(VectorStore store) {
        if (store instanceof LuceneIndex li) {
            return li.directory().toString();
        }
        if (store instanceof SolrVectorStore s) {
            return "solr collection " + s.collection();
        }
        return store.getClass().getSimpleName();
    }
}
