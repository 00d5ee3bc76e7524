package org.medsearch.index;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.UnaryOperator;
import org.apache.lucene.document.LongPoint;
import org.apache.lucene.index.CorruptIndexException;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexFormatTooNewException;
import org.apache.lucene.index.IndexFormatTooOldException;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.SegmentInfos;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.SearcherManager;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.FSDirectory;
import org.medsearch.util.MedsearchException;

/**
 * The embedded {@link VectorStore}: Apache Lucene on disk, one document per image (id, source path,
 * label, predicted class, content hash, technical metadata, salted patient and study keys, and the
 * 512-d vector with an HNSW graph), with the index-wide facts ({@link IndexInfo}: format, model
 * fingerprint, classes, vector format) and the next id in every commit's user data
 * ({@link LuceneSchema}).
 *
 * <p>It keeps {@link VectorStore}'s search contract with two paths:
 * <ul>
 *   <li><b>exact</b> ({@link ExactSearch}): a scan of every candidate over in-heap copies of the
 *       vectors, built per segment by the first exact search that meets the segment;</li>
 *   <li><b>approximate</b> ({@link HnswSearch}): Lucene's filtered HNSW search, then an exact
 *       re-rank of its candidates from Lucene's files; recall is measured by
 *       {@code medsearch bench-index}.</li>
 * </ul>
 * {@link SearchMode#AUTO} ({@link SearchPlanner}) scans when the filter's classes hold at most
 * {@link #exactThreshold()} images, and walks the graph otherwise. A search sees the state of the
 * last {@link #refresh()} or {@link #commit()} of this process, or the last commit of another.
 *
 * <p>Durability: a commit is atomic (Lucene's), so a crash at any moment leaves the last committed
 * state, which opens and passes {@link #check(Path)}. Writes go through {@link LuceneWriter};
 * counts and listings through {@link IndexStats}; checks through {@link IndexCheck}. One process
 * at a time may open an index for writing.
 *
 * <pre>{@code
 * try (LuceneIndex index = LuceneIndex.openOrCreate(Path.of("index"), info)) {
 *     index.add(image);
 *     index.commit();
 *     SearchResults r = index.search(queryVector, 10, SearchFilter.ALL.withClasses(Set.of("CXR")), SearchMode.EXACT);
 * }
 * }</pre>
 */
public final class LuceneIndex implements VectorStore {

    public static final String FORMAT = "medsearch-index/1";
    /** Lucene's files live in this sub-folder; the folder itself holds medsearch's own files. */
    public static final String LUCENE_DIR = "lucene";
    /** Candidates up to which {@link SearchMode#AUTO} scans instead of walking the graph. */
    public static final int DEFAULT_EXACT_THRESHOLD = 100_000;

    /** Candidates a graph search fetches before the exact re-rank, unless set. */
    public static final int DEFAULT_APPROXIMATE_FETCH = 100;

    private final Path dir;
    private final Directory directory;
    /** Null when opened read-only. */
    private final LuceneWriter writer;

    private final SearcherManager searchers;
    private final IndexInfo info;
    private final long committedNextId;
    private final HeapCopies copies;
    private final SearchPlanner planner = new SearchPlanner();

    private LuceneIndex(Path dir, Directory directory, LuceneWriter writer, IndexInfo info, long nextId)
            throws IOException {
        this.dir = dir;
        this.directory = directory;
        this.writer = writer;
        this.info = info;
        this.committedNextId = nextId;
        this.copies = new HeapCopies(info.dimensions());
        this.searchers =
                writer != null ? new SearcherManager(writer.writer(), null) : new SearcherManager(directory, null);
    }

    /** Creates a new, empty index (committed at once, so it exists on disk); fails if one is there. */
    public static LuceneIndex create(Path dir, IndexInfo info) throws IOException {
        return create(dir, info, UnaryOperator.identity());
    }

    /** {@link #create(Path, IndexInfo)} on Lucene's directory as {@code wrap} returns it (tests wrap it). */
    static LuceneIndex create(Path dir, IndexInfo info, UnaryOperator<Directory> wrap) throws IOException {
        if (exists(dir)) {
            throw new MedsearchException("an index already exists in " + dir);
        }
        try {
            Files.createDirectories(dir.resolve(LUCENE_DIR));
        } catch (AccessDeniedException e) {
            throw new MedsearchException("cannot create index " + dir + ": permission denied");
        }
        Directory d = wrap.apply(FSDirectory.open(dir.resolve(LUCENE_DIR)));
        LuceneWriter w = LuceneWriter.open(dir, d, IndexWriterConfig.OpenMode.CREATE, info, 0);
        LuceneIndex index = new LuceneIndex(dir, d, w, info, 0);
        index.commit();
        return index;
    }

    /** Whether {@code dir} holds a committed index. */
    public static boolean exists(Path dir) throws IOException {
        Path l = dir.resolve(LUCENE_DIR);
        if (!Files.isDirectory(l)) {
            return false;
        }
        try (Directory d = FSDirectory.open(l)) {
            return DirectoryReader.indexExists(d);
        }
    }

    /**
     * Opens an existing index for search ({@code writable == false}) or for updates.
     *
     * @throws MedsearchException when {@code dir} holds no index, an index of another format, or a
     *     damaged one, and when another process is writing it
     */
    public static LuceneIndex open(Path dir, boolean writable) throws IOException {
        requireIndex(dir);
        Directory d = FSDirectory.open(dir.resolve(LUCENE_DIR));
        try {
            Map<String, String> data = SegmentInfos.readLatestCommit(d).getUserData();
            IndexInfo info = LuceneSchema.info(dir, data);
            long next = LuceneSchema.nextId(data);
            LuceneWriter w = writable ? LuceneWriter.open(dir, d, IndexWriterConfig.OpenMode.APPEND, info, next) : null;
            return new LuceneIndex(dir, d, w, info, next);
        } catch (IndexFormatTooOldException | IndexFormatTooNewException e) {
            d.close();
            throw new MedsearchException(dir + " was written by an incompatible Lucene version; rebuild the index");
        } catch (CorruptIndexException | java.io.EOFException e) {
            d.close();
            throw new MedsearchException(
                    dir + " is damaged (" + oneLine(e) + "); run 'medsearch index --check'"
                            + " and rebuild the index from its images",
                    e);
        } catch (AccessDeniedException e) {
            d.close();
            throw new MedsearchException("cannot read index " + dir + ": permission denied (" + e.getFile() + ")");
        } catch (IOException | RuntimeException e) {
            d.close();
            throw e;
        }
    }

    /** A one-line user error, naming {@code dir}, unless it holds a committed index this user can read. */
    private static void requireIndex(Path dir) throws IOException {
        try {
            if (!exists(dir)) {
                throw new MedsearchException("index not found: " + dir + " (build one with 'medsearch index')");
            }
        } catch (AccessDeniedException e) {
            throw new MedsearchException("cannot read index " + dir + ": permission denied");
        }
    }

    /**
     * Opens the index in {@code dir} for updates, creating it when absent.
     *
     * @throws MedsearchException if the existing index holds vectors of another model
     */
    public static LuceneIndex openOrCreate(Path dir, IndexInfo info) throws IOException {
        if (!exists(dir)) {
            return create(dir, info);
        }
        LuceneIndex index = open(dir, true);
        if (!index.info.modelFingerprint().equals(info.modelFingerprint())) {
            String other = index.info.modelFingerprint();
            index.close();
            throw new MedsearchException("index " + dir + " holds vectors of another model (" + other
                    + "); this model is " + info.modelFingerprint() + ": use a new --index, or the matching --model");
        }
        return index;
    }

    static String oneLine(Throwable e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return m.replaceAll("\\s+", " ");
    }

    @Override
    public IndexInfo info() {
        return info;
    }

    public Path directory() {
        return dir;
    }

    public int exactThreshold() {
        return planner.exactThreshold();
    }

    /** Candidates up to which the planner scans (default {@value #DEFAULT_EXACT_THRESHOLD}). */
    public void setExactThreshold(int n) {
        planner.setExactThreshold(n);
    }

    /** Candidates the graph search fetches before the exact re-rank (default {@value #DEFAULT_APPROXIMATE_FETCH}, at least k). */
    public void setApproximateFetch(int n) {
        planner.setApproximateFetch(n);
    }

    /** Adds an image with a new id (its {@code id} field is ignored) and returns the id. Thread-safe. */
    @Override
    public long add(IndexedImage img) throws IOException {
        requireWriter();
        info.requireDimensions(img.vector(), "vector");
        return writer.add(img);
    }

    @Override
    public void deleteByPath(String path) throws IOException {
        requireWriter();
        writer.deleteByPath(path);
    }

    @Override
    public void delete(long id) throws IOException {
        requireWriter();
        writer.delete(id);
    }

    /** Makes everything added so far durable and visible to every reader, atomically. */
    @Override
    public void commit() throws IOException {
        requireWriter();
        writer.commit(searchers::maybeRefreshBlocking);
    }

    /** Waits until background merges (which rebuild HNSW graphs) have finished; for benchmarks. */
    public void waitForMerges() throws IOException {
        requireWriter();
        writer.waitForMerges();
    }

    /** Makes additions visible to this process's searches without making them durable. */
    @Override
    public void refresh() throws IOException {
        searchers.maybeRefreshBlocking();
    }

    private void requireWriter() {
        if (writer == null) {
            throw new IllegalStateException("index opened read-only");
        }
    }

    private long nextId() {
        return writer != null ? writer.nextId() : committedNextId;
    }

    private interface SearcherBody<T> {
        T apply(IndexSearcher s) throws IOException;
    }

    /** Runs {@code body} on one point-in-time searcher. */
    private <T> T withSearcher(SearcherBody<T> body) throws IOException {
        IndexSearcher s = searchers.acquire();
        try {
            return body.apply(s);
        } finally {
            searchers.release(s);
        }
    }

    /** Runs {@code body} on one point-in-time snapshot, whose in-heap copies are built only if it asks. */
    private <T> T withSnapshot(Snapshot.Body<T> body) throws IOException {
        return withSearcher(s -> body.apply(new Snapshot(s, copies)));
    }

    @Override
    public int size() throws IOException {
        return withSearcher(s -> s.getIndexReader().numDocs());
    }

    @Override
    public Map<String, Integer> countsPerClass() throws IOException {
        return withSearcher(s -> IndexStats.counts(s, LuceneSchema.CLASS));
    }

    @Override
    public Map<String, Integer> countsPerSplit() throws IOException {
        return withSearcher(s -> IndexStats.counts(s, LuceneSchema.SPLIT));
    }

    @Override
    public Map<String, Integer> countsPerModality() throws IOException {
        return withSearcher(s -> IndexStats.counts(s, LuceneSchema.MODALITY));
    }

    @Override
    public Map<String, String> contentHashesByPath() throws IOException {
        return withSearcher(IndexStats::contentHashesByPath);
    }

    @Override
    public Optional<IndexedImage> get(long id) throws IOException {
        return withSnapshot(s -> {
            TopDocs top = s.searcher.search(LongPoint.newExactQuery(LuceneSchema.ID, id), 1);
            if (top.scoreDocs.length == 0) {
                return Optional.empty();
            }
            int doc = top.scoreDocs[0].doc;
            float[][] vector = new float[1][];
            s.forEachVector(new int[] {doc}, (d, i, v) -> vector[0] = v.clone());
            return Optional.of(LuceneSchema.image(s.searcher.storedFields(), doc, vector[0]));
        });
    }

    @Override
    public SearchResults search(float[] query, int k, SearchFilter filter, SearchMode mode) throws IOException {
        info.requireDimensions(query, "query");
        if (k < 1) {
            return new SearchResults(List.of(), "exact", 0);
        }
        CompiledFilter f = new CompiledFilter(filter, copies);
        return withSnapshot(s -> planner.search(s, query, k, f, mode));
    }

    /** Counts only what searches built: stats never builds the in-heap copies. */
    @Override
    public Stats stats() throws IOException {
        Map<String, Long> kinds = IndexStats.bytesByKind(directory);
        long diskBytes = kinds.values().stream().mapToLong(Long::longValue).sum();
        long heapBytes = copies.heapBytes();
        return withSearcher(s -> new Stats(
                s.getIndexReader().numDocs(),
                IndexStats.counts(s, LuceneSchema.CLASS),
                IndexStats.counts(s, LuceneSchema.SPLIT),
                IndexStats.counts(s, LuceneSchema.MODALITY),
                diskBytes,
                kinds,
                s.getIndexReader().leaves().size(),
                info.modelFingerprint(),
                info.vectorFormat().describe(),
                nextId(),
                info.createdBy(),
                heapBytes,
                Distances.kernel()));
    }

    /**
     * Checks the index in {@code dir}: Lucene's own check of every segment (checksums, postings, doc
     * values, vectors, the HNSW graph), then medsearch's invariants (see {@link VectorStore#check()}).
     *
     * <p>Read-only: it creates, locks for writing and changes no file, so it works on an index the
     * user may only read. While it runs it holds a shared lock on Lucene's {@code write.lock} (when
     * that file exists and can be read), which an {@code IndexWriter}'s exclusive lock excludes: an
     * index being written is refused with a one-line message, and no writer starts during the check.
     *
     * @throws MedsearchException when {@code dir} holds no index, or another process is writing it
     */
    public static CheckReport check(Path dir) throws IOException {
        requireIndex(dir);
        try (IndexCheck.SharedWriteLock guard = IndexCheck.SharedWriteLock.tryAcquire(dir.resolve(LUCENE_DIR))) {
            if (guard == null) {
                throw beingWritten(dir);
            }
            try (LuceneIndex index = open(dir, false)) {
                return index.checkUnguarded();
            }
        }
    }

    /**
     * Checks this open index (see {@link #check(Path)}): the invariants over what its searches see,
     * Lucene's check over the last commit. Opened for writing, it holds back commits meanwhile;
     * opened read-only, it refuses while another writer holds the index, as {@link #check(Path)} does.
     */
    @Override
    public CheckReport check() throws IOException {
        if (writer != null) {
            return writer.withoutCommits(this::checkUnguarded);
        }
        try (IndexCheck.SharedWriteLock guard = IndexCheck.SharedWriteLock.tryAcquire(dir.resolve(LUCENE_DIR))) {
            if (guard == null) {
                throw beingWritten(dir);
            }
            return checkUnguarded();
        }
    }

    private static MedsearchException beingWritten(Path dir) {
        return new MedsearchException("index " + dir + " is being written by another process; check it when that ends");
    }

    private CheckReport checkUnguarded() throws IOException {
        List<String> problems = new ArrayList<>();
        int images = withSnapshot(s -> IndexCheck.invariants(s, nextId(), problems));
        IndexCheck.lucene(dir.resolve(LUCENE_DIR), problems);
        return new CheckReport(images, problems);
    }

    @Override
    public void close() throws IOException {
        try {
            searchers.close();
            if (writer != null) {
                // uncommitted changes are dropped on purpose: commits are explicit
                writer.rollback();
            }
        } finally {
            directory.close();
        }
    }
}
