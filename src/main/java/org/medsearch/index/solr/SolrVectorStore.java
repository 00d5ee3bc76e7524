package org.medsearch.index.solr;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import org.apache.solr.client.solrj.SolrQuery;
import org.apache.solr.client.solrj.SolrRequest;
import org.apache.solr.client.solrj.SolrServerException;
import org.apache.solr.client.solrj.request.CoreAdminRequest;
import org.apache.solr.client.solrj.request.QueryRequest;
import org.apache.solr.client.solrj.request.UpdateRequest;
import org.apache.solr.client.solrj.response.CoreAdminResponse;
import org.apache.solr.client.solrj.response.FacetField;
import org.apache.solr.client.solrj.response.QueryResponse;
import org.apache.solr.client.solrj.util.ClientUtils;
import org.apache.solr.common.SolrDocument;
import org.apache.solr.common.SolrDocumentList;
import org.apache.solr.common.SolrException;
import org.apache.solr.common.SolrInputDocument;
import org.apache.solr.common.cloud.DocCollection;
import org.apache.solr.common.cloud.Replica;
import org.apache.solr.common.cloud.Slice;
import org.apache.solr.common.params.CommonParams;
import org.apache.solr.common.params.CursorMarkParams;
import org.apache.solr.common.util.NamedList;
import org.medsearch.index.Distances;
import org.medsearch.index.Hit;
import org.medsearch.index.IndexInfo;
import org.medsearch.index.IndexedImage;
import org.medsearch.index.SearchFilter;
import org.medsearch.index.VectorFormat;
import org.medsearch.index.VectorStore;
import org.medsearch.util.MedsearchException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The distributed {@link VectorStore}: one SolrCloud collection (sharded, replicated, failing over
 * by itself), holding the same fields as the embedded index with the source path as unique key
 * and a 512-d {@code DenseVectorField} with an HNSW graph (medsearch's configset, see
 * {@link SolrCluster#createCollection}). It keeps {@link VectorStore}'s search contract on both paths:
 * <ul>
 *   <li><b>exact</b>: a function query inside Solr ({@code vectorSimilarity}, Euclidean) scores every
 *       image that passes the filter on every shard; the best few come back with their vectors
 *       and are re-ranked here with medsearch's own distance kernel, ties by ascending id. Solr's
 *       score, 1 / (1 + d²), is a float and can merge distances that differ; the store fetches
 *       more until the last image fetched scores strictly below the k-th best's distance (with
 *       margin), so no unfetched image can belong in the top k: the result equals brute force.</li>
 *   <li><b>approximate</b>: Solr's {@code {!knn}} query on every shard, with the filter applied
 *       during the graph walk (Solr's pre-filtering of {@code fq}), then the same exact re-rank.</li>
 * </ul>
 * {@link SearchMode#AUTO} takes the exact path when the filter's classes hold at most
 * {@link #exactThreshold()} images (counts cached, refreshed at every refresh and commit and every
 * {@value #COUNTS_TTL_MILLIS} ms), the graph otherwise.
 *
 * <h2>Writes, visibility and durability</h2>
 * Adds and deletes are buffered in this process and sent at {@link #refresh()} (then a soft
 * commit) or {@link #commit()} (then a hard commit: durable on every live replica); the
 * collection's configset has no automatic soft commit, so nothing becomes visible before. A
 * buffer past {@value #SEND_AHEAD} images is sent ahead, still invisible until the next commit.
 * Unlike the embedded index, what a refresh sent cannot be dropped by {@link #close()}: Solr has no
 * rollback in cloud mode. Every update is idempotent (an image replaces the one with its path), so
 * a request that failed while a node went down is simply sent again, for up to
 * {@link SolrCluster#RETRY_MILLIS} ms.
 *
 * <h2>Ids</h2>
 * Ids come from a counter in the collection's meta document, reserved in blocks of
 * {@value #ID_BLOCK} with optimistic concurrency (Solr's {@code _version_}), so that several
 * processes ({@code index --worker I/N}) writing one collection never hand out the same id, and no id
 * is handed out twice after a crash: each process's ids increase; a block a crashed process did
 * not use stays unused.
 *
 * <h2>Aliases</h2>
 * A store opened for search on an alias follows it: when the alias moves ({@code medsearch solr
 * promote}) the next search after at most {@value #ALIAS_TTL_MILLIS} ms goes to the new collection,
 * provided it holds vectors of the same model; one built with another model is not followed (this
 * process's model could not query it) and a warning says so. A store opened for writing stays on
 * the collection it resolved at open.
 *
 * <pre>{@code
 * try (VectorStore store = SolrVectorStore.openOrCreate(SolrLocation.parse("solr://zk:2181/images"), info)) {
 *     store.add(image);
 *     store.commit();
 *     SearchResults r = store.search(query, 10, SearchFilter.ALL.withClasses(Set.of("CXR")), SearchMode.EXACT);
 * }
 * }</pre>
 */
public final class SolrVectorStore implements VectorStore {

    private static final Logger LOG = LoggerFactory.getLogger(SolrVectorStore.class);

    static final int ID_BLOCK = 1024;
    static final int SEND_AHEAD = 10_000;
    static final int SEND_CHUNK = 1_000;
    static final long COUNTS_TTL_MILLIS = 10_000;
    static final long ALIAS_TTL_MILLIS = 2_000;
    /** The response header's flag of an answer from some shards only (Solr's SolrQueryResponse key). */
    static final String PARTIAL_RESULTS = "partialResults";
    /** Filtered candidates below which the exact path has Lucene's exhaustive k-NN score them (see exact()). */
    public static final int KNN_EXACT_LIMIT = 100_000;
    /** Candidates up to which {@link SearchMode#AUTO} takes the exact path. */
    public static final int DEFAULT_EXACT_THRESHOLD = 100_000;

    private final SolrCluster cluster;
    private final String name;
    private final boolean writable;
    private volatile String collection;
    private volatile IndexInfo info;

    private final Object pendingLock = new Object();
    private final Map<String, SolrInputDocument> pendingAdds = new LinkedHashMap<>();
    private final Map<Long, String> pendingAddIds = new HashMap<>();
    private final Set<String> pendingDeletePaths = new HashSet<>();
    private final Set<Long> pendingDeleteIds = new HashSet<>();

    private long nextInBlock;
    private long blockEnd;

    private volatile Map<String, Integer> classCounts;
    private volatile long classCountsAt;
    private volatile long aliasCheckedAt;
    private volatile String ignoredCollection;
    private volatile int exactThreshold = DEFAULT_EXACT_THRESHOLD;
    private volatile int approximateFetch = 100;
    private volatile int knnExactLimit = 0;

    private SolrVectorStore(SolrCluster cluster, String name, String collection, IndexInfo info, boolean writable) {
        this.cluster = cluster;
        this.name = name;
        this.collection = collection;
        this.info = info;
        this.writable = writable;
        this.aliasCheckedAt = System.currentTimeMillis();
    }

    /**
     * Opens the collection (or alias) at {@code location}.
     *
     * @throws MedsearchException when the cluster cannot be reached, the collection does not exist,
     *     or it holds no medsearch index yet
     */
    public static SolrVectorStore open(SolrLocation location, boolean writable) throws IOException {
        SolrCluster cluster = SolrCluster.connect(location);
        try {
            String coll = requireCollection(cluster, location);
            SolrDocument meta = meta(cluster, coll);
            if (meta == null) {
                throw new MedsearchException("collection " + location
                        + " holds no medsearch index yet (build one with 'medsearch index --index " + location + "')");
            }
            return new SolrVectorStore(
                    cluster, location.collection(), coll, SolrSchema.info(meta, location.toString()), writable);
        } catch (IOException | RuntimeException e) {
            cluster.close();
            throw e;
        }
    }

    /**
     * Opens the collection at {@code location} for writing; a collection without an index yet
     * (just created by {@code medsearch solr create}) records {@code info}.
     *
     * @throws MedsearchException when the collection holds vectors of another model or of another
     *     length, or does not exist
     */
    public static SolrVectorStore openOrCreate(SolrLocation location, IndexInfo info) throws IOException {
        if (info.vectorFormat() != VectorFormat.FLOAT32) {
            throw new MedsearchException(
                    "the Solr store keeps float32 vectors; --vectors int8 is for the embedded index");
        }
        SolrCluster cluster = SolrCluster.connect(location);
        try {
            String coll = requireCollection(cluster, location);
            int dims = dimensionsOf(cluster, coll);
            if (dims != info.dimensions()) {
                throw new MedsearchException("collection " + location + " was created for " + dims
                        + "-d vectors; this model gives " + info.dimensions() + "-d ones");
            }
            SolrDocument meta = meta(cluster, coll);
            if (meta == null) {
                SolrInputDocument d = SolrSchema.metaDocument(info, 0);
                d.setField(SolrSchema.VERSION, -1L); // only if absent: two workers may start at once
                try {
                    send(cluster, coll, new UpdateRequest().add(d), true);
                } catch (MedsearchException e) {
                    if (!conflict(e)) {
                        throw e;
                    }
                }
                hardCommit(cluster, coll);
                meta = meta(cluster, coll);
            }
            IndexInfo existing = SolrSchema.info(meta, location.toString());
            if (!existing.modelFingerprint().equals(info.modelFingerprint())) {
                throw new MedsearchException("index " + location + " holds vectors of another model ("
                        + existing.modelFingerprint() + "); this model is " + info.modelFingerprint()
                        + ": use a new collection (medsearch solr create), or the matching --model");
            }
            return new SolrVectorStore(cluster, location.collection(), coll, existing, true);
        } catch (IOException | RuntimeException e) {
            cluster.close();
            throw e;
        }
    }

    /** Whether {@code location} names an existing collection or alias holding a medsearch index. */
    public static boolean exists(SolrLocation location) throws IOException {
        try (SolrCluster cluster = SolrCluster.connect(location)) {
            return cluster.exists(location.collection())
                    && meta(cluster, cluster.resolve(location.collection())) != null;
        }
    }

    private static String requireCollection(SolrCluster cluster, SolrLocation location) throws IOException {
        if (!cluster.exists(location.collection())) {
            throw new MedsearchException("collection " + location.collection() + " not found on " + location
                    + ": create it with 'medsearch solr create --index " + location + " --shards N --replicas R'");
        }
        return cluster.resolve(location.collection());
    }

    private static int dimensionsOf(SolrCluster cluster, String coll) throws IOException {
        DocCollection c = cluster.docCollection(coll);
        String config = c.getConfigName();
        int at = config == null ? -1 : config.lastIndexOf("-d");
        if (config == null || !config.startsWith("medsearch-v") || at < 0) {
            throw new MedsearchException("collection " + coll + " uses configset '" + config
                    + "', not medsearch's: create it with 'medsearch solr create'");
        }
        try {
            return Integer.parseInt(config.substring(at + 2));
        } catch (NumberFormatException e) {
            throw new MedsearchException("collection " + coll + " uses an unknown configset '" + config + "'");
        }
    }

    /** The meta document as it stands now (real-time get: committed or not), or null. */
    private static SolrDocument meta(SolrCluster cluster, String coll) throws IOException {
        return cluster.retrying(
                "reading the index's metadata", () -> cluster.client().getById(coll, SolrSchema.META_KEY));
    }

    private static boolean conflict(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SolrException se && se.code() == 409) {
                return true;
            }
            if (t.getMessage() != null && t.getMessage().contains("version conflict")) {
                return true;
            }
        }
        return false;
    }

    /** A hard commit of {@code coll}: durable on every live replica, and visible once it returns. */
    private static void hardCommit(SolrCluster cluster, String coll) throws IOException {
        cluster.request(
                "committing", new UpdateRequest().setAction(UpdateRequest.ACTION.COMMIT, true, true), coll, r -> r);
    }

    /** Sends an update; with {@code once}, a version conflict is thrown, not retried. */
    private static void send(SolrCluster cluster, String coll, UpdateRequest req, boolean once) throws IOException {
        cluster.retrying("sending updates", () -> {
            try {
                return cluster.client().request(req, coll);
            } catch (SolrException e) {
                if (once && conflict(e)) {
                    throw new MedsearchException("version conflict: " + SolrCluster.oneLine(e));
                }
                throw e;
            }
        });
    }

    @Override
    public IndexInfo info() {
        return info;
    }

    /** The collection this store reads and writes now (an alias resolved). */
    public String collection() {
        return collection;
    }

    /**
     * Checks that this installation's patient-key salt is the one the collection's keys were made
     * with (by a check value in the meta document; the salt itself never goes to Solr), recording it
     * on the first write.
     *
     * @param check the salt's check value
     * @param file where the salt is kept, for the message
     * @param record record the check value if the collection has none yet
     * @throws MedsearchException when the collection was keyed with another salt
     */
    public void verifyPatientKeys(String check, java.nio.file.Path file, boolean record) throws IOException {
        while (true) {
            SolrDocument m = meta(cluster, collection);
            String have = m == null ? null : SolrSchema.str(m, SolrSchema.SALT);
            if (check.equals(have)) {
                return;
            }
            if (have != null) {
                throw new MedsearchException("the patient keys in " + collection + " were made with another salt than "
                        + file + ": copy the salt file from the machine that indexed first (or set"
                        + " MEDSEARCH_PATIENT_SALT to it)");
            }
            if (!record || !writable || m == null) {
                return; // nothing keyed yet: nothing to match
            }
            if (updateMeta(m, Map.of(SolrSchema.SALT, check))) {
                return;
            }
        }
    }

    /** Replaces the meta document if nobody changed it since {@code m} was read; false on a conflict. */
    private boolean updateMeta(SolrDocument m, Map<String, Object> changes) throws IOException {
        SolrInputDocument d = new SolrInputDocument();
        for (String f : List.of(
                SolrSchema.PATH,
                SolrSchema.KIND,
                SolrSchema.INFO,
                SolrSchema.SALT,
                SolrSchema.MODEL,
                SolrSchema.NEXT_ID)) {
            Object v = m.getFirstValue(f);
            if (v != null) {
                d.setField(f, v);
            }
        }
        changes.forEach(d::setField);
        d.setField(SolrSchema.VERSION, m.getFirstValue(SolrSchema.VERSION));
        try {
            send(cluster, collection, new UpdateRequest().add(d), true);
            return true;
        } catch (MedsearchException e) {
            if (conflict(e)) {
                return false;
            }
            throw e;
        }
    }

    public int exactThreshold() {
        return exactThreshold;
    }

    public void setExactThreshold(int n) {
        exactThreshold = Math.max(0, n);
    }

    /**
     * Filtered candidates below which the exact path lets Lucene's exhaustive k-NN score them instead
     * of the function query (default 0: always the function query, which {@code bench-index} measured
     * faster at 200,000 vectors; {@value #KNN_EXACT_LIMIT} at most). Both are exact; this is speed.
     */
    public void setKnnExactLimit(int n) {
        knnExactLimit = Math.max(0, Math.min(KNN_EXACT_LIMIT, n));
    }

    /** Candidates the graph search fetches before the exact re-rank (at least k). */
    public void setApproximateFetch(int n) {
        approximateFetch = Math.max(1, n);
    }

    // ---- writes ----

    private void requireWriter() {
        if (!writable) {
            throw new IllegalStateException("index opened read-only");
        }
    }

    @Override
    public long add(IndexedImage image) throws IOException {
        requireWriter();
        info.requireDimensions(image.vector(), "vector");
        long id = reserveId();
        SolrInputDocument d = SolrSchema.document(image.withId(id), info.modelFingerprint());
        boolean sendAhead;
        synchronized (pendingLock) {
            // the add replaces any earlier document with this path: a pending delete of it is moot
            pendingDeletePaths.remove(image.path());
            SolrInputDocument old = pendingAdds.put(image.path(), d);
            if (old != null) {
                pendingAddIds.remove(((Number) old.getFieldValue(SolrSchema.ID)).longValue());
            }
            pendingAddIds.put(id, image.path());
            sendAhead = pendingAdds.size() >= SEND_AHEAD;
        }
        if (sendAhead) {
            flush();
        }
        return id;
    }

    @Override
    public void delete(long id) throws IOException {
        requireWriter();
        synchronized (pendingLock) {
            String path = pendingAddIds.remove(id);
            if (path != null) {
                pendingAdds.remove(path);
            }
            pendingDeleteIds.add(id);
        }
    }

    @Override
    public void deleteByPath(String path) throws IOException {
        requireWriter();
        synchronized (pendingLock) {
            SolrInputDocument old = pendingAdds.remove(path);
            if (old != null) {
                pendingAddIds.remove(((Number) old.getFieldValue(SolrSchema.ID)).longValue());
            }
            pendingDeletePaths.add(path);
        }
    }

    private long reserveId() throws IOException {
        synchronized (this) {
            if (nextInBlock < blockEnd) {
                return nextInBlock++;
            }
            while (true) {
                SolrDocument m = meta(cluster, collection);
                if (m == null) {
                    throw new MedsearchException("collection " + collection + " lost its metadata document");
                }
                long next = ((Number) m.getFirstValue(SolrSchema.NEXT_ID)).longValue();
                if (!updateMeta(m, Map.of(SolrSchema.NEXT_ID, next + ID_BLOCK))) {
                    continue; // another writer reserved a block meanwhile
                }
                nextInBlock = next + 1;
                blockEnd = next + ID_BLOCK;
                return next;
            }
        }
    }

    /** Sends what is buffered, in chunks; every chunk can be sent again safely. */
    private void flush() throws IOException {
        List<SolrInputDocument> adds;
        List<String> paths;
        List<Long> ids;
        synchronized (pendingLock) {
            adds = new ArrayList<>(pendingAdds.values());
            paths = new ArrayList<>(pendingDeletePaths);
            ids = new ArrayList<>(pendingDeleteIds);
            pendingAdds.clear();
            pendingAddIds.clear();
            pendingDeletePaths.clear();
            pendingDeleteIds.clear();
        }
        // after the buffer's coalescing, adds and deletes touch different images: their order does not matter
        for (int i = 0; i < adds.size(); i += SEND_CHUNK) {
            UpdateRequest u = new UpdateRequest();
            u.add(adds.subList(i, Math.min(adds.size(), i + SEND_CHUNK)));
            send(cluster, collection, u, false);
        }
        for (int i = 0; i < paths.size(); i += SEND_CHUNK) {
            UpdateRequest u = new UpdateRequest();
            u.deleteById(paths.subList(i, Math.min(paths.size(), i + SEND_CHUNK)));
            send(cluster, collection, u, false);
        }
        // the terms parser takes the ids as values, never as query syntax ("-1" is an id, not a negation),
        // and matches images only: the meta document has no id
        for (int i = 0; i < ids.size(); i += 1024) {
            StringBuilder q = new StringBuilder("{!terms f=" + SolrSchema.ID + "}");
            List<Long> part = ids.subList(i, Math.min(ids.size(), i + 1024));
            for (int j = 0; j < part.size(); j++) {
                q.append(j == 0 ? "" : ",").append(part.get(j));
            }
            UpdateRequest u = new UpdateRequest();
            u.deleteByQuery(q.toString());
            send(cluster, collection, u, false);
        }
    }

    @Override
    public void commit() throws IOException {
        requireWriter();
        flush();
        hardCommit(cluster, collection);
        classCountsAt = 0;
    }

    @Override
    public void refresh() throws IOException {
        if (writable) {
            flush();
            cluster.request(
                    "refreshing",
                    new UpdateRequest().setAction(UpdateRequest.ACTION.COMMIT, true, true, true),
                    collection,
                    r -> r);
        }
        followAlias(true);
        classCountsAt = 0;
    }

    /**
     * Merges each replica's segments down to {@code maxSegments} and waits until that is done (and
     * with it every merge Solr was running): for benchmarks, which should not time queries against
     * merges that rebuild HNSW graphs in the background, and for an archive that stopped growing.
     */
    public void forceMerge(int maxSegments) throws IOException {
        requireWriter();
        flush();
        // a merge of a large collection outlasts the usual socket timeout: one node coordinates it, patiently
        cluster.requestNode(
                "merging segments",
                cluster.nodeOf(collection),
                new UpdateRequest().setAction(UpdateRequest.ACTION.OPTIMIZE, true, true, maxSegments),
                collection,
                3_600_000);
    }

    // ---- reads ----

    /** Follows a moved alias (readers only), at most every {@value #ALIAS_TTL_MILLIS} ms unless {@code now}. */
    private void followAlias(boolean now) throws IOException {
        if (writable || (!now && System.currentTimeMillis() - aliasCheckedAt < ALIAS_TTL_MILLIS)) {
            return;
        }
        aliasCheckedAt = System.currentTimeMillis();
        String target = cluster.resolve(name);
        if (target.equals(collection) || target.equals(ignoredCollection)) {
            return;
        }
        SolrDocument m = meta(cluster, target);
        IndexInfo other = m == null ? null : SolrSchema.info(m, target);
        if (other != null
                && other.modelFingerprint().equals(info.modelFingerprint())
                && other.dimensions() == info.dimensions()) {
            LOG.info("alias {} moved from {} to {}: searching {}", name, collection, target, target);
            collection = target;
            info = other;
            classCountsAt = 0;
        } else {
            ignoredCollection = target;
            LOG.warn(
                    "alias {} now points at {}, which holds {}; this process keeps searching {} (model {}):"
                            + " restart it with the new collection's model to follow",
                    name,
                    target,
                    other == null ? "no medsearch index" : "vectors of model " + other.modelFingerprint(),
                    collection,
                    info.modelFingerprint());
        }
    }

    private QueryResponse query(String what, SolrQuery q) throws IOException {
        followAlias(false);
        // one round trip to each shard: the top rows come back with their fields in the first pass
        q.set("distrib.singlePass", true);
        QueryRequest req = new QueryRequest(q, SolrRequest.METHOD.POST);
        String coll = collection;
        return cluster.retrying(what, () -> complete(req.process(cluster.client(), coll)));
    }

    /**
     * The answer, if it is whole. A node going down in the middle of a distributed search can make
     * Solr answer with some shards' results (header {@code partialResults}) or with no result list at
     * all, instead of an error: either is retried as a failure, never taken for the answer.
     */
    static QueryResponse complete(QueryResponse r) throws SolrServerException {
        Object partial = r.getHeader() == null ? null : r.getHeader().get(PARTIAL_RESULTS);
        if (r.getResults() == null || Boolean.parseBoolean(String.valueOf(partial))) {
            throw new SolrServerException(
                    "an incomplete answer (" + (r.getResults() == null ? "no results" : "partial results") + ")");
        }
        return r;
    }

    private static SolrQuery images() {
        SolrQuery q = new SolrQuery("*:*");
        q.addFilterQuery(term(SolrSchema.KIND, SolrSchema.IMAGE_KIND));
        return q;
    }

    /** A term query on a string field whatever the value holds (no query syntax to escape). */
    private static String term(String field, String value) {
        return "{!term f=" + field + "}" + value;
    }

    private static String anyOf(String field, Set<String> values) {
        if (values.isEmpty()) {
            return "-*:*";
        }
        if (values.size() == 1) {
            return term(field, values.iterator().next());
        }
        StringBuilder b = new StringBuilder();
        for (String v : values) {
            b.append(b.length() == 0 ? "" : " OR ")
                    .append(field)
                    .append(':')
                    .append(v.isEmpty() ? "\"\"" : ClientUtils.escapeQueryChars(v));
        }
        return b.toString();
    }

    /** The filter as Solr filter queries: class, modality and split filters are cached; per-query ones not. */
    static List<String> filterQueries(SearchFilter f) {
        List<String> fq = new ArrayList<>();
        fq.add(term(SolrSchema.KIND, SolrSchema.IMAGE_KIND));
        if (f.classes() != null) {
            fq.add(anyOf(SolrSchema.CLASS, f.classes()));
        }
        if (f.modality() != null) {
            fq.add(term(SolrSchema.MODALITY, f.modality()));
        }
        if (f.splits() != null) {
            fq.add(anyOf(SolrSchema.SPLIT, f.splits()));
        }
        if (f.patientKey() != null) {
            fq.add("{!term cache=false f=" + SolrSchema.PATIENT + "}" + f.patientKey());
        }
        if (f.studyKey() != null) {
            fq.add("{!term cache=false f=" + SolrSchema.STUDY + "}" + f.studyKey());
        }
        if (f.excludeContentHash() != null) {
            fq.add("{!cache=false}*:* -" + SolrSchema.SHA + ":" + ClientUtils.escapeQueryChars(f.excludeContentHash()));
        }
        if (f.excludePatientKey() != null) {
            fq.add("{!cache=false}*:* -" + SolrSchema.PATIENT + ":"
                    + ClientUtils.escapeQueryChars(f.excludePatientKey()));
        }
        return fq;
    }

    static String vectorLiteral(float[] v) {
        StringBuilder b = new StringBuilder(v.length * 12).append('[');
        for (int i = 0; i < v.length; i++) {
            b.append(i == 0 ? "" : ",").append(Float.toString(v[i]));
        }
        return b.append(']').toString();
    }

    @Override
    public Optional<IndexedImage> get(long id) throws IOException {
        SolrQuery q = images();
        q.setQuery("{!term f=" + SolrSchema.ID + "}" + id);
        q.setFields(SolrSchema.IMAGE_FIELDS);
        q.setRows(1);
        SolrDocumentList docs = query("reading image " + id, q).getResults();
        return docs.isEmpty() ? Optional.empty() : Optional.of(SolrSchema.image(docs.get(0)));
    }

    @Override
    public int size() throws IOException {
        SolrQuery q = images();
        q.setRows(0);
        return Math.toIntExact(query("counting images", q).getResults().getNumFound());
    }

    /**
     * Visible images per value of each field, all in one request; an image without a value counts
     * as "none", except for the class, which every image has.
     */
    private Map<String, Map<String, Integer>> facets(String... fields) throws IOException {
        SolrQuery q = images();
        q.setRows(0);
        q.setFacet(true);
        q.addFacetField(fields);
        q.setFacetLimit(-1);
        q.setFacetMinCount(1);
        q.setFacetMissing(true);
        q.set("f." + SolrSchema.CLASS + ".facet.missing", false);
        q.setFacetSort("index");
        QueryResponse r = query("counting by " + String.join(", ", fields), q);
        Map<String, Map<String, Integer>> out = new HashMap<>();
        for (String field : fields) {
            Map<String, Integer> m = new TreeMap<>();
            for (FacetField.Count c : r.getFacetField(field).getValues()) {
                if (c.getCount() == 0) {
                    continue; // facet.missing's bucket when nothing is missing
                }
                m.put(c.getName() == null ? "none" : c.getName(), Math.toIntExact(c.getCount()));
            }
            out.put(field, m);
        }
        if (out.containsKey(SolrSchema.CLASS)) {
            classCounts = out.get(SolrSchema.CLASS);
            classCountsAt = System.currentTimeMillis();
        }
        return out;
    }

    @Override
    public Map<String, Integer> countsPerClass() throws IOException {
        return facets(SolrSchema.CLASS).get(SolrSchema.CLASS);
    }

    @Override
    public Map<String, Integer> countsPerSplit() throws IOException {
        return facets(SolrSchema.SPLIT).get(SolrSchema.SPLIT);
    }

    @Override
    public Map<String, Integer> countsPerModality() throws IOException {
        return facets(SolrSchema.MODALITY).get(SolrSchema.MODALITY);
    }

    /** Calls {@code each} for every visible image, fetching {@code fields}, in path order (a cursor: a stable walk). */
    private void forEachImage(String fields, DocBody each) throws IOException {
        String cursor = CursorMarkParams.CURSOR_MARK_START;
        while (true) {
            SolrQuery q = images();
            q.setFields(fields);
            q.setRows(5_000);
            q.setSort(SolrSchema.PATH, SolrQuery.ORDER.asc);
            q.set(CursorMarkParams.CURSOR_MARK_PARAM, cursor);
            QueryResponse r = query("listing images", q);
            for (SolrDocument d : r.getResults()) {
                each.accept(d);
            }
            String next = r.getNextCursorMark();
            if (next == null || next.equals(cursor)) {
                return;
            }
            cursor = next;
        }
    }

    private interface DocBody {
        void accept(SolrDocument d) throws IOException;
    }

    @Override
    public Map<String, String> contentHashesByPath() throws IOException {
        Map<String, String> m = new HashMap<>();
        forEachImage(
                SolrSchema.PATH + "," + SolrSchema.SHA,
                d -> m.put(SolrSchema.str(d, SolrSchema.PATH), SolrSchema.str(d, SolrSchema.SHA)));
        return m;
    }

    private long candidates(SearchFilter f) throws IOException {
        Map<String, Integer> counts = classCounts;
        if (counts == null || System.currentTimeMillis() - classCountsAt > COUNTS_TTL_MILLIS) {
            counts = countsPerClass();
        }
        long n = 0;
        for (Map.Entry<String, Integer> e : counts.entrySet()) {
            if (f.classes() == null || f.classes().contains(e.getKey())) {
                n += e.getValue();
            }
        }
        return n;
    }

    @Override
    public SearchResults search(float[] query, int k, SearchFilter filter, SearchMode mode) throws IOException {
        info.requireDimensions(query, "query");
        if (k < 1) {
            return new SearchResults(List.of(), "exact", 0);
        }
        long candidates = candidates(filter);
        boolean exact = mode == SearchMode.EXACT || (mode == SearchMode.AUTO && candidates <= exactThreshold);
        List<Hit> hits = exact ? exact(query, k, filter, candidates) : approximate(query, k, filter);
        return new SearchResults(hits, exact ? "exact" : "approximate", candidates);
    }

    private static final Comparator<Hit> ORDER =
            Comparator.comparingDouble(Hit::squaredDistance).thenComparingLong(Hit::id);

    private List<Hit> rerank(SolrDocumentList docs, float[] query) throws IOException {
        List<Hit> hits = new ArrayList<>(docs.size());
        for (SolrDocument d : docs) {
            IndexedImage img = SolrSchema.image(d);
            hits.add(new Hit(img.id(), Distances.squaredL2(query, img.vector()), img));
        }
        hits.sort(ORDER);
        return hits;
    }

    private List<Hit> approximate(float[] query, int k, SearchFilter filter) throws IOException {
        int fetch = Math.max(k, approximateFetch);
        SolrQuery q = new SolrQuery("{!knn f=" + SolrSchema.VECTOR + " topK=" + fetch + "}" + vectorLiteral(query));
        filterQueries(filter).forEach(q::addFilterQuery);
        q.setFields(SolrSchema.IMAGE_FIELDS);
        q.setRows(fetch);
        List<Hit> hits = rerank(query("searching", q).getResults(), query);
        return hits.size() > k ? new ArrayList<>(hits.subList(0, k)) : hits;
    }

    /**
     * The exact top k: Solr scores every image that passes the filter, returns the best {@code rows}
     * by its float score, and this re-ranks them exactly. Solr's score s = 1 / (1 + d²) is
     * monotone in d² but rounded; an image not fetched has s <= the last fetched one's. If that is
     * strictly below the score of a distance slightly above the k-th best's (a margin for the two
     * kernels' rounding), no image left behind can rank in the top k, ties included; else fetch more.
     *
     * <p>Who scores every image: a {@code vectorSimilarity} function query restricted by the filter;
     * or, when {@link #setKnnExactLimit} allows it and the filter admits fewer images than that limit,
     * Lucene's own k-NN with {@code topK} = the limit: a segment whose filtered candidates do not
     * exceed topK is searched exhaustively, and an answer with fewer than topK images proves that no
     * shard had more, so none walked its graph (if it has as many, the function query runs instead).
     */
    private List<Hit> exact(float[] query, int k, SearchFilter filter, long candidates) throws IOException {
        int rows = k + Math.max(16, k);
        int limit = knnExactLimit;
        boolean viaKnn = candidates < limit;
        String vector = vectorLiteral(query);
        while (true) {
            SolrQuery q = new SolrQuery(
                    viaKnn
                            ? "{!knn f=" + SolrSchema.VECTOR + " topK=" + limit + "}" + vector
                            : "{!func}vectorSimilarity(FLOAT32,EUCLIDEAN," + SolrSchema.VECTOR + "," + vector + ")");
            filterQueries(filter).forEach(q::addFilterQuery);
            q.setFields(SolrSchema.IMAGE_FIELDS + ",score");
            q.setRows(rows);
            // few rows: the shards send them whole in the first round, which saves the second
            q.set("distrib.singlePass", true);
            q.addSort("score", SolrQuery.ORDER.desc);
            q.addSort(SolrSchema.ID, SolrQuery.ORDER.asc);
            SolrDocumentList docs = query("searching", q).getResults();
            if (viaKnn && docs.getNumFound() >= limit) {
                viaKnn = false; // a shard may have walked its graph: score everything with the function
                continue;
            }
            List<Hit> hits = rerank(docs, query);
            if (docs.getNumFound() <= docs.size()) {
                return hits.size() > k ? new ArrayList<>(hits.subList(0, k)) : hits;
            }
            if (hits.size() >= k) {
                float lastScore = ((Number) docs.get(docs.size() - 1).getFieldValue("score")).floatValue();
                double kth = hits.get(k - 1).squaredDistance();
                double bound = 1.0 / (1.0 + kth * (1 + 1e-4) + 1e-6);
                if (lastScore < bound) {
                    return new ArrayList<>(hits.subList(0, k));
                }
            }
            rows = (int) Math.min(docs.getNumFound(), (long) rows * 4);
        }
    }

    // ---- check and stats ----

    @Override
    public CheckReport check() throws IOException {
        List<String> problems = new ArrayList<>();
        String coll = collection;
        for (String r : cluster.inactiveReplicas(coll)) {
            problems.add("replica " + r + " is not active");
        }
        replicaCounts(coll, problems);
        SolrDocument m = meta(cluster, coll);
        long nextId = m == null ? 0 : ((Number) m.getFirstValue(SolrSchema.NEXT_ID)).longValue();
        if (m == null) {
            problems.add("the meta document is missing");
        }
        Set<Long> ids = new HashSet<>();
        int[] images = {0};
        forEachImage(SolrSchema.ID + "," + SolrSchema.PATH + "," + SolrSchema.SHA + "," + SolrSchema.CLASS, d -> {
            images[0]++;
            Object id = d.getFirstValue(SolrSchema.ID);
            String path = SolrSchema.str(d, SolrSchema.PATH);
            if (id == null) {
                problems.add(path + ": no id");
            } else {
                long v = ((Number) id).longValue();
                if (v < 0 || v >= nextId) {
                    problems.add(path + ": id " + v + " is not below the next id " + nextId);
                }
                if (!ids.add(v)) {
                    problems.add(path + ": id " + v + " is used twice");
                }
            }
            if (path == null || path.isEmpty()) {
                problems.add("an image without a source path");
            }
            String sha = SolrSchema.str(d, SolrSchema.SHA);
            if (sha == null || sha.isEmpty()) {
                problems.add(path + ": no content hash");
            }
            if (d.getFirstValue(SolrSchema.CLASS) == null) {
                problems.add(path + ": no class");
            }
        });
        SolrQuery q = images();
        // Solr has no existence query on vector fields; an image without a vector scores 0 on any function of it
        q.setQuery("{!frange u=0}vectorSimilarity(FLOAT32,EUCLIDEAN," + SolrSchema.VECTOR + ","
                + vectorLiteral(new float[info.dimensions()]) + ")");
        q.setRows(10);
        q.setFields(SolrSchema.PATH);
        for (SolrDocument d : query("checking vectors", q).getResults()) {
            problems.add(SolrSchema.str(d, SolrSchema.PATH) + ": no vector");
        }
        return new CheckReport(images[0], problems);
    }

    /** Each shard's active replicas must hold the same number of documents (Solr's own consistency). */
    private void replicaCounts(String coll, List<String> problems) throws IOException {
        DocCollection c = cluster.docCollection(coll);
        for (Slice s : c.getSlices()) {
            Map<String, Long> counts = new TreeMap<>();
            for (Replica r : s.getReplicas()) {
                if (r.getState() != Replica.State.ACTIVE) {
                    continue;
                }
                SolrQuery q = new SolrQuery("*:*");
                q.setRows(0);
                q.set(CommonParams.DISTRIB, false);
                NamedList<Object> rsp = cluster.requestNode(
                        "counting replica " + r.getName(), r.getBaseUrl(), new QueryRequest(q), r.getCoreName());
                long n = ((SolrDocumentList) rsp.get("response")).getNumFound();
                counts.put(r.getName(), n);
            }
            if (counts.values().stream().distinct().count() > 1) {
                problems.add("shard " + s.getName() + ": replicas disagree on their document counts " + counts);
            }
        }
    }

    @Override
    public Stats stats() throws IOException {
        String coll = collection;
        DocCollection c = cluster.docCollection(coll);
        long bytes = 0;
        int segments = 0;
        for (Slice s : c.getSlices()) {
            for (Replica r : s.getReplicas()) {
                if (r.getState() != Replica.State.ACTIVE) {
                    continue;
                }
                CoreAdminRequest status = new CoreAdminRequest();
                status.setAction(org.apache.solr.common.params.CoreAdminParams.CoreAdminAction.STATUS);
                status.setCoreName(r.getCoreName());
                CoreAdminResponse rsp = new CoreAdminResponse();
                rsp.setResponse(cluster.requestNode("reading replica " + r.getName(), r.getBaseUrl(), status, null));
                Object index = rsp.getCoreStatus(r.getCoreName()).get("index");
                Object size = index instanceof NamedList<?> nl ? nl.get("sizeInBytes") : null;
                if (size instanceof Number n) {
                    bytes += n.longValue();
                }
                Object count = index instanceof NamedList<?> nl ? nl.get("segmentCount") : null;
                if (count instanceof Number n) {
                    segments += n.intValue();
                }
            }
        }
        SolrDocument m = meta(cluster, coll);
        Map<String, Map<String, Integer>> counts = facets(SolrSchema.CLASS, SolrSchema.SPLIT, SolrSchema.MODALITY);
        Map<String, Integer> perClass = counts.get(SolrSchema.CLASS);
        return new Stats(
                perClass.values().stream().mapToInt(Integer::intValue).sum(),
                perClass,
                counts.get(SolrSchema.SPLIT),
                counts.get(SolrSchema.MODALITY),
                bytes,
                Map.of("all replicas", bytes),
                segments,
                info.modelFingerprint(),
                "solr hnsw-float32 (M=16, beam=100), " + c.getSlices().size() + " shards x " + c.getReplicationFactor()
                        + " replicas, collection " + coll,
                m == null ? 0 : ((Number) m.getFirstValue(SolrSchema.NEXT_ID)).longValue(),
                info.createdBy(),
                0,
                "Solr function query (vectorSimilarity)");
    }

    @Override
    public void close() throws IOException {
        synchronized (pendingLock) {
            pendingAdds.clear();
            pendingAddIds.clear();
            pendingDeletePaths.clear();
            pendingDeleteIds.clear();
        }
        cluster.close();
    }
}
