package org.medsearch.search;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Rocchio's rule as the index needs it: the moved query is a weighted mean, at the images' scale. */
class FeedbackTest {

    @Test
    void relevantMarksAloneMoveTheQueryOntoTheSegmentTowardTheirMean() {
        float[] q = {0, 0, 4};
        float[] a = {2, 0, 0};
        float[] b = {0, 2, 0};
        float[] moved = Feedback.of(Set.of(1L, 2L), Set.of()).move(q, List.of(a, b), List.of());
        // (1 q + 0.75 (1, 1, 0)) / 1.75
        assertArrayEquals(new float[] {0.75f / 1.75f, 0.75f / 1.75f, 4 / 1.75f}, moved, 1e-6f);
    }

    @Test
    void bothGroupsDivideByAlphaPlusBetaMinusGamma() {
        float[] q = {1, 1};
        float[] rel = {3, 1};
        float[] irr = {1, -3};
        float[] moved = Feedback.of(Set.of(1L), Set.of(2L)).move(q, List.of(rel), List.of(irr));
        double s = 1 + 0.75 - 0.15;
        assertArrayEquals(
                new float[] {(float) ((1 + 0.75 * 3 - 0.15) / s), (float) ((1 + 0.75 + 0.45) / s)}, moved, 1e-6f);
        float[] away = Feedback.of(Set.of(), Set.of(2L)).move(q, List.of(), List.of(irr));
        assertArrayEquals(new float[] {1, (float) ((1 + 0.45) / 0.85)}, away, 1e-6f);
    }

    @Test
    void theMovedQueryStaysAtTheScaleOfTheImages() {
        SplittableRandom rnd = new SplittableRandom(16);
        for (int round = 0; round < 50; round++) {
            float[] q = vector(rnd);
            List<float[]> rel = List.of(vector(rnd), vector(rnd), vector(rnd));
            float[] moved = Feedback.of(Set.of(1L, 2L, 3L), Set.of()).move(q, rel, List.of());
            // a convex combination: no coordinate leaves the range of the vectors it mixes
            for (int i = 0; i < q.length; i++) {
                float lo = q[i];
                float hi = q[i];
                for (float[] r : rel) {
                    lo = Math.min(lo, r[i]);
                    hi = Math.max(hi, r[i]);
                }
                assertTrue(moved[i] >= lo - 1e-5f && moved[i] <= hi + 1e-5f, "coordinate " + i);
            }
        }
    }

    @Test
    void noMarkNoMove() {
        float[] q = {0.5f, -2};
        assertArrayEquals(q, Feedback.NONE.move(q, List.of(), List.of()));
        assertArrayEquals(q, new Feedback(Set.of(), Set.of(), 3, 1, 0.5).move(q, List.of(), List.of()), 1e-6f);
    }

    @Test
    void weightsParseAndAreChecked() {
        assertArrayEquals(new double[] {1, 0.75, 0.15}, Feedback.weights(null));
        assertArrayEquals(new double[] {1, 0.75, 0.15}, Feedback.weights(" "));
        assertArrayEquals(new double[] {2, 1.5, 0.25}, Feedback.weights("2, 1.5 ,0.25"));
        Feedback f = Feedback.of(Set.of(1L), Set.of()).withWeights(Feedback.weights("1,0,0"));
        assertEquals(Set.of(1L), f.relevant());
        assertEquals(0, f.beta());
        for (String bad : List.of("1,1", "1,1,1,1", "1,x,0", "-1,0,0", "1,1,1", "0.1,1,0.2", "1e3,0,0", ",,")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Feedback.weights(bad));
            assertTrue(e.getMessage().contains("Rocchio"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> new Feedback(Set.of(), Set.of(), 999, 2, 0));
    }

    private static float[] vector(SplittableRandom rnd) {
        float[] v = new float[8];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) rnd.nextDouble(-3, 3);
        }
        return v;
    }
}
