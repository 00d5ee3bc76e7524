package org.medsearch.search;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.dataset.Dataset;
import org.medsearch.dataset.DatasetScanner;
import org.medsearch.dataset.Sample;
import org.medsearch.dataset.SampleLoader;
import org.medsearch.dataset.Split;
import org.medsearch.eval.RetrievalMetrics;
import org.medsearch.image.MedicalImage;
import org.medsearch.index.Hit;
import org.medsearch.index.IndexedImage;
import org.medsearch.index.VectorStore;
import org.medsearch.model.EmbeddingBackend;
import org.medsearch.model.InferenceRuntime;
import org.medsearch.model.ModelBundle;
import org.medsearch.model.ModelManifest;
import org.medsearch.service.Explainer;
import org.medsearch.service.IndexingJob;
import org.medsearch.service.Models;
import org.medsearch.service.SearchService;
import org.medsearch.service.Stores;
import org.medsearch.testutil.CliRun;
import org.medsearch.testutil.Shared;
import org.medsearch.util.Progress;

/**
 * The figures of refining a search, on real data (opt-in; MedNIST and BUSI from ../shared):
 * <ul>
 *   <li>simulated relevance feedback: every test image queries its model's training split under the
 *       scope {@code all}; the first 10 hits are marked (relevant = the query's class) and the search
 *       runs again once; mean AP@10 before and after;</li>
 *   <li>the deletion test of the similarity maps (MedNIST): for 200 query/hit pairs, blanking the
 *       query's most alike 10% of cells moves it farther from its hit than blanking 10% of cells at
 *       random (seeded).</li>
 * </ul>
 * Each data set is trained here at 128x128 (a 4x4 feature grid) for a few epochs.
 *
 * <pre>
 * mvn -B process-test-classes surefire:test -Dtest=RefineBenchmarkTest -Dmedsearch.bench.refine=true \
 *     -Djazzer.skip=true -Dsolr.cluster.skip=true
 * </pre>
 */
@EnabledIfSystemProperty(named = "medsearch.bench.refine", matches = "true")
class RefineBenchmarkTest {

    static final int SIZE = Integer.getInteger("bench.size", 128);
    static final int EPOCHS = Integer.getInteger("bench.epochs", 4);

    @TempDir
    Path work;

    @Test
    void mednist() throws Exception {
        Path root = Shared.require("data/mednist");
        Path subset = Files.createDirectories(work.resolve("mednist"));
        try (Stream<Path> classes = Files.list(root).filter(Files::isDirectory)) {
            for (Path c : classes.toList()) {
                Path to = Files.createDirectories(subset.resolve(c.getFileName()));
                try (Stream<Path> files = Files.list(c)) {
                    for (Path f : files.sorted()
                            .limit(Integer.getInteger("bench.perClass", 250))
                            .toList()) {
                        Files.createSymbolicLink(to.resolve(f.getFileName()), f);
                    }
                }
            }
        }
        run("MedNIST", subset, true);
    }

    @Test
    void busi() throws Exception {
        run("BUSI", Shared.require("data/busi"), false);
    }

    void run(String name, Path data, boolean deletion) throws Exception {
        Path model = work.resolve(name + "-model");
        Path index = work.resolve(name + "-index");
        long t0 = System.nanoTime();
        CliRun t = CliRun.run(
                "train",
                "--data",
                data.toString(),
                "--out",
                model.toString(),
                "--image-size",
                String.valueOf(SIZE),
                "--epochs",
                String.valueOf(EPOCHS),
                "--quiet");
        assertEquals(0, t.code(), t.toString());
        CliRun ix = CliRun.run(
                "index",
                "--model",
                model.toString(),
                "--data",
                data.toString(),
                "--index",
                index.toString(),
                "--split",
                "train",
                "-q");
        assertEquals(0, ix.code(), ix.toString());
        System.out.printf(
                "%s: trained %dx%d, %d epochs, and indexed its training split in %.0f s%n",
                name, SIZE, SIZE, EPOCHS, (System.nanoTime() - t0) / 1e9);
        try (EmbeddingBackend backend = Models.open(model, 0, InferenceRuntime.ONNX, Progress.NONE);
                VectorStore store = Stores.open(index, false);
                Explainer explainer = Explainer.open(model, 0, Progress.NONE);
                org.medsearch.model.DistanceGradients gradients =
                        org.medsearch.model.DistanceGradients.of(ModelBundle.load(model), true)) {
            boolean gradientMap = System.getProperty("bench.map", "pairing").equals("gradient");
            SearchService svc = new SearchService(backend, store);
            ModelManifest m = ModelBundle.readManifest(model);
            Dataset ds = new DatasetScanner(backend.readers()).optDecode(false).scan(data);
            Split split = IndexingJob.modelSplit(model, m, ds, true);
            List<Sample> test = ds.samples().stream()
                    .filter(s -> split.partOf(s.relativePath()) == Split.Part.TEST)
                    .toList();
            double before = 0;
            double after = 0;
            int queries = 0;
            int pairs = 0;
            int fartherThanRandom = 0;
            for (Sample s : test) {
                MedicalImage img = SampleLoader.load(s, backend.readers());
                SearchResult r0 = svc.search(img, SearchRequest.of(10, Scope.ALL));
                boolean[] rel0 = relevance(r0.hits(), s.label());
                before += RetrievalMetrics.averagePrecision(rel0, 10);
                Set<Long> rel = new HashSet<>();
                Set<Long> irr = new HashSet<>();
                for (int i = 0; i < r0.hits().size(); i++) {
                    (rel0[i] ? rel : irr).add(r0.hits().get(i).id());
                }
                SearchResult r1 =
                        svc.search(img, SearchRequest.of(10, Scope.ALL).withFeedback(Feedback.of(rel, irr)));
                after += RetrievalMetrics.averagePrecision(relevance(r1.hits(), s.label()), 10);
                queries++;
                if (deletion && pairs < 200 && !r0.hits().isEmpty()) {
                    IndexedImage hit = r0.hits().get(0).image();
                    MedicalImage hitImg = SampleLoader.load(hit.path(), backend.readers());
                    SimilarityMap map = explainer.map(img, hitImg);
                    int g = map.grid();
                    int n = Math.max(1, (int) Math.ceil(0.1 * g * g));
                    float[] heat = map.queryHeat();
                    if (gradientMap) {
                        org.medsearch.image.Preprocessing p = gradients.preprocessing();
                        float[] a = p.apply(img);
                        float[][] gr = gradients.gradients(a, p.apply(hitImg));
                        float[] base = p.apply(new MedicalImage(
                                img.width(), img.height(), new float[img.pixels().length], img.metadata()));
                        heat = org.medsearch.model.DistanceGradients.cellEffects(gr[0], a, base, p.imageSize(), g);
                    }
                    List<Integer> top = topCells(heat, n);
                    List<Integer> random = randomCells(g * g, n, new SplittableRandom(pairs));
                    double dTop = distance(backend, blank(img, top, g), hit.vector());
                    double dRandom = distance(backend, blank(img, random, g), hit.vector());
                    if (dTop > dRandom) {
                        fartherThanRandom++;
                    }
                    pairs++;
                }
            }
            System.out.printf(
                    "%s: simulated feedback (one round, the first 10 hits marked by class), scope all, %d test"
                            + " queries: mAP@10 %.4f before, %.4f after%n",
                    name, queries, before / queries, after / queries);
            if (deletion) {
                System.out.printf(
                        "%s: deletion test, %d query/hit pairs: blanking the query's most alike 10%% of cells moved it"
                                + " farther from its hit than blanking 10%% at random in %d (%.1f%%)%n",
                        name, pairs, fartherThanRandom, 100.0 * fartherThanRandom / Math.max(1, pairs));
            }
            assumeTrue(queries > 0, "no test image");
        }
    }

    static boolean[] relevance(List<Hit> hits, String label) {
        boolean[] rel = new boolean[hits.size()];
        for (int i = 0; i < rel.length; i++) {
            rel[i] = label != null && label.equals(hits.get(i).image().label());
        }
        return rel;
    }

    static List<Integer> topCells(float[] heat, int n) {
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < heat.length; i++) {
            order.add(i);
        }
        order.sort((a, b) -> Float.compare(heat[b], heat[a]));
        return order.subList(0, n);
    }

    static List<Integer> randomCells(int cells, int n, SplittableRandom rnd) {
        List<Integer> all = new ArrayList<>();
        for (int i = 0; i < cells; i++) {
            all.add(i);
        }
        java.util.Collections.shuffle(all, new java.util.Random(rnd.nextLong()));
        return all.subList(0, n);
    }

    /** The image with the pixels under these cells set to 0 (the grid covers the whole image). */
    static MedicalImage blank(MedicalImage img, List<Integer> cells, int g) {
        float[] px = img.pixels().clone();
        int w = img.width();
        int h = img.height();
        for (int cell : cells) {
            int r = cell / g;
            int c = cell % g;
            for (int y = r * h / g; y < (r + 1) * h / g; y++) {
                for (int x = c * w / g; x < (c + 1) * w / g; x++) {
                    px[y * w + x] = 0;
                }
            }
        }
        return new MedicalImage(w, h, px, img.metadata());
    }

    static double distance(EmbeddingBackend backend, MedicalImage img, float[] v) {
        float[] q = backend.embed(img).vector();
        double s = 0;
        for (int i = 0; i < q.length; i++) {
            double d = q[i] - v[i];
            s += d * d;
        }
        return s / q.length;
    }
}
