package org.medsearch.index.solr;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.index.Distances;
import org.medsearch.index.Hit;
import org.medsearch.index.IndexInfo;
import org.medsearch.index.IndexedImage;
import org.medsearch.index.LuceneIndex;
import org.medsearch.index.SearchFilter;
import org.medsearch.index.VectorStore.CheckReport;
import org.medsearch.index.VectorStore.SearchMode;
import org.medsearch.service.IndexingJob;

/**
 * {@link SolrVectorStore} while the cluster fails and changes under it, on one real 2-node SolrCloud
 * ({@link SolrTestCluster}) with collections of 2 shards x 2 replicas (one replica of each shard on
 * each node): a node stopped and restarted while a writer indexes and while readers search, an
 * alias moved under a reader, and two writers filling one collection. Images are synthetic 64-d
 * vectors on a coarse grid (ties are common, so the id tie-break is exercised across shards);
 * every search is compared with a brute-force oracle. Seeds are fixed.
 */
class SolrFaultToleranceTest {

    static final int DIM = 64;
    static final List<String> CLASSES = List.of("a", "b", "c");
    static final String MODEL = "fp-faults";

    @TempDir
    static Path dir;

    static SolrTestCluster solr;

    @BeforeAll
    static void startCluster() throws IOException {
        solr = SolrTestCluster.start(2, dir.resolve("cluster"));
    }

    @AfterAll
    static void stopCluster() {
        if (solr != null) {
            solr.close();
        }
    }

    // ---- the oracle ----

    record Stored(long id, IndexedImage img) {}

    static IndexInfo info(String fingerprint) {
        return new IndexInfo(LuceneIndex.FORMAT, fingerprint, CLASSES, DIM, "test");
    }

    static SolrLocation location(String collection) throws IOException {
        return SolrLocation.parse("solr://" + solr.zkHost() + "/" + collection);
    }

    static SolrLocation create(String collection) throws IOException {
        SolrLocation l = location(collection);
        try (SolrCluster c = SolrCluster.connect(l)) {
            c.createCollection(collection, DIM, 2, 2);
        }
        return l;
    }

    /** Vectors on a grid of {0, 1, 2}: squared distances are small integers, so ties are common. */
    static float[] vector(Random r) {
        float[] v = new float[DIM];
        for (int i = 0; i < DIM; i++) {
            v[i] = r.nextInt(3);
        }
        return v;
    }

    static String sha256(String s) {
        try {
            return HexFormat.of()
                    .formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Image {@code i} of the set {@code set}: path and content hash are unique to it. */
    static IndexedImage image(String set, Random r, int i) {
        String cls = CLASSES.get(r.nextInt(CLASSES.size()));
        String path = "/data/" + set + "/" + cls + "/img_" + i + ".png";
        return new IndexedImage(
                -1, path, cls, cls, 0.9f, sha256(path), vector(r), "train", "CT", null, null, Map.of("format", "png"));
    }

    static List<IndexedImage> images(String set, long seed, int n) {
        Random r = new Random(seed);
        List<IndexedImage> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(image(set, r, i));
        }
        return out;
    }

    static boolean passes(Stored s, SearchFilter f) {
        return f.classes() == null || f.classes().contains(s.img().searchClass());
    }

    /** The exact top k by (squared distance, id), with the store's own distance kernel. */
    static List<Long> oracle(Collection<Stored> all, float[] q, int k, SearchFilter f) {
        return all.stream()
                .filter(s -> passes(s, f))
                .sorted(Comparator.<Stored>comparingDouble(
                                s -> Distances.squaredL2(q, s.img().vector()))
                        .thenComparingLong(Stored::id))
                .limit(k)
                .map(Stored::id)
                .collect(Collectors.toList());
    }

    static SearchFilter filter(Random r) {
        return r.nextBoolean() ? SearchFilter.ALL : SearchFilter.ALL.withClasses(Set.of(CLASSES.get(r.nextInt(3))));
    }

    static List<Long> ids(List<Hit> hits) {
        return hits.stream().map(Hit::id).toList();
    }

    static List<Long> exact(SolrVectorStore store, float[] q, int k, SearchFilter f) throws IOException {
        return ids(store.search(q, k, f, SearchMode.EXACT).hits());
    }

    static Map<String, String> hashes(Collection<Stored> all) {
        Map<String, String> m = new HashMap<>();
        for (Stored s : all) {
            m.put(s.img().path(), s.img().contentHash());
        }
        return m;
    }

    /** The store holds exactly {@code all}: consistent, every path once with its hash, exact searches as the oracle. */
    static void assertHolds(SolrVectorStore store, Collection<Stored> all, long seed) throws IOException {
        CheckReport check = store.check();
        assertTrue(check.ok(), "check: " + check.problems());
        assertEquals(all.size(), check.images());
        assertEquals(all.size(), store.size());
        assertEquals(hashes(all), store.contentHashesByPath(), "every path exactly once, with its content hash");
        Set<Long> ids = new HashSet<>();
        all.forEach(s -> assertTrue(ids.add(s.id()), "id " + s.id() + " handed out twice"));
        Random r = new Random(seed);
        for (int q = 0; q < 25; q++) {
            float[] query = vector(r);
            int k = 1 + r.nextInt(30);
            SearchFilter f = filter(r);
            assertEquals(oracle(all, query, k, f), exact(store, query, k, f), "query " + q + " filter " + f);
        }
    }

    static void await(String what, long millis, BooleanSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + millis + " ms waiting for " + what);
            }
            Thread.sleep(20);
        }
    }

    static long ms(long fromNanos) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - fromNanos);
    }

    // ---- a. a node stopped while a writer indexes ----

    /**
     * A writer adds images and commits every 200 while node 1 stops and, later, starts again: the
     * store retries every request through the leader elections and the recovery, so the writer ends
     * without an error, commits go on while the node is down, and afterwards the collection holds
     * every image added exactly once, consistent on every replica.
     */
    @Test
    void aNodeStoppedWhileIndexingLosesNothing() throws Exception {
        SolrLocation l = create("indexing");
        Random source = new Random(11);
        List<Stored> added = new ArrayList<>();
        AtomicInteger commits = new AtomicInteger();
        AtomicBoolean stop = new AtomicBoolean();
        ExecutorService writer = Executors.newSingleThreadExecutor();
        boolean down = false;
        try (SolrVectorStore store = SolrVectorStore.openOrCreate(l, info(MODEL))) {
            Future<Long> done = writer.submit(() -> {
                long slowest = 0;
                // at least 3000 images, and on until the node is back and two more commits went through
                for (int i = 0; i < 3000 || !stop.get(); i++) {
                    IndexedImage img = image("indexing", source, i);
                    long id = store.add(img);
                    synchronized (added) {
                        added.add(new Stored(id, img.withId(id)));
                    }
                    if ((i + 1) % 200 == 0) {
                        long t = System.nanoTime();
                        store.commit();
                        slowest = Math.max(slowest, ms(t));
                        commits.incrementAndGet();
                        Thread.sleep(100); // a pace that keeps the collection small while the outage lasts
                    }
                }
                store.commit();
                return slowest;
            });
            await("the writer's first commits", 60_000, () -> commits.get() >= 3 || done.isDone());
            assertFalse(done.isDone(), "the writer ended before the node was stopped");

            long s0 = System.nanoTime();
            solr.stopNode(1);
            down = true;
            long stopMs = ms(s0);
            int atStop = commits.get();
            long d0 = System.nanoTime();
            // writes go on with one node of two: the shards' replicas on node 0 take over as leaders
            await("commits with node 1 down", 60_000, () -> commits.get() >= atStop + 3 || done.isDone());
            long commitsDownMs = ms(d0);
            Thread.sleep(1_000);

            int downCommits = commits.get() - atStop;
            long r0 = System.nanoTime();
            solr.startNode(1);
            down = false;
            long restartMs = ms(r0);
            int atRestart = commits.get();
            await("commits after the restart", 60_000, () -> commits.get() >= atRestart + 2 || done.isDone());
            stop.set(true);
            long slowestCommit = done.get(120, TimeUnit.SECONDS);
            assertTrue(commits.get() >= atRestart + 2, "the writer ended before the restart");

            System.out.printf(
                    "node stopped while indexing: %d images in %d commits; stop %d ms, %d commits while down"
                            + " (first 3 in %d ms), restart %d ms, slowest commit %d ms%n",
                    added.size(), commits.get() + 1, stopMs, downCommits, commitsDownMs, restartMs, slowestCommit);
            assertTrue(downCommits >= 3, "commits while node 1 was down: " + downCommits);
            assertTrue(added.size() >= 3000, "images added: " + added.size());
            assertHolds(store, added, 12);
        } finally {
            stop.set(true);
            writer.shutdownNow();
            if (down) {
                solr.startNode(1);
            }
        }
        // a new connection, a reader, sees the same
        try (SolrVectorStore reader = SolrVectorStore.open(l, false)) {
            assertEquals(added.size(), reader.size());
            assertEquals(hashes(added), reader.contentHashesByPath());
        }
    }

    // ---- b. a node stopped while readers search ----

    /**
     * Three threads run exact searches, class-filtered and not, each compared with the oracle, while
     * node 1 stops and starts again: no search fails, none is wrong, and searches go on while the
     * node is down.
     */
    @Test
    void aNodeStoppedWhileSearchingFailsNoSearch() throws Exception {
        SolrLocation l = create("searching");
        List<Stored> all = new ArrayList<>();
        try (SolrVectorStore w = SolrVectorStore.openOrCreate(l, info(MODEL))) {
            for (IndexedImage img : images("searching", 21, 2000)) {
                long id = w.add(img);
                all.add(new Stored(id, img.withId(id)));
            }
            w.commit();
        }
        int threads = 3;
        // 0 before the stop, 1 from the stop's return to the restart's call, 2 after
        AtomicInteger phase = new AtomicInteger();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong[] perPhase = {new AtomicLong(), new AtomicLong(), new AtomicLong(), new AtomicLong()};
        AtomicLong slowest = new AtomicLong();
        ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        boolean down = false;
        try (SolrVectorStore reader = SolrVectorStore.open(l, false)) {
            List<Future<?>> loops = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                Random r = new Random(100 + t);
                loops.add(pool.submit(() -> {
                    while (!stop.get()) {
                        float[] q = vector(r);
                        int k = 1 + r.nextInt(20);
                        SearchFilter f = filter(r);
                        int before = phase.get();
                        long t0 = System.nanoTime();
                        try {
                            List<Long> got = exact(reader, q, k, f);
                            List<Long> want = oracle(all, q, k, f);
                            if (!want.equals(got)) {
                                failures.add("wrong in phase " + before + ": filter " + f + " k " + k + ": " + got
                                        + " instead of " + want);
                            }
                        } catch (IOException | RuntimeException e) {
                            failures.add("failed in phase " + before + ": " + e);
                        }
                        slowest.accumulateAndGet(ms(t0), Math::max);
                        int after = phase.get();
                        // a search wholly inside one phase counts for it; one across a change counts apart (3)
                        perPhase[before == after ? before : 3].incrementAndGet();
                    }
                }));
            }
            await("searches before the stop", 60_000, () -> perPhase[0].get() >= 30);
            solr.stopNode(1);
            down = true;
            phase.set(1);
            await("searches with node 1 down", 60_000, () -> perPhase[1].get() >= 30);
            Thread.sleep(2_000);
            phase.set(2);
            solr.startNode(1);
            down = false;
            await("searches after the restart", 60_000, () -> perPhase[2].get() >= 30);
            stop.set(true);
            for (Future<?> f : loops) {
                f.get(120, TimeUnit.SECONDS);
            }
            System.out.printf(
                    "node stopped while searching: %d searches before the stop, %d while node 1 was down, %d"
                            + " across the restart, %d after; slowest %d ms; %d failures%n",
                    perPhase[0].get(),
                    perPhase[1].get(),
                    perPhase[3].get(),
                    perPhase[2].get(),
                    slowest.get(),
                    failures.size());
            assertEquals(
                    List.of(), failures.stream().limit(10).toList(), failures.size() + " failed or wrong searches");
            assertTrue(perPhase[1].get() > 0, "no search ran while node 1 was down");
        } finally {
            stop.set(true);
            pool.shutdownNow();
            if (down) {
                solr.startNode(1);
            }
        }
    }

    // ---- c. an alias moved under a reader ----

    static final long FOLLOW_MILLIS = SolrVectorStore.ALIAS_TTL_MILLIS + 3_000;

    /** Which set every hit comes from ("A", "B", ...), or "mixed". */
    static String setOf(List<Hit> hits) {
        Set<String> sets = new HashSet<>();
        for (Hit h : hits) {
            sets.add(h.image().path().split("/")[2]);
        }
        return sets.size() == 1 ? sets.iterator().next() : "mixed " + sets;
    }

    static List<Stored> fill(SolrVectorStore store, List<IndexedImage> images) throws IOException {
        List<Stored> out = new ArrayList<>();
        for (IndexedImage img : images) {
            long id = store.add(img);
            out.add(new Stored(id, img.withId(id)));
        }
        store.commit();
        return out;
    }

    /**
     * A reader on alias X keeps searching collection A while B is built, moves to B within
     * seconds of {@code promote(X, B)} (at once on {@link SolrVectorStore#refresh()}), never sees
     * a mixture, and does not follow the alias to a collection of another model.
     */
    @Test
    void aReaderFollowsTheAliasToACollectionOfItsModelOnly() throws Exception {
        SolrLocation a = create("aliasA");
        SolrLocation b = create("aliasB");
        SolrLocation c = create("aliasC");
        SolrLocation x = location("images");
        List<Stored> inA;
        try (SolrVectorStore w = SolrVectorStore.openOrCreate(a, info(MODEL))) {
            inA = fill(w, images("A", 31, 400));
        }
        try (SolrVectorStore w = SolrVectorStore.openOrCreate(c, info("another-model"))) {
            fill(w, images("C", 33, 50));
        }
        try (SolrCluster cluster = SolrCluster.connect(x)) {
            assertEquals(Optional.empty(), cluster.promote("images", "aliasA"));
            Random r = new Random(34);
            try (SolrVectorStore reader = SolrVectorStore.open(x, false)) {
                assertEquals("aliasA", reader.collection());
                assertEquals(MODEL, reader.info().modelFingerprint());

                // B is filled, batch by batch, with commits: the reader stays on A, refresh or not
                List<Stored> inB = new ArrayList<>();
                List<IndexedImage> forB = images("B", 32, 600);
                try (SolrVectorStore w = SolrVectorStore.openOrCreate(b, info(MODEL))) {
                    for (int from = 0; from < forB.size(); from += 100) {
                        inB.addAll(fill(w, forB.subList(from, from + 100)));
                        if (from % 200 == 0) {
                            reader.refresh();
                        }
                        for (int i = 0; i < 3; i++) {
                            float[] q = vector(r);
                            SearchFilter f = filter(r);
                            List<Hit> hits =
                                    reader.search(q, 10, f, SearchMode.EXACT).hits();
                            assertEquals(oracle(inA, q, 10, f), ids(hits), "still A while B is built");
                            assertEquals("A", setOf(hits));
                        }
                    }
                }
                assertEquals("aliasA", reader.collection());

                // the promotion: B within seconds, without a refresh, and never a mixture
                assertEquals(Optional.of("aliasA"), cluster.promote("images", "aliasB"));
                long p0 = System.nanoTime();
                String seen = "A";
                int searchesOnA = 0;
                while (seen.equals("A")) {
                    float[] q = vector(r);
                    SearchFilter f = filter(r);
                    List<Hit> hits = reader.search(q, 10, f, SearchMode.EXACT).hits();
                    seen = setOf(hits);
                    if (seen.equals("A")) {
                        searchesOnA++;
                        assertEquals(oracle(inA, q, 10, f), ids(hits));
                        assertTrue(ms(p0) < FOLLOW_MILLIS, "still on A " + ms(p0) + " ms after the promotion");
                        Thread.sleep(50);
                    } else {
                        assertEquals("B", seen, "a search after the promotion");
                        assertEquals(oracle(inB, q, 10, f), ids(hits));
                    }
                }
                long followedMs = ms(p0);
                assertEquals("aliasB", reader.collection());
                for (int i = 0; i < 10; i++) {
                    float[] q = vector(r);
                    SearchFilter f = filter(r);
                    List<Hit> hits = reader.search(q, 10, f, SearchMode.EXACT).hits();
                    assertEquals(oracle(inB, q, 10, f), ids(hits), "B from then on");
                }
                assertEquals(inB.size(), reader.size());

                // back to A: a refresh follows at once
                assertEquals(Optional.of("aliasB"), cluster.promote("images", "aliasA"));
                reader.refresh();
                assertEquals("aliasA", reader.collection());
                float[] q0 = vector(r);
                assertEquals(oracle(inA, q0, 10, SearchFilter.ALL), exact(reader, q0, 10, SearchFilter.ALL));

                // C holds another model's vectors: not followed, neither by time nor by a refresh
                assertEquals(Optional.of("aliasA"), cluster.promote("images", "aliasC"));
                Thread.sleep(SolrVectorStore.ALIAS_TTL_MILLIS + 500);
                for (int i = 0; i < 5; i++) {
                    float[] q = vector(r);
                    List<Hit> hits = reader.search(q, 10, SearchFilter.ALL, SearchMode.EXACT)
                            .hits();
                    assertEquals(oracle(inA, q, 10, SearchFilter.ALL), ids(hits), "A, not C");
                }
                reader.refresh();
                assertEquals("aliasA", reader.collection());
                assertEquals(MODEL, reader.info().modelFingerprint());
                assertEquals(inA.size(), reader.size());
                assertEquals("aliasC", cluster.resolve("images"));
                System.out.printf(
                        "alias swap: the reader followed the promotion to B in %d ms (%d searches still on A)%n",
                        followedMs, searchesOnA);
            }
        }
    }

    // ---- d. two workers fill one collection ----

    /**
     * Two writers, each a store of its own (a connection of its own), start at the same moment on a
     * new collection, each adding the images that {@code index --worker I/2} would own: they race to
     * record the index's metadata and to reserve id blocks. Neither waits for the other (a version
     * conflict is settled by reading again, not retried as a failure), and the union holds every
     * image once under ids that are unique.
     */
    @Test
    void twoWorkersFillOneCollectionWithEveryImageOnce() throws Exception {
        SolrLocation l = create("workers");
        List<IndexedImage> source = images("workers", 41, 3000);
        int n = 2;
        CyclicBarrier start = new CyclicBarrier(n);
        ExecutorService pool = Executors.newFixedThreadPool(n);
        List<Stored> all = new ArrayList<>();
        try {
            List<Future<List<Stored>>> workers = new ArrayList<>();
            long t0 = System.nanoTime();
            for (int w = 0; w < n; w++) {
                IndexingJob.Worker worker = new IndexingJob.Worker(w, n);
                workers.add(pool.submit(() -> {
                    start.await(30, TimeUnit.SECONDS);
                    List<Stored> mine = new ArrayList<>();
                    try (SolrVectorStore store = SolrVectorStore.openOrCreate(l, info(MODEL))) {
                        int i = 0;
                        for (IndexedImage img : source) {
                            if (!worker.owns(img.path())) {
                                continue;
                            }
                            long id = store.add(img);
                            mine.add(new Stored(id, img.withId(id)));
                            if (++i % 250 == 0) {
                                store.commit();
                            }
                        }
                        store.commit();
                    }
                    return mine;
                }));
            }
            List<Integer> shares = new ArrayList<>();
            for (Future<List<Stored>> f : workers) {
                List<Stored> mine = f.get(180, TimeUnit.SECONDS);
                shares.add(mine.size());
                all.addAll(mine);
            }
            long bothMs = ms(t0);
            System.out.printf("two workers: %s images, %d ms%n", shares, bothMs);
            assertTrue(shares.stream().allMatch(s -> s > 1000), "each worker's share: " + shares);
            // a version conflict retried as if the cluster were down would hold a worker for RETRY_MILLIS
            assertTrue(
                    bothMs < SolrCluster.RETRY_MILLIS / 2,
                    "the workers took " + bothMs + " ms: one waited for the other");
        } finally {
            pool.shutdownNow();
        }
        assertEquals(source.size(), all.size());
        try (SolrVectorStore reader = SolrVectorStore.open(l, false)) {
            assertHolds(reader, all, 42);
            // each worker's ids name its images
            Random r = new Random(43);
            for (int i = 0; i < 50; i++) {
                Stored s = all.get(r.nextInt(all.size()));
                assertEquals(s.img().path(), reader.get(s.id()).orElseThrow().path());
            }
        }
    }
}
