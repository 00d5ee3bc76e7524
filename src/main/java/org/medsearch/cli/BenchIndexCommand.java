package org.medsearch.cli;

import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.medsearch.index.Hit;
import org.medsearch.index.IndexInfo;
import org.medsearch.index.IndexedImage;
import org.medsearch.index.LuceneIndex;
import org.medsearch.index.SearchFilter;
import org.medsearch.index.VectorFormat;
import org.medsearch.index.VectorStore;
import org.medsearch.index.VectorStore.SearchMode;
import org.medsearch.index.solr.SolrCluster;
import org.medsearch.index.solr.SolrLocation;
import org.medsearch.index.solr.SolrVectorStore;
import org.medsearch.util.Figures;
import org.medsearch.util.FileUtil;
import org.medsearch.util.MedsearchException;
import org.medsearch.util.Version;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code medsearch bench-index}: the index at scale, on synthetic vectors drawn the way CNN
 * features look (a low-rank Gaussian mixture, one component per class, rectified like a ReLU
 * network's pooled activations): bulk indexing rate, size on disk, peak heap, query latency on
 * each path with and without a one-class filter, and the approximate path's recall against the
 * exact one.
 */
@Command(
        name = "bench-index",
        mixinStandardHelpOptions = true,
        description = {
            "Benchmark the index at scale on synthetic CNN-like vectors (a low-rank Gaussian mixture).",
            "Prints indexing rate, size on disk, peak heap, latency p50/p99 per path and filter, and recall@k."
        })
final class BenchIndexCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--vectors", defaultValue = "1000000", description = "Vectors to index (default ${DEFAULT-VALUE}).")
    int count;

    @Option(
            names = "--classes",
            defaultValue = "23",
            description = "Mixture components = classes (default ${DEFAULT-VALUE}).")
    int classes;

    @Option(names = "--dim", defaultValue = "512", description = "Dimensions (default ${DEFAULT-VALUE}).")
    int dim;

    @Option(names = "--rank", defaultValue = "32", description = "Rank of the mixture (default ${DEFAULT-VALUE}).")
    int rank;

    @Option(
            names = "--format",
            defaultValue = "float32",
            split = ",",
            paramLabel = "float32,int8",
            converter = Converters.Vectors.class,
            description = "Vector formats to run, one index each (default ${DEFAULT-VALUE}).")
    List<VectorFormat> formats;

    @Option(names = "--threads", defaultValue = "2", description = "Indexing threads (default ${DEFAULT-VALUE}).")
    int threads;

    @Option(names = "--queries", defaultValue = "200", description = "Queries per figure (default ${DEFAULT-VALUE}).")
    int queries;

    @Option(names = "--k", defaultValue = "10", description = "Results per query (default ${DEFAULT-VALUE}).")
    int k;

    @Option(
            names = "--fetch",
            defaultValue = "" + LuceneIndex.DEFAULT_APPROXIMATE_FETCH,
            split = ",",
            description =
                    "Graph candidates before the exact re-rank; several values give one row each (default ${DEFAULT-VALUE}).")
    List<Integer> fetch;

    @Option(
            names = "--reuse",
            description = "With --dir: query an index an earlier run built there instead of building it again.")
    boolean reuse;

    @Option(
            names = "--dir",
            paramLabel = "DIR",
            description = "Where to build the index (default: a temporary folder, removed).")
    Path dir;

    @Option(names = "--seed", defaultValue = "1", description = "Seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(
            names = "--store",
            defaultValue = "lucene",
            paramLabel = "lucene|solr",
            description = "The store to measure: the embedded Lucene index, or a SolrCloud collection (--solr)"
                    + " (default ${DEFAULT-VALUE}).")
    String store;

    @Option(
            names = "--solr",
            paramLabel = "solr://ZK/COLLECTION",
            description = "With --store solr: the collection, created if absent (--shards, --replicas); with"
                    + " --reuse, an earlier run's collection is queried again.")
    String solr;

    @Option(names = "--shards", defaultValue = "2", description = "With --store solr (default ${DEFAULT-VALUE}).")
    int shards;

    @Option(names = "--replicas", defaultValue = "1", description = "With --store solr (default ${DEFAULT-VALUE}).")
    int replicas;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = Output.out(spec);
        Mixture mix = new Mixture(classes, dim, rank, seed);
        out.printf(
                "bench-index: %,d vectors, %d dims, %d classes, rank-%d Gaussian mixture (rectified), %d indexing"
                        + " threads, k=%d, %d queries, heap max %s%n",
                count,
                dim,
                classes,
                rank,
                threads,
                k,
                queries,
                Figures.bytes(Runtime.getRuntime().maxMemory()));
        out.flush();
        if (store.equals("solr")) {
            runSolr(out, mix);
            return 0;
        }
        if (!store.equals("lucene")) {
            throw new MedsearchException("--store is lucene or solr, got " + store);
        }
        for (VectorFormat format : formats) {
            Path d = dir != null ? dir.resolve(format.key()) : Files.createTempDirectory("medsearch-bench-index");
            if (!(reuse && dir != null && LuceneIndex.exists(d))) {
                FileUtil.deleteTree(d);
            }
            try {
                run(out, mix, format, d);
            } finally {
                if (dir == null) {
                    FileUtil.deleteTree(d);
                }
            }
        }
        return 0;
    }

    private void run(PrintWriter out, Mixture mix, VectorFormat format, Path d) throws Exception {
        out.printf("%n== %s ==%n", format.describe());
        resetPeaks();
        IndexInfo info =
                new IndexInfo(LuceneIndex.FORMAT, "bench-" + seed, mix.classNames(), dim, Version.current(), format, 0);
        boolean build = !LuceneIndex.exists(d);
        try (LuceneIndex index = build ? LuceneIndex.create(d, info) : LuceneIndex.open(d, false)) {
            if (build) {
                build(out, mix, index);
            } else {
                out.printf("reusing the index in %s (%,d vectors)%n", d, index.size());
            }
            query(out, mix, index);
        }
    }

    private void runSolr(PrintWriter out, Mixture mix) throws Exception {
        if (solr == null) {
            throw new MedsearchException("--store solr needs --solr solr://ZKHOST:PORT[/chroot]/COLLECTION");
        }
        SolrLocation l = SolrLocation.parse(solr);
        IndexInfo info = new IndexInfo(
                LuceneIndex.FORMAT, "bench-" + seed, mix.classNames(), dim, Version.current(), VectorFormat.FLOAT32, 0);
        boolean build = true;
        try (SolrCluster c = SolrCluster.connect(l)) {
            if (c.exists(l.collection())) {
                if (!reuse) {
                    throw new MedsearchException(l + " exists: give a new collection, or --reuse to query it");
                }
                build = false;
            } else {
                c.createCollection(l.collection(), dim, shards, replicas);
            }
        }
        out.printf("%n== SolrCloud %s: %d shards x %d replicas, hnsw-float32 ==%n", l, shards, replicas);
        try (SolrVectorStore index = SolrVectorStore.openOrCreate(l, info)) {
            if (build) {
                build(out, mix, index);
            } else {
                out.printf("reusing %s (%,d vectors)%n", l, index.size());
            }
            query(out, mix, index);
        }
    }

    private void build(PrintWriter out, Mixture mix, VectorStore index) throws Exception {
        long t0 = System.nanoTime();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        int chunk = 100_000;
        for (int from = 0; from < count; from += chunk) {
            int a = from;
            int b = Math.min(count, from + chunk);
            List<Future<?>> part = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int first = a + t;
                part.add(pool.submit(() -> {
                    for (int i = first; i < b; i += threads) {
                        index.add(image(mix, i));
                    }
                    return null;
                }));
            }
            for (Future<?> f : part) {
                f.get();
            }
            index.commit();
            double s = (System.nanoTime() - t0) / 1e9;
            out.printf("  indexed %,d (%.0f vectors/s, %.0f s)%n", b, b / s, s);
            out.flush();
        }
        pool.shutdown();
        double seconds = (System.nanoTime() - t0) / 1e9;
        out.printf(
                "bulk indexing     %,.0f vectors/s (%,d committed and searchable in %.0f s, commits every %,d)%n",
                count / seconds, count, seconds, chunk);
        out.flush();
        if (index instanceof SolrVectorStore sv) {
            // Solr merges in the background with no way to wait for it: a forced merge is the one way to
            // time queries without merges rebuilding HNSW graphs beside them
            try {
                sv.forceMerge(1);
                out.printf(
                        "forced merge      done %.0f s after the start (1 segment per shard)%n",
                        (System.nanoTime() - t0) / 1e9);
            } catch (MedsearchException e) {
                // Solr's own shard-to-shard timeout (10 min) can end the request while the merge goes on
                out.printf(
                        "forced merge      not confirmed %.0f s after the start (%s); queries may meet merges%n",
                        (System.nanoTime() - t0) / 1e9, e.getMessage());
            }
            return;
        }
        LuceneIndex li = (LuceneIndex) index;
        li.waitForMerges();
        li.commit(); // drops the files of merged-away segments
        double merged = (System.nanoTime() - t0) / 1e9;
        out.printf(
                "merges done       %.0f s after the start (background merges rebuild HNSW graphs; searches run"
                        + " meanwhile)%n",
                merged);
    }

    private void query(PrintWriter out, Mixture mix, VectorStore index) throws Exception {
        VectorStore.Stats st = index.stats();
        out.printf("size on disk      %s in %d segments%n", Figures.bytes(st.bytesOnDisk()), st.segments());
        st.bytesByKind().forEach((kind, v) -> out.printf("  %-24s %s%n", kind, Figures.bytes(v)));
        long w0 = System.nanoTime();
        index.search(mix.query(0, new SplittableRandom(seed + 7)).vector, k, SearchFilter.ALL, SearchMode.EXACT);
        if (index instanceof SolrVectorStore) {
            out.printf(
                    "first search      %.1f s (Solr opens its searchers and caches)%n", (System.nanoTime() - w0) / 1e9);
        } else {
            out.printf(
                    "first search      %.1f s (builds the exact path's in-heap arrays: %s)%n",
                    (System.nanoTime() - w0) / 1e9, Figures.bytes(index.stats().heapBytes()));
        }
        out.printf("exact kernel      %s%n", st.exactKernel());
        out.printf(
                "planner           exact up to %,d candidates: a one-class query has ~%,d, an unfiltered one %,d%n",
                exactThreshold(index), count / classes, count);
        out.flush();

        List<Query> qs = new ArrayList<>();
        SplittableRandom qr = new SplittableRandom(seed + 1000);
        for (int i = 0; i < queries; i++) {
            qs.add(mix.query(i % classes, qr));
        }
        out.printf("%-34s %10s %10s %12s%n", "latency, k=" + k, "p50 ms", "p99 ms", "recall@" + k);
        for (boolean filtered : new boolean[] {true, false}) {
            List<List<Long>> exact = new ArrayList<>();
            long[] te = time(index, qs, filtered, SearchMode.EXACT, exact);
            String what = filtered ? "one class" : "unfiltered";
            out.printf("%-34s %10.2f %10.2f %12s%n", "exact, " + what, p(te, 50), p(te, 99), "1 (exact)");
            if (index instanceof SolrVectorStore sv && filtered) {
                // the exact path's other engine, Lucene's exhaustive k-NN, on the same queries
                sv.setKnnExactLimit(SolrVectorStore.KNN_EXACT_LIMIT);
                List<List<Long>> viaKnn = new ArrayList<>();
                long[] tk = time(index, qs, true, SearchMode.EXACT, viaKnn);
                sv.setKnnExactLimit(0);
                out.printf(
                        "%-34s %10.2f %10.2f %12s%n",
                        "exact (exhaustive knn), " + what,
                        p(tk, 50),
                        p(tk, 99),
                        viaKnn.equals(exact) ? "1 (same ids)" : "DIFFERS");
            }
            for (int f : fetch) {
                if (index instanceof SolrVectorStore sv) {
                    sv.setApproximateFetch(f);
                } else {
                    ((LuceneIndex) index).setApproximateFetch(f);
                }
                List<List<Long>> approx = new ArrayList<>();
                long[] ta = time(index, qs, filtered, SearchMode.APPROXIMATE, approx);
                out.printf(
                        "%-34s %10.2f %10.2f %12.4f%n",
                        "approximate (fetch " + f + "), " + what, p(ta, 50), p(ta, 99), recall(exact, approx));
                out.flush();
            }
        }
        out.printf("peak heap         %s%n", Figures.bytes(peakHeap()));
    }

    private static int exactThreshold(VectorStore index) {
        return index instanceof SolrVectorStore sv ? sv.exactThreshold() : ((LuceneIndex) index).exactThreshold();
    }

    private long[] time(VectorStore index, List<Query> qs, boolean filtered, SearchMode mode, List<List<Long>> ids)
            throws Exception {
        for (int i = 0; i < Math.min(5, qs.size()); i++) {
            index.search(qs.get(i).vector, k, filter(qs.get(i), filtered), mode);
        }
        long[] ns = new long[qs.size()];
        for (int i = 0; i < qs.size(); i++) {
            Query q = qs.get(i);
            long t = System.nanoTime();
            List<Hit> hits =
                    index.search(q.vector, k, filter(q, filtered), mode).hits();
            ns[i] = System.nanoTime() - t;
            ids.add(hits.stream().map(Hit::id).toList());
        }
        Arrays.sort(ns);
        return ns;
    }

    private SearchFilter filter(Query q, boolean filtered) {
        return filtered ? SearchFilter.ALL.withClasses(Set.of("c" + q.cls)) : SearchFilter.ALL;
    }

    private static double p(long[] sorted, int pct) {
        return sorted[Figures.nearestRank(sorted.length, pct)] / 1e6;
    }

    private static double recall(List<List<Long>> exact, List<List<Long>> approx) {
        double sum = 0;
        for (int i = 0; i < exact.size(); i++) {
            Set<Long> truth = new HashSet<>(exact.get(i));
            long found = approx.get(i).stream().filter(truth::contains).count();
            sum += truth.isEmpty() ? 1 : (double) found / truth.size();
        }
        return sum / exact.size();
    }

    private IndexedImage image(Mixture mix, int i) {
        Query v = mix.sample(i);
        String cls = "c" + v.cls;
        return new IndexedImage(
                -1, "/bench/" + i, cls, cls, 1f, String.format("%064x", i), v.vector, null, null, null, null, Map.of());
    }

    private static void resetPeaks() {
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
            p.resetPeakUsage();
        }
    }

    private static long peakHeap() {
        long sum = 0;
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
            if (p.getType() == MemoryType.HEAP && p.getPeakUsage() != null) {
                sum += p.getPeakUsage().getUsed();
            }
        }
        return sum;
    }

    /** A vector with its class. */
    record Query(int cls, float[] vector) {}

    /**
     * x = relu(A (mu_c + z) + e): A is dim x rank, mu_c a class centre in the latent space, z and e
     * Gaussian noise. Vector i is a function of (seed, i) alone, so threads can draw in any order.
     */
    static final class Mixture {
        final int classes;
        final int dim;
        final int rank;
        final long seed;
        final float[][] a;
        final float[][] centres;

        Mixture(int classes, int dim, int rank, long seed) {
            this.classes = classes;
            this.dim = dim;
            this.rank = rank;
            this.seed = seed;
            SplittableRandom r = new SplittableRandom(seed);
            a = new float[dim][rank];
            for (float[] row : a) {
                for (int j = 0; j < rank; j++) {
                    row[j] = (float) (r.nextGaussian() / Math.sqrt(rank));
                }
            }
            centres = new float[classes][rank];
            for (float[] c : centres) {
                for (int j = 0; j < rank; j++) {
                    c[j] = (float) (2.0 * r.nextGaussian());
                }
            }
        }

        List<String> classNames() {
            List<String> l = new ArrayList<>();
            for (int c = 0; c < classes; c++) {
                l.add("c" + c);
            }
            return l;
        }

        Query sample(int i) {
            SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + i);
            return draw(i % classes, r);
        }

        Query query(int cls, SplittableRandom r) {
            return draw(cls, r);
        }

        private Query draw(int cls, SplittableRandom r) {
            float[] z = new float[rank];
            for (int j = 0; j < rank; j++) {
                z[j] = centres[cls][j] + (float) r.nextGaussian();
            }
            float[] x = new float[dim];
            for (int d = 0; d < dim; d++) {
                float s = 0;
                float[] row = a[d];
                for (int j = 0; j < rank; j++) {
                    s += row[j] * z[j];
                }
                s += (float) (0.1 * r.nextGaussian());
                x[d] = Math.max(0f, s);
            }
            return new Query(cls, x);
        }
    }
}
