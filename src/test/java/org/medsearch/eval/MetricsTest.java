package org.medsearch.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class MetricsTest {

    @Test
    void averagePrecisionFollowsTheReference() {
        // ranks 1 and 3 relevant: (1/1 + 2/3) / 2
        assertEquals(
                (1 + 2.0 / 3) / 2, RetrievalMetrics.averagePrecision(new boolean[] {true, false, true}, 10), 1e-12);
        assertEquals(1.0, RetrievalMetrics.averagePrecision(new boolean[] {true, true, true}, 3), 1e-12);
        assertEquals(0.0, RetrievalMetrics.averagePrecision(new boolean[] {false, false}, 10), 1e-12);
        // only the first k count
        assertEquals(0.5, RetrievalMetrics.averagePrecision(new boolean[] {false, true, true}, 2), 1e-12);
    }

    @Test
    void precisionAndRecallAtK() {
        boolean[] rel = {true, false, true, true};
        assertEquals(0.5, RetrievalMetrics.precisionAt(rel, 2), 1e-12);
        assertEquals(0.75, RetrievalMetrics.precisionAt(rel, 4), 1e-12);
        // fewer results than k count as misses
        assertEquals(0.3, RetrievalMetrics.precisionAt(rel, 10), 1e-12);
        assertEquals(3.0 / 30, RetrievalMetrics.recallAt(rel, 10, 30), 1e-12);
        assertEquals(0.0, RetrievalMetrics.recallAt(rel, 10, 0), 1e-12);
    }

    @Test
    void classificationFromConfusion() {
        ClassificationMetrics m =
                new ClassificationMetrics(List.of("a", "b", "c"), new long[][] {{8, 2, 0}, {1, 9, 0}, {0, 0, 0}});
        assertEquals(17.0 / 20, m.accuracy(), 1e-12);
        ClassificationMetrics.PerClass a = m.perClass().get(0);
        assertEquals(8.0 / 9, a.precision(), 1e-12);
        assertEquals(0.8, a.recall(), 1e-12);
        assertEquals(2 * (8.0 / 9) * 0.8 / (8.0 / 9 + 0.8), a.f1(), 1e-12);
        ClassificationMetrics.PerClass c = m.perClass().get(2);
        assertEquals(0, c.support());
        assertEquals(0.0, c.precision());
        assertEquals(0.0, c.f1());
    }
}
