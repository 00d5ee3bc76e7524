package org.medsearch.search;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.image.MedicalImage;
import org.medsearch.service.Explainer;
import org.medsearch.testutil.Bundles;
import org.medsearch.util.Progress;

/**
 * Similarity maps: the shares of each image's cells sum to the pair's distance (the decomposition
 * is exact), and for a synthetic pair that shares exactly one patch on unrelated backgrounds, both
 * maps peak on that patch. Seeded; the model is a ResNet-18 with seeded random weights at 256x256
 * (an 8x8 feature grid).
 */
class SimilarityMapTest {

    static final int SIZE = 256;
    static final int CELL = SIZE / 8;
    /** The shared patch's side, in cells. */
    static final int PATCH = 2;

    @TempDir
    static Path work;

    @Test
    void bothMapsPeakOnTheOnePatchThePairShares() throws Exception {
        Path model = Bundles.random(work.resolve("model"), List.of("a", "b", "c"), SIZE, 21);
        try (Explainer x = Explainer.open(model, 0, Progress.NONE)) {
            int hits = 0;
            int trials = 10;
            List<String> misses = new ArrayList<>();
            for (int t = 0; t < trials; t++) {
                SplittableRandom rnd = new SplittableRandom(100 + t);
                float[] patch = texture(rnd, PATCH * CELL);
                int qr = 1 + rnd.nextInt(8 - PATCH - 1);
                int qc = 1 + rnd.nextInt(8 - PATCH - 1);
                int hr = 1 + rnd.nextInt(8 - PATCH - 1);
                int hc = 1 + rnd.nextInt(8 - PATCH - 1);
                MedicalImage q = with(background(rnd, true), patch, qr * CELL, qc * CELL);
                MedicalImage h = with(background(rnd, false), patch, hr * CELL, hc * CELL);
                SimilarityMap s = x.map(q, h);
                assertEquals(s.distance(), sum(s.shares()), 1e-4 * s.distance() + 1e-7);
                assertEquals(64, java.util.Arrays.stream(s.pairing()).distinct().count(), "a permutation of the cells");
                int pq = SimilarityMap.peak(s.queryHeat());
                int ph = SimilarityMap.peak(s.hitHeat());
                boolean ok = inPatch(pq, qr, qc) && inPatch(ph, hr, hc);
                if (ok) {
                    hits++;
                } else {
                    misses.add("trial " + t + ": query peak " + pq + " (patch at " + qr + "," + qc + "), hit peak " + ph
                            + " (patch at " + hr + "," + hc + ")");
                }
            }
            System.out.println("SimilarityMapTest: " + hits + "/" + trials + " " + misses);
            assertTrue(hits == trials, misses.toString());
        }
    }

    @Test
    void anExplanationCostsOneForwardPassPerImageAndItsLatencyIsPrinted() throws Exception {
        for (int size : new int[] {64, 256}) {
            Path model = Bundles.random(work.resolve("model-" + size), List.of("a", "b", "c"), size, 3);
            int[] images = new int[1];
            org.medsearch.model.FeatureMapper inner = org.medsearch.service.Models.explainer(model, 0, Progress.NONE);
            org.medsearch.model.FeatureMapper counting = new org.medsearch.model.FeatureMapper() {
                @Override
                public org.medsearch.image.Preprocessing preprocessing() {
                    return inner.preprocessing();
                }

                @Override
                public org.medsearch.model.FeatureMaps featureMaps(float[] nhwc, int n) {
                    images[0] += n;
                    return inner.featureMaps(nhwc, n);
                }

                @Override
                public void close() {
                    inner.close();
                }
            };
            try (Explainer x = Explainer.of(counting)) {
                assertEquals(1, images[0], "the blank baseline, once");
                SplittableRandom rnd = new SplittableRandom(size);
                long[] ms = new long[21];
                for (int i = 0; i < ms.length; i++) {
                    MedicalImage q = new MedicalImage(size, size, background(rnd, true, size));
                    MedicalImage h = new MedicalImage(size, size, background(rnd, false, size));
                    Explainer.Explanation e = x.explain(q, h, 256);
                    ms[i] = e.nanos();
                    assertTrue(e.queryPng().length > 0 && e.hitPng().length > 0);
                }
                assertEquals(1 + 2 * ms.length, images[0], "one forward pass per image explained");
                java.util.Arrays.sort(ms);
                System.out.printf(
                        "SimilarityMapTest: explanation at %dx%d (%dx%d cells, both overlays): p50 %.1f ms%n",
                        size, size, gridOf(size), gridOf(size), ms[ms.length / 2] / 1e6);
            }
        }
    }

    static int gridOf(int size) {
        return org.medsearch.model.onnx.ResNet18Onnx.grid(size);
    }

    /** A random model and a small synthetic data set indexed with it, for the command-line tests. */
    record Indexed(Path model, Path data, Path index) {}

    private static Indexed indexed;

    static synchronized Indexed indexed() throws Exception {
        if (indexed == null) {
            Path model = Bundles.random(work.resolve("cli-model"), List.of("stripes", "columns", "disc"), 64, 4);
            Path data = org.medsearch.testutil.TestImages.writeDataset(work.resolve("data"), 3, 4, 64, 2);
            Path index = work.resolve("index");
            org.medsearch.testutil.CliRun ix = org.medsearch.testutil.CliRun.run(
                    "index", "--model", model.toString(), "--data", data.toString(), "--index", index.toString(), "-q");
            assertEquals(0, ix.code(), ix.toString());
            indexed = new Indexed(model, data, index);
        }
        return indexed;
    }

    @Test
    void searchExplainWritesBothOverlaysOfEveryHit() throws Exception {
        Path model = indexed().model();
        Path data = indexed().data();
        Path index = indexed().index();
        Path out = work.resolve("maps");
        Path query = data.resolve("disc/img_001.png");
        org.medsearch.testutil.CliRun r = org.medsearch.testutil.CliRun.run(
                "search",
                "--model",
                model.toString(),
                "--index",
                index.toString(),
                "--k",
                "3",
                "--scope",
                "all",
                "--explain",
                out.toString(),
                "--sheet",
                out.resolve("sheet.png").toString(),
                query.toString());
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().contains("Similarity maps of img_001.png and its 3 hits"), r.out());
        java.awt.image.BufferedImage sheet =
                javax.imageio.ImageIO.read(out.resolve("sheet.png").toFile());
        assertEquals(8 + 4 * (128 + 8), sheet.getWidth(), "the query and its 3 hits, with their maps");
        for (int rank = 1; rank <= 3; rank++) {
            for (String which : List.of("query", "hit")) {
                Path png = out.resolve(String.format("img_001.png-%02d-%s.png", rank, which));
                java.awt.image.BufferedImage img = javax.imageio.ImageIO.read(png.toFile());
                assertEquals(256, img.getWidth(), png.toString());
            }
        }
    }

    @Test
    void searchTakesMarksAndRocchiosWeightsFromTheCommandLine() throws Exception {
        Path model = indexed().model();
        Path data = indexed().data();
        Path index = indexed().index();
        String query = data.resolve("disc/img_001.png").toString();
        List<String> base = List.of(
                "search",
                "--model",
                model.toString(),
                "--index",
                index.toString(),
                "--k",
                "6",
                "--scope",
                "all",
                "--json");
        List<Long> before = ids(org.medsearch.testutil.CliRun.run(with(base, query)));
        long last = before.get(5);
        // (q + 50 v) / 51 lies next to the marked hit's vector v
        List<Long> pulled = ids(org.medsearch.testutil.CliRun.run(
                with(base, "--relevant", String.valueOf(last), "--rocchio", "1,50,0", query)));
        assertEquals(last, pulled.get(0), before + " -> " + pulled);
        assertEquals(
                before,
                ids(org.medsearch.testutil.CliRun.run(
                        with(base, "--relevant", String.valueOf(last), "--rocchio", "1,0,0", query))));
        org.medsearch.testutil.CliRun bad = org.medsearch.testutil.CliRun.run(
                with(base, "--relevant", String.valueOf(last), "--rocchio", "1,1,1", query));
        assertEquals(2, bad.code(), bad.toString());
        assertTrue(bad.err().contains("--rocchio") && bad.err().contains("alpha > gamma"), bad.err());
        assertTrue(!bad.err().contains("\tat "), "no stack trace: " + bad.err());
    }

    private static String[] with(List<String> base, String... more) {
        List<String> all = new ArrayList<>(base);
        all.addAll(List.of(more));
        return all.toArray(String[]::new);
    }

    private static List<Long> ids(org.medsearch.testutil.CliRun r) throws Exception {
        assertEquals(0, r.code(), r.toString());
        List<Long> out = new ArrayList<>();
        new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(r.out().strip())
                .get("results")
                .forEach(h -> out.add(h.get("id").asLong()));
        return out;
    }

    static double sum(float[] v) {
        double s = 0;
        for (float x : v) {
            s += x;
        }
        return s;
    }

    /** Whether cell index {@code l} (row-major, 8x8) is one of the patch's 2x2 cells at (r, c). */
    static boolean inPatch(int l, int r, int c) {
        int row = l / 8;
        int col = l % 8;
        return row >= r && row < r + PATCH && col >= c && col < c + PATCH;
    }

    /** The shared patch: concentric rings with a random phase, unlike either background. */
    static float[] texture(SplittableRandom rnd, int side) {
        float[] t = new float[side * side];
        double phase = rnd.nextDouble() * Math.PI;
        for (int y = 0; y < side; y++) {
            for (int x = 0; x < side; x++) {
                double r = Math.hypot(x - side / 2.0, y - side / 2.0);
                t[y * side + x] = (float) (0.5 + 0.45 * Math.sin(r * 0.7 + phase));
            }
        }
        return t;
    }

    /**
     * Two unrelated backgrounds of alike contrast (so that neither image's features are simply
     * stronger): random gray blocks of 4 or of 16 pixels.
     */
    static float[] background(SplittableRandom rnd, boolean fine) {
        return background(rnd, fine, SIZE);
    }

    static float[] background(SplittableRandom rnd, boolean fine, int size) {
        float[] b = new float[size * size];
        int block = fine ? 4 : 16;
        for (int y = 0; y < size; y += block) {
            for (int x = 0; x < size; x += block) {
                float v = (float) (0.2 + 0.6 * rnd.nextDouble());
                for (int yy = y; yy < y + block; yy++) {
                    for (int xx = x; xx < x + block; xx++) {
                        b[yy * size + xx] = v;
                    }
                }
            }
        }
        return b;
    }

    static MedicalImage with(float[] background, float[] patch, int top, int left) {
        float[] px = background.clone();
        int side = (int) Math.sqrt(patch.length);
        for (int y = 0; y < side; y++) {
            System.arraycopy(patch, y * side, px, (top + y) * SIZE + left, side);
        }
        return new MedicalImage(SIZE, SIZE, px);
    }
}
