package org.medsearch.service;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.medsearch.dataset.Dataset;
import org.medsearch.dataset.PatientKeys;
import org.medsearch.dataset.Sample;
import org.medsearch.dataset.SampleLoader;
import org.medsearch.dataset.Split;
import org.medsearch.eval.ClassificationMetrics;
import org.medsearch.eval.EvaluationReport;
import org.medsearch.eval.RetrievalMetrics;
import org.medsearch.image.BatchLoader;
import org.medsearch.image.ImageReaders;
import org.medsearch.index.Hit;
import org.medsearch.index.SearchFilter;
import org.medsearch.model.Embedding;
import org.medsearch.model.EmbeddingBackend;
import org.medsearch.model.ModelManifest;
import org.medsearch.search.NeighbourVote;
import org.medsearch.search.Scope;
import org.medsearch.search.SearchRequest;
import org.medsearch.search.SearchResult;
import org.medsearch.util.MedsearchException;
import org.medsearch.util.Progress;

/**
 * Evaluates a model and an index on the test split: classification of every test image, and
 * retrieval under two protocols (the paper's five seeded random queries per class, and every test
 * image), each under every scope the model serves (predicted, all, auto when the model has a
 * threshold, top:2 with three classes or more), and the accuracy of the neighbour vote (the top
 * class of the distance-weighted vote of the k nearest images of all classes) beside the
 * classifier's.
 *
 * <p>Test images whose exact bytes carry another label elsewhere in the data set (see
 * {@link org.medsearch.dataset.ScanReport#labelConflicts()}) are left out of the queries, and
 * counted in the report.
 *
 * <p>Relevance is "same class": a result is relevant when its class (label, else prediction) equals
 * the query's label. A query never retrieves itself: indexed images with the query's exact bytes
 * are excluded, so an index that also holds the test images is evaluated leave-one-out; with
 * {@link #optPatientKeys}, images of the query's patient are excluded too.
 *
 * <pre>{@code
 * EvaluationReport r = new EvaluationJob(service, ImageReaders.standard(), progress)
 *         .run(dataset, split, EvaluationJob.Options.defaults());
 * }</pre>
 */
public final class EvaluationJob {

    /**
     * Settings.
     *
     * @param k the cut-off of P@k, R@k and AP@k (10, as the paper)
     * @param curveLength the length of the precision-at-k curve
     * @param paperQueriesPerClass queries per class in the paper's protocol (5)
     * @param seed picks the paper's queries
     * @param threads parallel searches
     */
    public record Options(int k, int curveLength, int paperQueriesPerClass, long seed, int threads) {
        public static Options defaults() {
            return new Options(10, 50, 5, 1, Runtime.getRuntime().availableProcessors());
        }
    }

    private final SearchService retriever;
    private final ImageReaders readers;
    private final Progress progress;
    private PatientKeys patientKeys;
    private String modelSource;

    public EvaluationJob(SearchService retriever, ImageReaders readers, Progress progress) {
        this.retriever = retriever;
        this.readers = readers;
        this.progress = progress;
    }

    /**
     * The index's patient keys: with them, a query never retrieves images of its own patient, which
     * is what a patient-level split needs (otherwise a near-twin slice of the same scan scores).
     */
    public EvaluationJob optPatientKeys(PatientKeys keys) {
        this.patientKeys = keys;
        return this;
    }

    /**
     * Also embeds every query with {@code reference} (the fp32 runtime beside an int8 one), searches
     * the same index with those vectors, and reports both side by side
     * ({@link EvaluationReport.RuntimeComparison}). The caller keeps ownership of {@code reference}.
     */
    public EvaluationJob optCompareWith(EmbeddingBackend reference) {
        this.reference = reference;
        return this;
    }

    /** Where the model came from (its bundle's directory), for the report; default: its backend and fingerprint. */
    public EvaluationJob optModelSource(String source) {
        this.modelSource = source;
        return this;
    }

    private EmbeddingBackend reference;

    public EvaluationReport run(Dataset ds, Split split, Options opts) throws IOException {
        long t0 = System.nanoTime();
        EmbeddingBackend backend = retriever.backend();
        List<String> classes = backend.classes();
        boolean classifier = backend.hasClassifier();
        // identical bytes under two labels: whatever the model answers, one of them calls it wrong
        Set<String> conflicting = ds.report().conflictingHashes();
        List<Sample> labelled = split.samples(ds, Split.Part.TEST).stream()
                .filter(s -> s.label() != null && (!classifier || classes.contains(s.label())))
                .toList();
        List<Sample> test = labelled.stream()
                .filter(s -> !conflicting.contains(s.contentHash()))
                .toList();
        int leftOut = labelled.size() - test.size();
        if (test.isEmpty()) {
            Map<Split.Part, Integer> c = split.counts();
            throw new MedsearchException("no labelled test image of the model's classes in " + ds.root()
                    + ": the model's split gave train " + c.get(Split.Part.TRAIN) + ", val " + c.get(Split.Part.VAL)
                    + ", test " + c.get(Split.Part.TEST) + " images, and evaluation needs at least one test image"
                    + " (train with more images or other split ratios)");
        }
        // 1. embed every test image once
        List<String> skipped = new ArrayList<>();
        Embedding[] emb = embedAll(backend, test, skipped, opts);
        List<Integer> ok = new ArrayList<>();
        long[][] confusion = new long[classes.size()][classes.size()];
        for (int i = 0; i < test.size(); i++) {
            if (emb[i] != null) {
                ok.add(i);
                if (classifier) {
                    confusion[classes.indexOf(test.get(i).label())][emb[i].predictedClass()]++;
                }
            }
        }
        ClassificationMetrics cm = new ClassificationMetrics(classes, confusion);
        EvaluationReport.RuntimeComparison comparison = null;

        // 2. the paper's queries: per class, a seeded sample of the test images
        List<Integer> paper = new ArrayList<>();
        List<String> paperIds = new ArrayList<>();
        Random rnd = new Random(opts.seed());
        List<String> queryClasses = classifier
                ? classes
                : test.stream().map(Sample::label).distinct().sorted().toList();
        for (String c : queryClasses) {
            List<Integer> of = new ArrayList<>(
                    ok.stream().filter(i -> test.get(i).label().equals(c)).toList());
            Collections.shuffle(of, rnd);
            for (int i : of.subList(0, Math.min(opts.paperQueriesPerClass(), of.size()))) {
                paper.add(i);
                paperIds.add(test.get(i).relativePath());
            }
        }

        // 3. search every test image under every scope the model can serve
        int depth = Math.max(opts.k(), opts.curveLength());
        Map<String, Integer> perClass = retriever.index().countsPerClass();
        Map<String, Integer> copiesInIndex = new HashMap<>();
        retriever.index().contentHashesByPath().values().forEach(h -> copiesInIndex.merge(h, 1, Integer::sum));
        List<Scope> scopes = scopes(classifier, classes.size());
        Map<Scope, Searched> searched = new LinkedHashMap<>();
        for (Scope scope : scopes) {
            searched.put(scope, search(test, emb, ok, scope, depth, opts));
        }
        Map<String, EvaluationReport.Protocol> retrieval = new LinkedHashMap<>();
        for (Scope scope : scopes) {
            String s = scope.toString();
            retrieval.put(
                    "paper/" + s,
                    protocol(
                            "paper",
                            s,
                            paper,
                            paperIds,
                            test,
                            searched.get(scope).relevance,
                            perClass,
                            copiesInIndex,
                            opts));
        }
        for (Scope scope : scopes) {
            String s = scope.toString();
            retrieval.put(
                    "all-test/" + s,
                    protocol(
                            "all-test",
                            s,
                            ok,
                            null,
                            test,
                            searched.get(scope).relevance,
                            perClass,
                            copiesInIndex,
                            opts));
        }
        if (reference != null) {
            comparison = compare(test, emb, ok, scopes, depth, perClass, copiesInIndex, retrieval, searched, cm, opts);
        }
        // 4. the neighbour vote: the top class of the distance-weighted vote of the k nearest of all classes
        String[] votes = searched.get(Scope.ALL).voteTop;
        long voteRight =
                ok.stream().filter(i -> test.get(i).label().equals(votes[i])).count();
        double voteAccuracy = ok.isEmpty() ? Double.NaN : (double) voteRight / ok.size();

        ModelManifest m = backend.manifest();
        ModelManifest.Provenance p = m.provenance();
        EvaluationReport.ModelFacts mf = new EvaluationReport.ModelFacts(
                modelSource != null ? modelSource : backend.name() + " model " + m.fingerprint(),
                m.fingerprint(),
                classes,
                m.preprocessing().imageSize(),
                p == null ? null : p.init(),
                p == null ? null : p.bestEpoch(),
                p == null || p.recipe() == null ? 0 : p.recipe().epochs(),
                p == null ? null : p.data().sha256(),
                p == null ? null : p.split().sha256(),
                p == null ? 0 : p.split().seed(),
                p == null ? null : p.split().ratios(),
                p == null ? Map.of() : p.versions());
        Map<String, Integer> perSplit = retriever.index().countsPerSplit();
        int testInIndex = perSplit.getOrDefault("test", 0);
        String note = testInIndex > 0
                ? "The index holds " + testInIndex
                        + " test images; queries never retrieve their own bytes (leave-one-out)"
                : "The index holds no test image";
        EvaluationReport.IndexFacts ix = new EvaluationReport.IndexFacts(
                retriever.indexName(), retriever.index().size(), perClass, perSplit, note);
        return new EvaluationReport(
                EvaluationReport.FORMAT,
                Instant.now().toString(),
                mf,
                ix,
                new EvaluationReport.DataFacts(
                        ds.root().toString(),
                        test.size(),
                        ok.size(),
                        skipped,
                        leftOut,
                        ds.report().labelConflicts().size()),
                new EvaluationReport.Classification(
                        classifier ? cm.accuracy() : Double.NaN,
                        classifier ? cm.perClass() : List.of(),
                        classes,
                        confusion,
                        voteAccuracy,
                        opts.k()),
                retrieval,
                (System.nanoTime() - t0) / 1e9,
                backend.name(),
                comparison);
    }

    private Embedding[] embedAll(EmbeddingBackend b, List<Sample> test, List<String> skipped, Options opts)
            throws IOException {
        Embedding[] emb = new Embedding[test.size()];
        try (BatchLoader loader =
                        new BatchLoader(readers, b.preprocessing(), SampleLoader.sources(test), 64, opts.threads());
                Progress.Task task = progress.start("Classifying (" + b.name() + ")", test.size(), "img")) {
            loader.forEach(
                    task,
                    f -> {
                        if (skipped != null) {
                            skipped.add(test.get(f.index()).relativePath() + ": " + f.reason());
                        }
                    },
                    batch -> {
                        List<Embedding> es = b.embed(batch.data(), batch.size());
                        for (int i = 0; i < batch.size(); i++) {
                            emb[batch.indices()[i]] = es.get(i);
                        }
                    });
        }
        return emb;
    }

    /** The reference runtime on the same queries: its accuracy and mAP, and how far the features moved. */
    private EvaluationReport.RuntimeComparison compare(
            List<Sample> test,
            Embedding[] emb,
            List<Integer> ok,
            List<Scope> scopes,
            int depth,
            Map<String, Integer> perClass,
            Map<String, Integer> copiesInIndex,
            Map<String, EvaluationReport.Protocol> retrieval,
            Map<Scope, Searched> searched,
            ClassificationMetrics cm,
            Options opts)
            throws IOException {
        Embedding[] ref = embedAll(reference, test, null, opts);
        List<Integer> both = ok.stream().filter(i -> ref[i] != null).toList();
        List<String> classes = reference.classes();
        long[][] confusion = new long[classes.size()][classes.size()];
        double maxDiff = 0;
        double sumDiff = 0;
        double relErr = 0;
        long same = 0;
        for (int i : both) {
            float[] a = emb[i].vector();
            float[] b = ref[i].vector();
            double d2 = 0;
            double n2 = 0;
            for (int j = 0; j < a.length; j++) {
                double d = Math.abs(a[j] - b[j]);
                maxDiff = Math.max(maxDiff, d);
                sumDiff += d;
                d2 += d * d;
                n2 += (double) b[j] * b[j];
            }
            relErr += n2 > 0 ? Math.sqrt(d2 / n2) : 0;
            if (!classes.isEmpty()) {
                confusion[classes.indexOf(test.get(i).label())][ref[i].predictedClass()]++;
                same += emb[i].predictedClass() == ref[i].predictedClass() ? 1 : 0;
            }
        }
        Map<String, Double> map = new LinkedHashMap<>();
        Map<String, Double> refMap = new LinkedHashMap<>();
        int sameTopK = 0;
        int sameSetOtherOrder = 0;
        for (Scope scope : scopes) {
            Searched s = search(test, ref, both, scope, depth, opts);
            if (scope.equals(Scope.ALL)) {
                for (int i : both) {
                    long[] a = searched.get(scope).ids[i];
                    long[] b = s.ids[i];
                    if (java.util.Arrays.equals(a, b)) {
                        sameTopK++;
                    } else if (java.util.Arrays.equals(
                            java.util.Arrays.stream(a).sorted().toArray(),
                            java.util.Arrays.stream(b).sorted().toArray())) {
                        sameSetOtherOrder++;
                    }
                }
            }
            String key = scope.toString();
            refMap.put(
                    key,
                    protocol("all-test", key, both, null, test, s.relevance, perClass, copiesInIndex, opts)
                            .meanAveragePrecision());
            map.put(key, retrieval.get("all-test/" + key).meanAveragePrecision());
        }
        int n = Math.max(1, both.size());
        return new EvaluationReport.RuntimeComparison(
                retriever.backend().name(),
                reference.name(),
                classes.isEmpty() ? Double.NaN : cm.accuracy(),
                classes.isEmpty() ? Double.NaN : new ClassificationMetrics(classes, confusion).accuracy(),
                map,
                refMap,
                maxDiff,
                sumDiff / ((double) n * org.medsearch.model.ResNet18.FEATURE_DIM),
                relErr / n,
                classes.isEmpty() ? Double.NaN : (double) same / n,
                both.size(),
                sameTopK,
                sameSetOtherOrder);
    }

    /**
     * The scopes evaluated: predicted and all; auto when the model has a threshold; top:2 when there
     * are at least 3 classes (with 2, top:2 is all). Without a classifier, all alone.
     */
    private List<Scope> scopes(boolean classifier, int classes) {
        if (!classifier) {
            return List.of(Scope.ALL);
        }
        List<Scope> s = new ArrayList<>(List.of(Scope.PREDICTED, Scope.ALL));
        if (retriever.autoThreshold().isPresent()) {
            s.add(Scope.AUTO);
        }
        if (classes >= 3) {
            s.add(Scope.top(2));
        }
        return s;
    }

    /**
     * What one scope's searches gave.
     *
     * @param relevance relevance[i][r]: whether result r of test image i is of its class (null rows
     *     for failed images)
     * @param voteTop voteTop[i]: the top class of the neighbour vote of test image i's first k results
     */
    private record Searched(boolean[][] relevance, String[] voteTop, long[][] ids) {}

    private Searched search(List<Sample> test, Embedding[] emb, List<Integer> ok, Scope scope, int depth, Options opts)
            throws IOException {
        boolean[][] rel = new boolean[test.size()][];
        String[] voteTop = new String[test.size()];
        long[][] ids = new long[test.size()][];
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, opts.threads()));
        try (Progress.Task task = progress.start("Searching (" + scope + ")", ok.size(), "q")) {
            List<Future<?>> fs = new ArrayList<>();
            for (int i : ok) {
                fs.add(pool.submit(() -> {
                    Sample q = test.get(i);
                    SearchFilter f = SearchFilter.ALL.excludingContent(q.contentHash());
                    if (patientKeys != null && q.patientId() != null) {
                        f = f.excludingPatient(patientKeys.key(q.patientId()));
                    }
                    SearchRequest req = new SearchRequest(depth, scope, f);
                    SearchResult res = retriever.search(emb[i], req, 0);
                    List<Hit> hits = res.hits();
                    boolean[] r = new boolean[hits.size()];
                    for (int j = 0; j < r.length; j++) {
                        r[j] = q.label().equals(hits.get(j).image().searchClass());
                    }
                    rel[i] = r;
                    ids[i] = hits.stream()
                            .limit(opts.k())
                            .mapToLong(h -> h.image().id())
                            .toArray();
                    voteTop[i] = NeighbourVote.of(
                                    hits.subList(0, Math.min(opts.k(), hits.size())), res.predictedClass())
                            .top();
                    task.step(1);
                    return null;
                }));
            }
            for (Future<?> f : fs) {
                f.get();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("evaluation interrupted");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw new IllegalStateException(e.getCause());
        } finally {
            pool.shutdownNow();
        }
        return new Searched(rel, voteTop, ids);
    }

    private static EvaluationReport.Protocol protocol(
            String name,
            String scope,
            List<Integer> queries,
            List<String> queryIds,
            List<Sample> test,
            boolean[][] rel,
            Map<String, Integer> perClass,
            Map<String, Integer> copiesInIndex,
            Options opts) {
        int k = opts.k();
        double ap = 0;
        double pk = 0;
        double rk = 0;
        double[] curve = new double[opts.curveLength()];
        Map<String, double[]> byClass = new TreeMap<>();
        for (int i : queries) {
            Sample q = test.get(i);
            int relevantInIndex = perClass.getOrDefault(q.label(), 0) - copiesInIndex.getOrDefault(q.contentHash(), 0);
            double a = RetrievalMetrics.averagePrecision(rel[i], k);
            ap += a;
            pk += RetrievalMetrics.precisionAt(rel[i], k);
            rk += RetrievalMetrics.recallAt(rel[i], k, Math.max(0, relevantInIndex));
            for (int c = 0; c < curve.length; c++) {
                curve[c] += RetrievalMetrics.precisionAt(rel[i], c + 1);
            }
            double[] acc = byClass.computeIfAbsent(q.label(), x -> new double[2]);
            acc[0] += a;
            acc[1]++;
        }
        int n = Math.max(1, queries.size());
        for (int c = 0; c < curve.length; c++) {
            curve[c] /= n;
        }
        Map<String, Double> apPerClass = new TreeMap<>();
        byClass.forEach((c, v) -> apPerClass.put(c, v[0] / v[1]));
        return new EvaluationReport.Protocol(
                name, scope, queries.size(), k, ap / n, pk / n, rk / n, curve, apPerClass, queryIds);
    }
}
