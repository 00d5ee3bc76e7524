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
 *       runs again once; mean AP@10 before and after, and on the residual collection (the marked
 *       hits left out of both rankings: hits 11 to 20 before, the first 10 unmarked after);</li>
 *   <li>the deletion test of the similarity maps (MedNIST): for 200 query/hit pairs (each query's
 *       first hit), blanking (to black) the query's most alike 10% of cells moves it farther from
 *       its hit than blanking 10% of cells at random, whose effect is the mean over 10 seeded draws;
 *       also printed: against the first draw alone, and the ceiling of any cell ranking (each cell
 *       blanked alone, one forward pass per cell).</li>
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
    /** Random draws of cells per pair, whose mean is the random blanking's effect. */
    static final int RANDOM_DRAWS = 10;

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
            double residualBefore = 0;
            double residualAfter = 0;
            int queries = 0;
            int pairs = 0;
            int grid = 0;
            int fartherThanRandom = 0;
            int fartherThanFirstDraw = 0;
            int fartherThanEachDraw = 0;
            int occlusionFarther = 0;
            for (Sample s : test) {
                MedicalImage img = SampleLoader.load(s, backend.readers());
                // 20 hits: the first 10 are marked; the next 10 are the residual ranking before feedback
                SearchResult r0 = svc.search(img, SearchRequest.of(20, Scope.ALL));
                List<Hit> first = r0.hits().subList(0, Math.min(10, r0.hits().size()));
                boolean[] rel0 = relevance(first, s.label());
                before += RetrievalMetrics.averagePrecision(rel0, 10);
                Set<Long> rel = new HashSet<>();
                Set<Long> irr = new HashSet<>();
                for (int i = 0; i < first.size(); i++) {
                    (rel0[i] ? rel : irr).add(first.get(i).id());
                }
                SearchResult r1 =
                        svc.search(img, SearchRequest.of(20, Scope.ALL).withFeedback(Feedback.of(rel, irr)));
                List<Hit> again = r1.hits().subList(0, Math.min(10, r1.hits().size()));
                after += RetrievalMetrics.averagePrecision(relevance(again, s.label()), 10);
                // residual collection: the marked hits taken out of both rankings, so that
                // showing the reader what they marked again earns nothing
                residualBefore += RetrievalMetrics.averagePrecision(
                        relevance(r0.hits().subList(first.size(), r0.hits().size()), s.label()), 10);
                List<Hit> unmarked = r1.hits().stream()
                        .filter(h -> !rel.contains(h.id()) && !irr.contains(h.id()))
                        .limit(10)
                        .toList();
                residualAfter += RetrievalMetrics.averagePrecision(relevance(unmarked, s.label()), 10);
                queries++;
                if (deletion && pairs < 200 && !r0.hits().isEmpty()) {
                    IndexedImage hit = r0.hits().get(0).image();
                    MedicalImage hitImg = SampleLoader.load(hit.path(), backend.readers());
                    SimilarityMap map = explainer.map(img, hitImg);
                    int g = map.grid();
                    grid = g;
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
                    double dTop = distance(backend, blank(img, top, g), hit.vector());
                    // random cells: 10 seeded draws, compared one by one and through their mean
                    SplittableRandom rnd = new SplittableRandom(pairs);
                    double[] dRandom = new double[RANDOM_DRAWS];
                    for (int k = 0; k < dRandom.length; k++) {
                        dRandom[k] = distance(backend, blank(img, randomCells(g * g, n, rnd), g), hit.vector());
                        if (dTop > dRandom[k]) {
                            fartherThanEachDraw++;
                        }
                    }
                    if (dTop > java.util.Arrays.stream(dRandom).average().orElseThrow()) {
                        fartherThanRandom++;
                    }
                    if (dTop > dRandom[0]) {
                        fartherThanFirstDraw++;
                    }
                    // the ceiling of any map of the grid: each cell blanked alone (g * g forward passes)
                    float[] occlusion = new float[g * g];
                    for (int l = 0; l < occlusion.length; l++) {
                        occlusion[l] = (float) distance(backend, blank(img, List.of(l), g), hit.vector());
                    }
                    if (distance(backend, blank(img, topCells(occlusion, n), g), hit.vector())
                            > java.util.Arrays.stream(dRandom).average().orElseThrow()) {
                        occlusionFarther++;
                    }
                    pairs++;
                }
            }
            System.out.printf(
                    "%s: simulated feedback (one round, the first 10 hits marked by class), scope all, %d test"
                            + " queries: mAP@10 %.4f before, %.4f after%n",
                    name, queries, before / queries, after / queries);
            System.out.printf(
                    "%s: the same, residual collection (the 10 marked hits left out of both rankings): mAP@10 %.4f"
                            + " before, %.4f after%n",
                    name, residualBefore / queries, residualAfter / queries);
            if (deletion) {
                System.out.printf(
                        "%s: deletion test, %d query/hit pairs, %dx%d cells: blanking the query's most alike 10%% of"
                                + " cells moved it farther from its hit than blanking 10%% at random (the mean of %d"
                                + " seeded draws) in %d (%.1f%%); than the first draw alone in %.1f%%, than each draw"
                                + " in %.1f%% of draws%n",
                        name,
                        pairs,
                        grid,
                        grid,
                        RANDOM_DRAWS,
                        fartherThanRandom,
                        100.0 * fartherThanRandom / Math.max(1, pairs),
                        100.0 * fartherThanFirstDraw / Math.max(1, pairs),
                        100.0 * fartherThanEachDraw / Math.max(1, pairs * RANDOM_DRAWS));
                System.out.printf(
                        "%s: the ceiling, each cell's own blanking as the map (%d forward passes a pair, not a"
                                + " similarity map): farther than the random mean in %.1f%%%n",
                        name, grid * grid, 100.0 * occlusionFarther / Math.max(1, pairs));
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
