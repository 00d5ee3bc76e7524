package org.medsearch.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** The scopes' retrieval over a gallery with known answers, and the auto threshold's choice. */
class ScopeCalibrationTest {

    /** Gallery on a line: class 0 at x = 0..4, class 1 at x = 10..14 (1-d vectors, padded to 2-d). */
    static final float[][] GALLERY = {
        {0, 0}, {1, 0}, {2, 0}, {3, 0}, {4, 0}, {10, 0}, {11, 0}, {12, 0}, {13, 0}, {14, 0}
    };

    static final int[] LABELS = {0, 0, 0, 0, 0, 1, 1, 1, 1, 1};

    @Test
    void predictedScopeScoresClassificationAllScopeScoresNeighbours() {
        // query 0: class 0 at x=3.4, predicted 0 (right); query 1: class 0 at x=6, predicted 1 (wrong)
        float[][] q = {{3.4f, 0}, {6f, 0}};
        int[] truth = {0, 0};
        float[][] p = {{0.9f, 0.1f}, {0.4f, 0.6f}};
        ScopeCalibration.Result r = ScopeCalibration.measure(GALLERY, LABELS, q, truth, p, 3);
        // right prediction: every hit of the predicted class is relevant
        assertEquals(1.0, r.apPredicted()[0], 1e-12);
        // wrong prediction: no relevant hit can be found
        assertEquals(0.0, r.apPredicted()[1], 1e-12);
        // all scope, query 1 at x=6: nearest 4 (rel), 3 (rel), 2 (rel); 10 is farther than 2
        assertEquals(1.0, r.apAll()[1], 1e-12);
        // all scope, query 0 at x=3.4: 3, 4, 2: all relevant
        assertEquals(1.0, r.apAll()[0], 1e-12);
        assertArrayEquals(new double[] {0.9, 0.6}, r.confidence(), 1e-6);
        // auto: query 1 must search all classes; query 0 does as well under all as under its class, and
        // a tie goes to all
        assertEquals(ScopeCalibration.NEVER, r.threshold());
        assertEquals(1.0, r.mapAuto(), 1e-12);
        assertEquals(1.0, ScopeCalibration.autoMap(r, 0.75), 1e-12, "a threshold between the two does as well");
        assertEquals(0.5, r.mapPredicted(), 1e-12);
    }

    @Test
    void allScopeRanksTiesByGalleryOrder() {
        // equidistant from 4 (class 0) and... a query at x=7 is 3 from 4 and 3 from 10: 4 comes first
        float[][] q = {{7, 0}};
        ScopeCalibration.Result r =
                ScopeCalibration.measure(GALLERY, LABELS, q, new int[] {1}, new float[][] {{0.5f, 0.5f}}, 1);
        assertEquals(0.0, r.apAll()[0], 1e-12, "the tie goes to the lower index, of class 0");
    }

    @Test
    void thresholdIsTheKnownOptimumOfASyntheticValidationSet() {
        // predicted is right (AP 1) above confidence 0.7 and wrong (AP 0) below; all-scope AP is 0.6
        Random rnd = new Random(7);
        int n = 400;
        double[] conf = new double[n];
        double[] apPred = new double[n];
        double[] apAll = new double[n];
        for (int i = 0; i < n; i++) {
            conf[i] = 0.34 + 0.66 * rnd.nextDouble();
            apPred[i] = conf[i] >= 0.7 ? 1 : 0;
            apAll[i] = 0.6;
        }
        double t = ScopeCalibration.chooseThreshold(conf, apPred, apAll);
        double below = java.util.Arrays.stream(conf).filter(c -> c < 0.7).max().orElseThrow();
        double above = java.util.Arrays.stream(conf).filter(c -> c >= 0.7).min().orElseThrow();
        // midway between the confidences on either side of the optimal cut
        assertEquals((below + above) / 2, t, 1e-12);
    }

    @Test
    void extremesAreZeroAndOne() {
        double[] conf = {0.5, 0.8, 0.9};
        // predicted always better: every query uses it, threshold 0
        assertEquals(0.0, ScopeCalibration.chooseThreshold(conf, new double[] {1, 1, 1}, new double[] {0.2, 0.2, 0.2}));
        // all always better: none does, a threshold above every probability
        assertEquals(
                ScopeCalibration.NEVER,
                ScopeCalibration.chooseThreshold(conf, new double[] {0, 0, 0}, new double[] {0.2, 0.2, 0.2}));
        // a tie everywhere goes to all (a class restriction must earn its risk)
        assertEquals(
                ScopeCalibration.NEVER,
                ScopeCalibration.chooseThreshold(conf, new double[] {0.5, 0.5, 0.5}, new double[] {0.5, 0.5, 0.5}));
    }

    @Test
    void aCutNoBetterThanAllWithinItsNoiseGivesWayToAll() {
        // 10 queries: 9 right (AP 1 under predicted), 1 wrong and the surest; all-scope AP is 0.85 for
        // each. Predicted for all ten: 0.9 mean, all: 0.85; the 0.05 gain is within one standard error
        double[] conf = new double[10];
        double[] apPred = new double[10];
        double[] apAll = new double[10];
        for (int i = 0; i < 10; i++) {
            conf[i] = 0.9 + i * 0.005;
            apPred[i] = i == 9 ? 0 : 1;
            apAll[i] = 0.85;
        }
        assertEquals(ScopeCalibration.NEVER, ScopeCalibration.chooseThreshold(conf, apPred, apAll));
        // with 400 such queries (the same proportions, errors spread over the confidences) the gain is
        // real: the class restriction stays for all but the least sure few
        double[] c4 = new double[400];
        double[] p4 = new double[400];
        double[] a4 = new double[400];
        for (int i = 0; i < 400; i++) {
            c4[i] = 0.5 + i * 1e-3;
            p4[i] = i % 10 == 9 ? 0 : 1;
            a4[i] = 0.85;
        }
        double t = ScopeCalibration.chooseThreshold(c4, p4, a4);
        assertTrue(t < c4[40], "threshold " + t);
    }

    @Test
    void autoIsNeverWorseThanAllOnTheDataItWasChosenOnAndNoOtherCutIsClearlyBetter() {
        Random rnd = new Random(11);
        for (int trial = 0; trial < 50; trial++) {
            int n = 2 + rnd.nextInt(60);
            double[] conf = new double[n];
            double[] apPred = new double[n];
            double[] apAll = new double[n];
            for (int i = 0; i < n; i++) {
                conf[i] = Math.round(rnd.nextDouble() * 20) / 20.0; // ties, and 1.0, on purpose
                apPred[i] = rnd.nextBoolean() ? 1 : 0;
                apAll[i] = rnd.nextDouble();
            }
            double t = ScopeCalibration.chooseThreshold(conf, apPred, apAll);
            ScopeCalibration.Result r = new ScopeCalibration.Result(apPred, apAll, conf, t);
            // moving toward all never costs more than the best cut's edge, and never goes below all
            assertTrue(r.mapAuto() >= r.mapAll() - 1e-12, "trial " + trial);
            double bestMap = java.util.stream.DoubleStream.concat(
                            java.util.Arrays.stream(conf), java.util.stream.DoubleStream.of(ScopeCalibration.NEVER))
                    .map(c -> ScopeCalibration.autoMap(r, c))
                    .max()
                    .orElseThrow();
            assertTrue(r.mapAuto() <= bestMap + 1e-12, "trial " + trial);
        }
    }
}
