package org.medsearch.index;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.lucene.codecs.KnnVectorsFormat;
import org.apache.lucene.codecs.lucene912.Lucene912Codec;
import org.apache.lucene.document.BinaryDocValuesField;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.KnnFloatVectorField;
import org.apache.lucene.document.LongPoint;
import org.apache.lucene.document.NumericDocValuesField;
import org.apache.lucene.document.SortedDocValuesField;
import org.apache.lucene.document.StoredField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.index.BinaryDocValues;
import org.apache.lucene.index.CheckIndex;
import org.apache.lucene.index.CorruptIndexException;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.FloatVectorValues;
import org.apache.lucene.index.IndexFormatTooNewException;
import org.apache.lucene.index.IndexFormatTooOldException;
import org.apache.lucene.index.IndexReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.NumericDocValues;
import org.apache.lucene.index.SegmentInfos;
import org.apache.lucene.index.SortedDocValues;
import org.apache.lucene.index.StoredFields;
import org.apache.lucene.index.Term;
import org.apache.lucene.index.TieredMergePolicy;
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.SearcherManager;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.FSDirectory;
import org.apache.lucene.store.LockObtainFailedException;
import org.apache.lucene.store.NoLockFactory;
import org.apache.lucene.util.Bits;
import org.apache.lucene.util.BytesRef;
import org.medsearch.util.Json;
import org.medsearch.util.MedsearchException;
import org.medsearch.util.Version;

/**
 * The image index: Apache Lucene on disk, one document per image (id, source path, label, predicted
 * class, content hash, technical metadata, salted patient and study keys, and the 512-d vector as a
 * {@link KnnFloatVectorField} with an HNSW graph), with the index-wide facts ({@link IndexInfo}:
 * format, model fingerprint, classes, vector format) in every commit's user data.
 *
 * <p>Search contract ({@link #search(float[], int, SearchFilter, SearchMode)}): at most k images
 * that pass the filter, nearest first by squared Euclidean distance (the paper's mean squared error
 * times the dimension: the same order), ties broken by ascending id. Two paths give this contract:
 * <ul>
 *   <li><b>exact</b> ({@link ExactSearch}): a scan of every candidate; it returns exactly the
 *       brute-force top-k, ties included;</li>
 *   <li><b>approximate</b> ({@link HnswSearch}): Lucene's filtered HNSW search, then an exact
 *       re-rank of its candidates; every result is correct and correctly ordered, but a true
 *       neighbour may be missed (see the recall figures of {@code medsearch bench-index}).</li>
 * </ul>
 * {@link SearchMode#AUTO} (the planner) scans when the filter's classes hold at most
 * {@link #exactThreshold()} images, and walks the graph otherwise; {@link SearchMode#EXACT} always
 * scans. A search sees the state of the last {@link #refresh()} or {@link #commit()} of this process,
 * or the last commit of another; an image is either wholly visible or not at all.
 *
 * <p>Durability contract: nothing reaches the disk for good before {@link #commit()}; a commit is
 * atomic (Lucene's), so a crash at any moment leaves the last committed state, which opens and
 * passes {@link #check()}. Ids are never reused: the next id is part of each commit.
 *
 * <p>Threading: searches, {@link #add} and {@link #commit} may run on several threads at once.
 *
 * <pre>{@code
 * try (LuceneIndex index = LuceneIndex.openOrCreate(Path.of("index"), info)) {
 *     index.add(image);
 *     index.commit();
 *     List<Hit> top = index.search(queryVector, 10, SearchFilter.ALL.withClasses(Set.of("CXR")));
 * }
 * }</pre>
 */
public final class LuceneIndex implements Closeable {

    public static final String FORMAT = "medsearch-index/1";
    /** Lucene's files live in this sub-folder; the folder itself holds medsearch's own files. */
    public static final String LUCENE_DIR = "lucene";
    /** Candidates up to which {@link SearchMode#AUTO} scans instead of walking the graph. */
    public static final int DEFAULT_EXACT_THRESHOLD = 100_000;

    /** Candidates a graph search fetches before the exact re-rank, unless set. */
    public static final int DEFAULT_APPROXIMATE_FETCH = 100;

    static final String ID = "id";
    static final String PATH = "path";
    static final String LABEL = "label";
    static final String CLASS = "class";
    static final String PREDICTED = "predicted";
    static final String CONFIDENCE = "confidence";
    static final String SHA = "sha256";
    static final String VECTOR = "vector";
    static final String SPLIT = "split";
    static final String MODALITY = "modality";
    static final String PATIENT = "patient";
    static final String STUDY = "study";
    static final String META = "meta";
    static final String MODEL = "model";

    private static final String K_FORMAT = "medsearch.format";
    private static final String K_MODEL = "medsearch.model";
    private static final String K_CLASSES = "medsearch.classes";
    private static final String K_DIMS = "medsearch.dims";
    private static final String K_CREATED_BY = "medsearch.createdBy";
    private static final String K_NEXT_ID = "medsearch.nextId";
    private static final String K_VECTORS = "medsearch.vectors";
    private static final String K_IMAGE_SIZE = "medsearch.imageSize";

    /** Which path a search takes. */
    public enum SearchMode {
        /** The planner decides from the number of candidates. */
        AUTO,
        /** Always the exact scan. */
        EXACT,
        /** Always the HNSW graph. */
        APPROXIMATE
    }

    /**
     * Hits and how they were found.
     *
     * @param hits nearest first
     * @param path "exact" or "approximate"
     * @param candidates images in the filter's classes when the search started (deletions not subtracted)
     */
    public record SearchResults(List<Hit> hits, String path, long candidates) {}

    private final Path dir;
    private final Directory directory;
    private final IndexWriter writer;
    private final SearcherManager searchers;
    private final IndexInfo info;
    private final AtomicLong nextId;
    private final Map<Object, SegmentData> segments = new ConcurrentHashMap<>();
    private final Map<String, Integer> ordinals = new ConcurrentHashMap<>();
    private volatile int exactThreshold = DEFAULT_EXACT_THRESHOLD;
    private volatile int approximateFetch = DEFAULT_APPROXIMATE_FETCH;

    private LuceneIndex(Path dir, Directory directory, IndexWriter writer, IndexInfo info, long nextId)
            throws IOException {
        this.dir = dir;
        this.directory = directory;
        this.writer = writer;
        this.info = info;
        this.nextId = new AtomicLong(nextId);
        this.searchers = writer != null ? new SearcherManager(writer, null) : new SearcherManager(directory, null);
    }

    /** Creates a new, empty index (committed at once, so it exists on disk); fails if one is there. */
    public static LuceneIndex create(Path dir, IndexInfo info) throws IOException {
        if (exists(dir)) {
            throw new MedsearchException("an index already exists in " + dir);
        }
        try {
            Files.createDirectories(dir.resolve(LUCENE_DIR));
        } catch (AccessDeniedException e) {
            throw new MedsearchException("cannot create index " + dir + ": permission denied");
        }
        Directory d = FSDirectory.open(dir.resolve(LUCENE_DIR));
        IndexWriter w = openWriter(dir, d, IndexWriterConfig.OpenMode.CREATE, info.vectorFormat());
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
            IndexInfo info = parseInfo(dir, data);
            long next = Long.parseLong(data.getOrDefault(K_NEXT_ID, "0"));
            IndexWriter w = writable ? openWriter(dir, d, IndexWriterConfig.OpenMode.APPEND, info.vectorFormat()) : null;
            return new LuceneIndex(dir, d, w, info, next);
        } catch (IndexFormatTooOldException | IndexFormatTooNewException e) {
            d.close();
            throw new MedsearchException(dir + " was written by an incompatible Lucene version; rebuild the index");
        } catch (CorruptIndexException | java.io.EOFException e) {
            d.close();
            throw new MedsearchException(dir + " is damaged (" + oneLine(e) + "); run 'medsearch index --check'"
                    + " and rebuild the index from its images", e);
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

    private static IndexWriter openWriter(Path dir, Directory d, IndexWriterConfig.OpenMode mode, VectorFormat vf)
            throws IOException {
        KnnVectorsFormat knn = vf.luceneFormat();
        IndexWriterConfig cfg = new IndexWriterConfig();
        cfg.setCodec(new Lucene912Codec() {
            @Override
            public KnnVectorsFormat getKnnVectorsFormatForField(String field) {
                return knn;
            }
        });
        cfg.setOpenMode(mode);
        // large in-memory segments: each flushed segment builds its HNSW graph once, and fewer
        // merges rebuild graphs; fewer, larger segments also make searches cheaper
        cfg.setRAMBufferSizeMB(256);
        TieredMergePolicy mp = new TieredMergePolicy();
        mp.setSegmentsPerTier(16);
        // separate files per part, so that --stats can tell vectors, graph and documents apart
        mp.setNoCFSRatio(0);
        cfg.setUseCompoundFile(false);
        cfg.setMergePolicy(mp);
        cfg.setCommitOnClose(false);
        try {
            // fail now, not at the first commit, when files cannot be created here (read-only, immutable)
            Path probe = dir.resolve(LUCENE_DIR).resolve(".medsearch-write-probe");
            Files.deleteIfExists(probe);
            Files.createFile(probe);
            Files.delete(probe);
            return new IndexWriter(d, cfg);
        } catch (LockObtainFailedException e) {
            d.close();
            throw new MedsearchException("index " + dir + " is being written by another process");
        } catch (AccessDeniedException e) {
            d.close();
            throw new MedsearchException("cannot write index " + dir + ": permission denied");
        } catch (FileSystemException e) {
            d.close();
            throw new MedsearchException("cannot write index " + dir + ": " + (e.getReason() == null ? oneLine(e)
                    : e.getReason()));
        }
    }

    private static IndexInfo parseInfo(Path dir, Map<String, String> data) throws MedsearchException {
        String format = data.get(K_FORMAT);
        if (format == null) {
            throw new MedsearchException(dir + " is a Lucene index, but not one medsearch wrote");
        }
        if (!FORMAT.equals(format)) {
            throw new MedsearchException(dir + " has index format '" + format + "'; this medsearch reads " + FORMAT);
        }
        try {
            List<String> classes = Json.MAPPER.readValue(data.get(K_CLASSES), new TypeReference<List<String>>() {});
            VectorFormat vf = VectorFormat.parse(data.getOrDefault(K_VECTORS, "float32"));
            return new IndexInfo(format, data.get(K_MODEL), classes, Integer.parseInt(data.get(K_DIMS)),
                    data.get(K_CREATED_BY), vf, Integer.parseInt(data.getOrDefault(K_IMAGE_SIZE, "0")));
        } catch (JsonProcessingException | RuntimeException e) {
            throw new MedsearchException(dir + ": damaged index metadata");
        }
    }

    private static String oneLine(Throwable e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return m.replaceAll("\\s+", " ");
    }

    public IndexInfo info() {
        return info;
    }

    public Path directory() {
        return dir;
    }

    public int exactThreshold() {
        return exactThreshold;
    }

    /** Candidates up to which the planner scans (default {@value #DEFAULT_EXACT_THRESHOLD}). */
    public void setExactThreshold(int n) {
        this.exactThreshold = Math.max(0, n);
    }

    /** Candidates the graph search fetches before the exact re-rank (default {@value #DEFAULT_APPROXIMATE_FETCH}, at least k). */
    public void setApproximateFetch(int n) {
        this.approximateFetch = Math.max(1, n);
    }

    /** Adds an image with a new id (its {@code id} field is ignored) and returns the id. Thread-safe. */
    public long add(IndexedImage img) throws IOException {
        requireWriter();
        if (img.vector().length != info.dimensions()) {
            throw new IllegalArgumentException("vector of " + img.vector().length + " dimensions, index has "
                    + info.dimensions());
        }
        long id = nextId.getAndIncrement();
        try {
            writer.addDocument(toDocument(img.withId(id)));
        } catch (IllegalStateException | IOException e) {
            throw writeFailure(e);
        }
        return id;
    }

    /** Deletes every image with this source path. */
    public void deleteByPath(String path) throws IOException {
        requireWriter();
        writer.deleteDocuments(new Term(PATH, path));
    }

    /** Deletes one image by id. */
    public void delete(long id) throws IOException {
        requireWriter();
        writer.deleteDocuments(LongPoint.newExactQuery(ID, id));
    }

    /** Makes everything added so far durable and visible to every reader, atomically. */
    public synchronized void commit() throws IOException {
        requireWriter();
        Map<String, String> data = new LinkedHashMap<>();
        data.put(K_FORMAT, FORMAT);
        data.put(K_MODEL, info.modelFingerprint());
        data.put(K_CLASSES, Json.MAPPER.writeValueAsString(info.classes()));
        data.put(K_DIMS, Integer.toString(info.dimensions()));
        data.put(K_CREATED_BY, info.createdBy() == null ? Version.current() : info.createdBy());
        data.put(K_VECTORS, info.vectorFormat().key());
        data.put(K_IMAGE_SIZE, Integer.toString(info.imageSize()));
        // read before the commit: documents added meanwhile have larger ids, which stay unused if lost
        data.put(K_NEXT_ID, Long.toString(nextId.get()));
        writer.setLiveCommitData(data.entrySet());
        try {
            writer.commit();
        } catch (IllegalStateException | IOException e) {
            throw writeFailure(e);
        }
        searchers.maybeRefreshBlocking();
    }

    /** Waits until background merges (which rebuild HNSW graphs) have finished; for benchmarks. */
    public void waitForMerges() throws IOException {
        requireWriter();
        if (writer.getConfig().getMergeScheduler() instanceof org.apache.lucene.index.ConcurrentMergeScheduler cms) {
            cms.sync();
        }
    }

    /** Makes additions visible to this process's searches without making them durable. */
    public void refresh() throws IOException {
        searchers.maybeRefreshBlocking();
    }

    /** A failed write; after one, Lucene refuses further writes (IllegalStateException): report the original cause. */
    private MedsearchException writeFailure(Exception e) {
        Throwable cause = e instanceof IllegalStateException && writer.getTragicException() != null
                ? writer.getTragicException() : e;
        return new MedsearchException("cannot write index " + dir + ": " + oneLine(cause)
                + "; the last committed state is intact");
    }

    private void requireWriter() {
        if (writer == null) {
            throw new IllegalStateException("index opened read-only");
        }
    }

    private Document toDocument(IndexedImage img) throws IOException {
        Document d = new Document();
        d.add(new LongPoint(ID, img.id()));
        d.add(new StoredField(ID, img.id()));
        d.add(new NumericDocValuesField(ID, img.id()));
        d.add(new StringField(PATH, img.path(), Field.Store.YES));
        d.add(new BinaryDocValuesField(PATH, new BytesRef(img.path())));
        if (img.label() != null) {
            d.add(new StringField(LABEL, img.label(), Field.Store.YES));
        }
        d.add(new StringField(CLASS, img.searchClass(), Field.Store.NO));
        d.add(new SortedDocValuesField(CLASS, new BytesRef(img.searchClass())));
        addKeyword(d, PREDICTED, img.predicted(), false);
        d.add(new StoredField(CONFIDENCE, img.confidence()));
        d.add(new StringField(SHA, img.contentHash(), Field.Store.YES));
        d.add(new BinaryDocValuesField(SHA, new BytesRef(img.contentHash())));
        d.add(new StringField(MODEL, info.modelFingerprint(), Field.Store.YES));
        d.add(new KnnFloatVectorField(VECTOR, img.vector(), VectorSimilarityFunction.EUCLIDEAN));
        addKeyword(d, SPLIT, img.split(), true);
        addKeyword(d, MODALITY, img.modality(), true);
        if (img.patientKey() != null) {
            d.add(new StringField(PATIENT, img.patientKey(), Field.Store.YES));
            d.add(new BinaryDocValuesField(PATIENT, new BytesRef(img.patientKey())));
        }
        if (img.studyKey() != null) {
            d.add(new StringField(STUDY, img.studyKey(), Field.Store.YES));
            d.add(new BinaryDocValuesField(STUDY, new BytesRef(img.studyKey())));
        }
        if (img.metadata() != null && !img.metadata().isEmpty()) {
            d.add(new StoredField(META, Json.MAPPER.writeValueAsString(img.metadata())));
        }
        return d;
    }

    private static void addKeyword(Document d, String field, String value, boolean sorted) {
        if (value != null) {
            d.add(new StringField(field, value, Field.Store.YES));
            if (sorted) {
                d.add(new SortedDocValuesField(field, new BytesRef(value)));
            }
        }
    }

    private interface SearcherBody<T> {
        T apply(IndexSearcher s) throws IOException;
    }

    /** Runs {@code body} on one point-in-time searcher, without the scan's in-heap copies. */
    private <T> T withSearcher(SearcherBody<T> body) throws IOException {
        IndexSearcher s = searchers.acquire();
        try {
            return body.apply(s);
        } finally {
            searchers.release(s);
        }
    }

    /** Runs {@code body} on a consistent snapshot with every segment's in-heap copy (built on first use). */
    private <T> T withSnapshot(Snapshot.Body<T> body) throws IOException {
        IndexSearcher s = searchers.acquire();
        try {
            List<LeafReaderContext> leaves = s.getIndexReader().leaves();
            SegmentData[] data = new SegmentData[leaves.size()];
            for (int i = 0; i < data.length; i++) {
                data[i] = segment(leaves.get(i).reader());
            }
            return body.apply(new Snapshot(s, data));
        } finally {
            searchers.release(s);
        }
    }

    private SegmentData segment(LeafReader r) throws IOException {
        IndexReader.CacheHelper helper = r.getCoreCacheHelper();
        Object key = helper == null ? r : helper.getKey();
        SegmentData sd = segments.get(key);
        if (sd == null) {
            SegmentData fresh = new SegmentData(r, info.dimensions(), this::ordinal);
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

    private synchronized int ordinal(String name) {
        Integer o = ordinals.get(name);
        if (o == null) {
            o = ordinals.size();
            ordinals.put(name, o);
        }
        return o;
    }

    /** Images visible to searches. */
    public int size() throws IOException {
        return withSearcher(s -> s.getIndexReader().numDocs());
    }

    /** Visible images per search class, sorted by class. */
    public Map<String, Integer> countsPerClass() throws IOException {
        return withSearcher(s -> counts(s, CLASS));
    }

    /** Visible images per split ("train", "val", "test", or "none"), sorted. */
    public Map<String, Integer> countsPerSplit() throws IOException {
        return withSearcher(s -> counts(s, SPLIT));
    }

    /** Visible images per modality ("none" when unknown), sorted. */
    public Map<String, Integer> countsPerModality() throws IOException {
        return withSearcher(s -> counts(s, MODALITY));
    }

    /** Live images per value of a sorted doc-values field ("none" without one), counted by segment ordinal. */
    private static Map<String, Integer> counts(IndexSearcher s, String field) throws IOException {
        Map<String, Integer> counts = new TreeMap<>();
        for (LeafReaderContext ctx : s.getIndexReader().leaves()) {
            LeafReader r = ctx.reader();
            NumericDocValues ids = r.getNumericDocValues(ID);
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

    /** Source path to content hash of every visible image (to skip unchanged files on re-indexing). */
    public Map<String, String> contentHashesByPath() throws IOException {
        return withSearcher(s -> {
            Map<String, String> m = new HashMap<>();
            for (LeafReaderContext ctx : s.getIndexReader().leaves()) {
                LeafReader r = ctx.reader();
                BinaryDocValues paths = r.getBinaryDocValues(PATH);
                BinaryDocValues shas = r.getBinaryDocValues(SHA);
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
        });
    }

    /** The image with this id, if visible. */
    public Optional<IndexedImage> get(long id) throws IOException {
        return withSearcher(s -> {
            var top = s.search(LongPoint.newExactQuery(ID, id), 1);
            if (top.scoreDocs.length == 0) {
                return Optional.empty();
            }
            int doc = top.scoreDocs[0].doc;
            List<LeafReaderContext> leaves = s.getIndexReader().leaves();
            LeafReaderContext leaf = leaves.get(org.apache.lucene.index.ReaderUtil.subIndex(doc, leaves));
            FloatVectorValues fv = leaf.reader().getFloatVectorValues(VECTOR);
            float[] vector = fv != null && fv.advance(doc - leaf.docBase) == doc - leaf.docBase
                    ? fv.vectorValue().clone() : null;
            return Optional.of(load(s.storedFields(), doc, vector));
        });
    }

    /** The planner's choice: see the class contract. */
    public List<Hit> search(float[] query, int k, SearchFilter filter) throws IOException {
        return search(query, k, filter, SearchMode.AUTO).hits();
    }

    /** Searches with the given path; see the class contract. */
    public SearchResults search(float[] query, int k, SearchFilter filter, SearchMode mode) throws IOException {
        if (query.length != info.dimensions()) {
            throw new IllegalArgumentException("query of " + query.length + " dimensions, index has " + info.dimensions());
        }
        if (k < 1) {
            return new SearchResults(List.of(), "exact", 0);
        }
        CompiledFilter f = new CompiledFilter(filter, this::ordinal);
        return withSnapshot(s -> {
            long candidates = s.candidates(f.classes);
            boolean exact = mode == SearchMode.EXACT || (mode == SearchMode.AUTO && candidates <= exactThreshold);
            List<TopK.Entry> top = exact ? ExactSearch.search(s, query, k, f)
                    : HnswSearch.search(s, query, k, f, Math.max(k, approximateFetch));
            StoredFields stored = s.searcher.storedFields();
            List<Hit> hits = new ArrayList<>(top.size());
            for (TopK.Entry e : top) {
                int leaf = s.leafOf(e.doc());
                float[] v = s.data[leaf].vector(e.doc() - s.leaves.get(leaf).docBase);
                hits.add(new Hit(e.id(), e.distance(), load(stored, e.doc(), v)));
            }
            return new SearchResults(hits, exact ? "exact" : "approximate", candidates);
        });
    }

    private IndexedImage load(StoredFields stored, int doc, float[] vector) throws IOException {
        Document d = stored.document(doc);
        Map<String, String> meta = Map.of();
        String m = d.get(META);
        if (m != null) {
            meta = Json.MAPPER.readValue(m, new TypeReference<LinkedHashMap<String, String>>() {});
        }
        Number conf = d.getField(CONFIDENCE) == null ? null : d.getField(CONFIDENCE).numericValue();
        return new IndexedImage(d.getField(ID).numericValue().longValue(), d.get(PATH), d.get(LABEL), d.get(PREDICTED),
                conf == null ? Float.NaN : conf.floatValue(), d.get(SHA), vector, d.get(SPLIT), d.get(MODALITY),
                d.get(PATIENT), d.get(STUDY), meta);
    }

    /**
     * What {@code medsearch index --stats} prints.
     *
     * @param bytesByKind bytes on disk of the raw vectors (.vec), the quantised vectors (.veq), the
     *     HNSW graph (.vex) and everything else
     * @param heapBytes memory of the exact path's in-heap vector copies (built on first search)
     * @param exactKernel the exact path's distance kernel ("vector API (...)" or "scalar")
     */
    public record Stats(int images, Map<String, Integer> perClass, Map<String, Integer> perSplit,
            Map<String, Integer> perModality, long bytesOnDisk, Map<String, Long> bytesByKind, int segments,
            String modelFingerprint, String vectorFormat, long nextId, String createdBy, long heapBytes,
            String exactKernel) {}

    public Stats stats() throws IOException {
        Map<String, Long> kinds = new TreeMap<>();
        long total = 0;
        for (String f : directory.listAll()) {
            long len;
            try {
                len = directory.fileLength(f);
            } catch (java.nio.file.NoSuchFileException e) {
                continue; // a merge removed it meanwhile
            }
            total += len;
            String kind = f.endsWith(".vec") ? "vectors (float32)" : f.endsWith(".veq") ? "vectors (int8)"
                    : f.endsWith(".vex") ? "HNSW graph" : "documents and metadata";
            kinds.merge(kind, len, Long::sum);
        }
        long heap = 0;
        for (SegmentData d : segments.values()) {
            heap += d.heapBytes(); // only what searches built: stats must not build them
        }
        long heapBytes = heap;
        long diskBytes = total;
        return withSearcher(s -> new Stats(s.getIndexReader().numDocs(), counts(s, CLASS), counts(s, SPLIT),
                counts(s, MODALITY), diskBytes, kinds, s.getIndexReader().leaves().size(), info.modelFingerprint(),
                info.vectorFormat().describe(), nextId.get(), info.createdBy(), heapBytes, Distances.kernel()));
    }

    /**
     * What {@link #check()} found: {@code problems} empty means the index is consistent.
     *
     * @param images live images checked
     * @param problems one line each
     */
    public record CheckReport(int images, List<String> problems) {
        public boolean ok() {
            return problems.isEmpty();
        }
    }

    /**
     * Checks the index: Lucene's own check of every segment (checksums, postings, doc values,
     * vectors, the HNSW graph), then medsearch's invariants: every live image has an id below the
     * next id, a path, a content hash, a class and a vector of the index's dimension; ids and paths
     * are unique.
     *
     * <p>Read-only: it creates, locks for writing and changes no file, so it works on an index the
     * user may only read. While it runs it holds a shared lock on Lucene's {@code write.lock} (when
     * that file exists and can be read), which an {@link IndexWriter}'s exclusive lock excludes: an
     * index being written is refused with a one-line message, and no writer starts during the check.
     *
     * @throws MedsearchException when {@code dir} holds no index, or another process is writing it
     */
    public static CheckReport check(Path dir) throws IOException {
        requireIndex(dir);
        try (SharedWriteLock guard = SharedWriteLock.tryAcquire(dir.resolve(LUCENE_DIR))) {
            if (guard == null) {
                throw new MedsearchException("index " + dir + " is being written by another process; check it when that ends");
            }
            return checkUnlocked(dir);
        }
    }

    private static CheckReport checkUnlocked(Path dir) throws IOException {
        List<String> problems = new ArrayList<>();
        int images;
        try (LuceneIndex index = open(dir, false)) {
            images = index.withSnapshot(s -> {
                Set<Long> ids = new HashSet<>();
                Set<String> paths = new HashSet<>();
                int n = 0;
                for (int i = 0; i < s.data.length; i++) {
                    SegmentData sd = s.data[i];
                    LeafReader r = s.leaves.get(i).reader();
                    Bits live = r.getLiveDocs();
                    BinaryDocValues pathDv = r.getBinaryDocValues(PATH);
                    BinaryDocValues shaDv = r.getBinaryDocValues(SHA);
                    for (int doc = 0; doc < sd.maxDoc; doc++) {
                        if (live != null && !live.get(doc)) {
                            continue;
                        }
                        n++;
                        String where = "segment " + i + " doc " + doc;
                        if (sd.ids[doc] < 0) {
                            problems.add(where + ": no id");
                            continue;
                        }
                        where = "image " + sd.ids[doc];
                        if (sd.ids[doc] >= index.nextId.get()) {
                            problems.add(where + ": id not below the committed next id " + index.nextId.get());
                        }
                        if (!ids.add(sd.ids[doc])) {
                            problems.add(where + ": id used twice");
                        }
                        if (pathDv == null || !pathDv.advanceExact(doc)) {
                            problems.add(where + ": no source path");
                        } else if (!paths.add(pathDv.binaryValue().utf8ToString())) {
                            problems.add(where + ": source path indexed twice: " + pathDv.binaryValue().utf8ToString());
                        }
                        if (shaDv == null || !shaDv.advanceExact(doc)) {
                            problems.add(where + ": no content hash");
                        }
                        if (sd.classOrd[doc] < 0) {
                            problems.add(where + ": no class");
                        }
                        if (sd.row[doc] < 0) {
                            problems.add(where + ": no vector");
                        }
                    }
                }
                return n;
            });
        }
        // NoLockFactory: CheckIndex would otherwise create and lock write.lock, which needs write access;
        // the caller's shared lock keeps writers out instead
        try (Directory d = FSDirectory.open(dir.resolve(LUCENE_DIR), NoLockFactory.INSTANCE);
                CheckIndex ci = new CheckIndex(d)) {
            ByteArrayOutputStream log = new ByteArrayOutputStream();
            ci.setInfoStream(new PrintStream(log, true, StandardCharsets.UTF_8));
            CheckIndex.Status st = ci.checkIndex();
            if (!st.clean) {
                problems.add(0, "Lucene's check failed: " + lastLines(log.toString(StandardCharsets.UTF_8)));
            }
        }
        return new CheckReport(images, problems);
    }

    /**
     * A shared (read) lock on an existing {@code write.lock}, taken through a read-only channel so
     * that nothing is created or written. Lucene's writer takes an exclusive lock on that file, so
     * the two exclude each other, across processes and (through the JVM's own bookkeeping) within one.
     */
    private static final class SharedWriteLock implements Closeable {
        private final FileChannel channel;
        private final FileLock lock;

        private SharedWriteLock(FileChannel channel, FileLock lock) {
            this.channel = channel;
            this.lock = lock;
        }

        /**
         * The lock, or null when a writer holds {@code write.lock}. Without a {@code write.lock} (no
         * writer ever opened the index) or one this user may not read, there is nothing to take, and
         * the check proceeds unguarded: a writer would have to create or open that file first.
         */
        static SharedWriteLock tryAcquire(Path luceneDir) throws IOException {
            Path file = luceneDir.resolve(IndexWriter.WRITE_LOCK_NAME);
            FileChannel ch;
            try {
                ch = FileChannel.open(file, StandardOpenOption.READ);
            } catch (NoSuchFileException | AccessDeniedException e) {
                return new SharedWriteLock(null, null);
            }
            try {
                FileLock l = ch.tryLock(0, Long.MAX_VALUE, true);
                if (l == null) {
                    ch.close();
                    return null;
                }
                return new SharedWriteLock(ch, l);
            } catch (OverlappingFileLockException e) {
                ch.close(); // this JVM's writer holds it
                return null;
            } catch (IOException | RuntimeException e) {
                ch.close();
                throw e;
            }
        }

        @Override
        public void close() throws IOException {
            if (channel != null) {
                try {
                    lock.release();
                } finally {
                    channel.close();
                }
            }
        }
    }

    private static String lastLines(String log) {
        String[] lines = log.strip().split("\\R");
        StringBuilder sb = new StringBuilder();
        for (int i = Math.max(0, lines.length - 3); i < lines.length; i++) {
            sb.append(lines[i].strip()).append(i < lines.length - 1 ? " / " : "");
        }
        return sb.toString();
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
