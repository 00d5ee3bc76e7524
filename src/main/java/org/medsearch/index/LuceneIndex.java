package org.medsearch.index;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
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
import org.apache.lucene.index.CorruptIndexException;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.FloatVectorValues;
import org.apache.lucene.index.IndexFormatTooNewException;
import org.apache.lucene.index.IndexFormatTooOldException;
import org.apache.lucene.index.IndexNotFoundException;
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
import org.apache.lucene.index.VectorSimilarityFunction;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.SearcherManager;
import org.apache.lucene.store.Directory;
import org.apache.lucene.store.FSDirectory;
import org.apache.lucene.store.LockObtainFailedException;
import org.apache.lucene.util.Bits;
import org.apache.lucene.util.BytesRef;
import org.medsearch.util.Json;
import org.medsearch.util.MedsearchException;
import org.medsearch.util.Version;

/**
 * The image index: Apache Lucene on disk, one document per image (id, source path, label, predicted
 * class, content hash, metadata, and the 512-d vector as a {@link KnnFloatVectorField}), with the
 * index-wide facts ({@link IndexInfo}: format, model fingerprint, classes) in every commit's user data.
 *
 * <p>Search contract ({@link #search}): the exact top-k of the images that pass the filter, ranked
 * by squared Euclidean distance to the query (the paper's mean squared error times the dimension:
 * the same order), ties broken by ascending id. It sees the state of the last {@link #refresh()}
 * or {@link #commit()}; an image is either wholly visible or not at all. Cost: one pass over the
 * candidate vectors, which are held per segment in contiguous arrays built once when a segment
 * first appears.
 *
 * <p>Durability contract: nothing is visible to another process until {@link #commit()}; a commit
 * is atomic (Lucene's), so a crash leaves the last committed state. Ids are never reused: the next
 * id is part of each commit.
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
    /** Lucene's files live in this sub-folder; the folder itself may hold medsearch's own files. */
    public static final String LUCENE_DIR = "lucene";

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
    static final String META = "meta";
    static final String MODEL = "model";

    private static final String K_FORMAT = "medsearch.format";
    private static final String K_MODEL = "medsearch.model";
    private static final String K_CLASSES = "medsearch.classes";
    private static final String K_DIMS = "medsearch.dims";
    private static final String K_CREATED_BY = "medsearch.createdBy";
    private static final String K_NEXT_ID = "medsearch.nextId";

    private final Path dir;
    private final Directory directory;
    private final IndexWriter writer;
    private final SearcherManager searchers;
    private final IndexInfo info;
    private long nextId;
    private final Map<Object, SegmentVectors> segments = new ConcurrentHashMap<>();
    private final Map<String, Integer> ordinals = new ConcurrentHashMap<>();
    private final List<String> ordinalNames = new ArrayList<>();

    private LuceneIndex(Path dir, Directory directory, IndexWriter writer, IndexInfo info, long nextId)
            throws IOException {
        this.dir = dir;
        this.directory = directory;
        this.writer = writer;
        this.info = info;
        this.nextId = nextId;
        this.searchers = writer != null ? new SearcherManager(writer, null) : new SearcherManager(directory, null);
    }

    /** Creates a new, empty index; fails if {@code dir} already holds one. */
    public static LuceneIndex create(Path dir, IndexInfo info) throws IOException {
        if (exists(dir)) {
            throw new MedsearchException("an index already exists in " + dir);
        }
        Files.createDirectories(dir.resolve(LUCENE_DIR));
        Directory d = FSDirectory.open(dir.resolve(LUCENE_DIR));
        IndexWriter w = openWriter(dir, d, IndexWriterConfig.OpenMode.CREATE);
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
        if (!exists(dir)) {
            throw new MedsearchException("index not found: " + dir + " (build one with 'medsearch index')");
        }
        Directory d = FSDirectory.open(dir.resolve(LUCENE_DIR));
        try {
            Map<String, String> data = SegmentInfos.readLatestCommit(d).getUserData();
            IndexInfo info = parseInfo(dir, data);
            long next = Long.parseLong(data.getOrDefault(K_NEXT_ID, "0"));
            IndexWriter w = writable ? openWriter(dir, d, IndexWriterConfig.OpenMode.APPEND) : null;
            return new LuceneIndex(dir, d, w, info, next);
        } catch (IndexFormatTooOldException | IndexFormatTooNewException e) {
            d.close();
            throw new MedsearchException(dir + " was written by an incompatible Lucene version; rebuild the index");
        } catch (CorruptIndexException | java.io.EOFException e) {
            d.close();
            throw new MedsearchException(dir + " is damaged (" + e.getMessage() + "); rebuild the index", e);
        } catch (IOException | RuntimeException e) {
            d.close();
            throw e;
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

    private static IndexWriter openWriter(Path dir, Directory d, IndexWriterConfig.OpenMode mode) throws IOException {
        IndexWriterConfig cfg = new IndexWriterConfig();
        cfg.setOpenMode(mode);
        cfg.setRAMBufferSizeMB(128);
        cfg.setCommitOnClose(false);
        try {
            return new IndexWriter(d, cfg);
        } catch (LockObtainFailedException e) {
            d.close();
            throw new MedsearchException("index " + dir + " is being written by another process");
        } catch (AccessDeniedException e) {
            d.close();
            throw new MedsearchException("cannot write index " + dir + ": permission denied");
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
            return new IndexInfo(format, data.get(K_MODEL), classes, Integer.parseInt(data.get(K_DIMS)),
                    data.get(K_CREATED_BY));
        } catch (JsonProcessingException | RuntimeException e) {
            throw new MedsearchException(dir + ": damaged index metadata");
        }
    }

    public IndexInfo info() {
        return info;
    }

    public Path directory() {
        return dir;
    }

    /** Adds an image with a new id (its {@code id} field is ignored) and returns the id. */
    public synchronized long add(IndexedImage img) throws IOException {
        requireWriter();
        if (img.vector().length != info.dimensions()) {
            throw new IllegalArgumentException("vector of " + img.vector().length + " dimensions, index has "
                    + info.dimensions());
        }
        long id = nextId++;
        writer.addDocument(toDocument(img.withId(id)));
        return id;
    }

    /** Deletes every image with this source path; returns whether any existed at the last refresh. */
    public synchronized void deleteByPath(String path) throws IOException {
        requireWriter();
        writer.deleteDocuments(new Term(PATH, path));
    }

    /** Deletes one image by id. */
    public synchronized void delete(long id) throws IOException {
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
        data.put(K_NEXT_ID, Long.toString(nextId));
        writer.setLiveCommitData(data.entrySet());
        writer.commit();
        searchers.maybeRefreshBlocking();
    }

    /** Makes additions visible to this process's searches without making them durable. */
    public void refresh() throws IOException {
        searchers.maybeRefreshBlocking();
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
        d.add(new StringField(PREDICTED, img.predicted(), Field.Store.YES));
        d.add(new StoredField(CONFIDENCE, img.confidence()));
        d.add(new StringField(SHA, img.contentHash(), Field.Store.YES));
        d.add(new BinaryDocValuesField(SHA, new BytesRef(img.contentHash())));
        d.add(new StringField(MODEL, info.modelFingerprint(), Field.Store.YES));
        d.add(new KnnFloatVectorField(VECTOR, img.vector(), VectorSimilarityFunction.EUCLIDEAN));
        if (img.split() != null) {
            d.add(new StringField(SPLIT, img.split(), Field.Store.YES));
            d.add(new SortedDocValuesField(SPLIT, new BytesRef(img.split())));
        }
        if (img.modality() != null) {
            d.add(new StringField(MODALITY, img.modality(), Field.Store.YES));
            d.add(new SortedDocValuesField(MODALITY, new BytesRef(img.modality())));
        }
        if (img.patientKey() != null) {
            d.add(new StringField(PATIENT, img.patientKey(), Field.Store.YES));
            d.add(new BinaryDocValuesField(PATIENT, new BytesRef(img.patientKey())));
        }
        if (img.metadata() != null && !img.metadata().isEmpty()) {
            d.add(new StoredField(META, Json.MAPPER.writeValueAsString(img.metadata())));
        }
        return d;
    }

    /** Images visible to searches. */
    public int size() throws IOException {
        IndexSearcher s = searchers.acquire();
        try {
            return s.getIndexReader().numDocs();
        } finally {
            searchers.release(s);
        }
    }

    /** Visible images per search class, sorted by class. */
    public Map<String, Integer> countsPerClass() throws IOException {
        return counts(sv -> sv.classOrd);
    }

    /** Visible images per split ("train", "val", "test", or "none"), sorted. */
    public Map<String, Integer> countsPerSplit() throws IOException {
        return counts(sv -> sv.splitOrd);
    }

    private Map<String, Integer> counts(java.util.function.Function<SegmentVectors, int[]> field) throws IOException {
        Map<String, Integer> counts = new TreeMap<>();
        IndexSearcher s = searchers.acquire();
        try {
            for (LeafReaderContext ctx : s.getIndexReader().leaves()) {
                SegmentVectors sv = vectors(ctx.reader());
                int[] ords = field.apply(sv);
                Bits live = ctx.reader().getLiveDocs();
                for (int doc = 0; doc < sv.maxDoc; doc++) {
                    if (sv.ids[doc] >= 0 && (live == null || live.get(doc))) {
                        counts.merge(ords[doc] < 0 ? "none" : ordinalName(ords[doc]), 1, Integer::sum);
                    }
                }
            }
        } finally {
            searchers.release(s);
        }
        return counts;
    }

    private synchronized String ordinalName(int ord) {
        return ordinalNames.get(ord);
    }

    /** Source path to content hash of every visible image (to skip unchanged files on re-indexing). */
    public Map<String, String> contentHashesByPath() throws IOException {
        Map<String, String> m = new HashMap<>();
        IndexSearcher s = searchers.acquire();
        try {
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
        } finally {
            searchers.release(s);
        }
        return m;
    }

    /** The image with this id, if visible. */
    public Optional<IndexedImage> get(long id) throws IOException {
        IndexSearcher s = searchers.acquire();
        try {
            var top = s.search(LongPoint.newExactQuery(ID, id), 1);
            if (top.scoreDocs.length == 0) {
                return Optional.empty();
            }
            int doc = top.scoreDocs[0].doc;
            LeafReaderContext ctx = s.getIndexReader().leaves().get(
                    org.apache.lucene.index.ReaderUtil.subIndex(doc, s.getIndexReader().leaves()));
            SegmentVectors sv = vectors(ctx.reader());
            int local = doc - ctx.docBase;
            return Optional.of(load(s.storedFields(), doc, sv.vector(local)));
        } finally {
            searchers.release(s);
        }
    }

    /**
     * The exact {@code k} nearest images passing {@code filter}, nearest first, ties by ascending id.
     * See the class contract.
     */
    public List<Hit> search(float[] query, int k, SearchFilter filter) throws IOException {
        if (query.length != info.dimensions()) {
            throw new IllegalArgumentException("query of " + query.length + " dimensions, index has " + info.dimensions());
        }
        if (k < 1) {
            return List.of();
        }
        IndexSearcher s = searchers.acquire();
        try {
            TopK top = new TopK(k);
            int[] allowedClasses = filter.classes() == null ? null
                    : filter.classes().stream().mapToInt(this::ordinal).toArray();
            int modality = filter.modality() == null ? -2 : ordinal(filter.modality());
            int[] splits = filter.splits() == null ? null : filter.splits().stream().mapToInt(this::ordinal).toArray();
            long excludeSha = filter.excludeContentHash() == null ? 0 : prefix(filter.excludeContentHash());
            long excludePatient = filter.excludePatientKey() == null ? 0 : prefix(filter.excludePatientKey());
            List<LeafReaderContext> leaves = s.getIndexReader().leaves();
            for (LeafReaderContext ctx : leaves) {
                SegmentVectors sv = vectors(ctx.reader());
                Bits live = ctx.reader().getLiveDocs();
                int dim = info.dimensions();
                for (int doc = 0; doc < sv.maxDoc; doc++) {
                    if (sv.ids[doc] < 0 || (live != null && !live.get(doc))) {
                        continue;
                    }
                    if (allowedClasses != null && !contains(allowedClasses, sv.classOrd[doc])) {
                        continue;
                    }
                    if (modality != -2 && sv.modalityOrd[doc] != modality) {
                        continue;
                    }
                    if (splits != null && !contains(splits, sv.splitOrd[doc])) {
                        continue;
                    }
                    if (excludeSha != 0 && sv.shaPrefix[doc] == excludeSha
                            && sameValue(ctx.reader(), SHA, doc, filter.excludeContentHash())) {
                        continue;
                    }
                    if (excludePatient != 0 && sv.patientPrefix[doc] == excludePatient
                            && sameValue(ctx.reader(), PATIENT, doc, filter.excludePatientKey())) {
                        continue;
                    }
                    float d = Distances.squaredL2(query, sv.vectors, doc * dim, dim);
                    top.offer(d, sv.ids[doc], ctx.docBase + doc);
                }
            }
            List<Hit> hits = new ArrayList<>();
            StoredFields stored = s.storedFields();
            for (TopK.Entry e : top.sorted()) {
                int leaf = org.apache.lucene.index.ReaderUtil.subIndex(e.doc(), leaves);
                LeafReaderContext ctx = leaves.get(leaf);
                SegmentVectors sv = vectors(ctx.reader());
                hits.add(new Hit(e.id(), e.distance(), load(stored, e.doc(), sv.vector(e.doc() - ctx.docBase))));
            }
            return hits;
        } finally {
            searchers.release(s);
        }
    }

    private static boolean contains(int[] a, int v) {
        for (int x : a) {
            if (x == v) {
                return true;
            }
        }
        return false;
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
                d.get(PATIENT), meta);
    }

    private synchronized int ordinal(String name) {
        Integer o = ordinals.get(name);
        if (o == null) {
            o = ordinalNames.size();
            ordinalNames.add(name);
            ordinals.put(name, o);
        }
        return o;
    }

    /** A 64-bit hash of a whole value (FNV-1a), for a fast reject; 0 means "none". */
    static long prefix(String value) {
        long h = 0xcbf29ce484222325L;
        for (int i = 0; i < value.length(); i++) {
            h ^= value.charAt(i);
            h *= 0x100000001b3L;
        }
        return h == 0 ? 1 : h;
    }

    /** Confirms a hash match against the stored value, so that exclusions are exact. */
    private static boolean sameValue(LeafReader r, String field, int doc, String value) throws IOException {
        BinaryDocValues dv = r.getBinaryDocValues(field);
        return dv != null && dv.advanceExact(doc) && dv.binaryValue().utf8ToString().equals(value);
    }

    /** The per-segment, contiguous copy of everything a scan reads. */
    final class SegmentVectors {
        final int maxDoc;
        final float[] vectors;
        final long[] ids;
        final int[] classOrd;
        final int[] modalityOrd;
        final int[] splitOrd;
        final long[] shaPrefix;
        final long[] patientPrefix;

        SegmentVectors(LeafReader r) throws IOException {
            int dim = info.dimensions();
            maxDoc = r.maxDoc();
            vectors = new float[Math.multiplyExact(maxDoc, dim)];
            ids = new long[maxDoc];
            java.util.Arrays.fill(ids, -1);
            classOrd = new int[maxDoc];
            modalityOrd = new int[maxDoc];
            splitOrd = new int[maxDoc];
            shaPrefix = new long[maxDoc];
            patientPrefix = new long[maxDoc];
            java.util.Arrays.fill(modalityOrd, -1);
            java.util.Arrays.fill(splitOrd, -1);
            FloatVectorValues fv = r.getFloatVectorValues(VECTOR);
            NumericDocValues idv = r.getNumericDocValues(ID);
            if (fv == null || idv == null) {
                return;
            }
            for (int doc = fv.nextDoc(); doc != DocIdSetIterator.NO_MORE_DOCS; doc = fv.nextDoc()) {
                System.arraycopy(fv.vectorValue(), 0, vectors, doc * dim, dim);
            }
            for (int doc = idv.nextDoc(); doc != DocIdSetIterator.NO_MORE_DOCS; doc = idv.nextDoc()) {
                ids[doc] = idv.longValue();
            }
            ordinals(r.getSortedDocValues(CLASS), classOrd);
            ordinals(r.getSortedDocValues(MODALITY), modalityOrd);
            ordinals(r.getSortedDocValues(SPLIT), splitOrd);
            prefixes(r.getBinaryDocValues(SHA), shaPrefix);
            prefixes(r.getBinaryDocValues(PATIENT), patientPrefix);
        }

        private void ordinals(SortedDocValues dv, int[] out) throws IOException {
            if (dv == null) {
                return;
            }
            int[] map = new int[dv.getValueCount()];
            for (int i = 0; i < map.length; i++) {
                map[i] = ordinal(dv.lookupOrd(i).utf8ToString());
            }
            for (int doc = dv.nextDoc(); doc != DocIdSetIterator.NO_MORE_DOCS; doc = dv.nextDoc()) {
                out[doc] = map[dv.ordValue()];
            }
        }

        private void prefixes(BinaryDocValues dv, long[] out) throws IOException {
            if (dv == null) {
                return;
            }
            for (int doc = dv.nextDoc(); doc != DocIdSetIterator.NO_MORE_DOCS; doc = dv.nextDoc()) {
                out[doc] = prefix(dv.binaryValue().utf8ToString());
            }
        }

        float[] vector(int doc) {
            int dim = info.dimensions();
            return java.util.Arrays.copyOfRange(vectors, doc * dim, doc * dim + dim);
        }
    }

    private SegmentVectors vectors(LeafReader r) throws IOException {
        IndexReader.CacheHelper helper = r.getCoreCacheHelper();
        Object key = helper == null ? r : helper.getKey();
        SegmentVectors sv = segments.get(key);
        if (sv == null) {
            sv = new SegmentVectors(r);
            segments.put(key, sv);
            if (helper != null) {
                helper.addClosedListener(segments::remove);
            }
        }
        return sv;
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
