package org.medsearch.search;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.medsearch.index.Hit;
import org.medsearch.index.IndexedImage;

/** {@link NeighbourVote}: weights 1/d normalised, scale-free, and its verdict beside the classifier's. */
class NeighbourVoteTest {

    static Hit hit(long id, String label, float d) {
        IndexedImage img = new IndexedImage(
                id, "/" + id, label, null, 0f, "h" + id, new float[4], null, null, null, null, Map.of());
        return new Hit(id, d, img);
    }

    @Test
    void sharesAreInverseDistancesNormalised() {
        List<Hit> hits = List.of(hit(1, "a", 1f), hit(2, "b", 2f), hit(3, "b", 4f));
        NeighbourVote v = NeighbourVote.of(hits, "b");
        // weights 1, 1/2, 1/4: a 4/7, b 3/7
        assertEquals(4.0 / 7, v.distribution().get("a"), 1e-9);
        assertEquals(3.0 / 7, v.distribution().get("b"), 1e-9);
        assertEquals(
                1.0,
                v.distribution().values().stream()
                        .mapToDouble(Double::doubleValue)
                        .sum(),
                1e-12);
        assertEquals("a", v.top());
        assertFalse(v.agrees(), "the classifier says b, the neighbours a");
        assertTrue(NeighbourVote.of(hits, "a").agrees());
    }

    @Test
    void isScaleFree() {
        List<Hit> near = List.of(hit(1, "a", 0.5f), hit(2, "b", 1.5f), hit(3, "c", 3f));
        List<Hit> far = new ArrayList<>();
        near.forEach(h -> far.add(hit(h.id(), h.image().label(), h.squaredDistance() * 1000)));
        NeighbourVote a = NeighbourVote.of(near, "a");
        NeighbourVote b = NeighbourVote.of(far, "a");
        for (String c : List.of("a", "b", "c")) {
            assertEquals(a.distribution().get(c), b.distribution().get(c), 1e-6);
        }
    }

    @Test
    void aZeroDistanceDominatesWithoutDividingByZero() {
        NeighbourVote v = NeighbourVote.of(List.of(hit(1, "a", 0f), hit(2, "b", 0.01f)), "b");
        assertEquals("a", v.top());
        assertTrue(v.distribution().get("a") > 0.999999, v.toString());
        assertTrue(Double.isFinite(v.distribution().get("b")));
    }

    @Test
    void tiesGoToTheNearerHitsClassAndUnknownLabelsCountUnderTheirOwn() {
        NeighbourVote tie = NeighbourVote.of(List.of(hit(1, "b", 2f), hit(2, "a", 2f)), "a");
        assertEquals("b", tie.top());
        assertEquals(List.of("b", "a"), List.copyOf(tie.distribution().keySet()));
        NeighbourVote unknown = NeighbourVote.of(List.of(hit(1, "deleted-class", 1f), hit(2, "a", 3f)), "a");
        assertEquals("deleted-class", unknown.top());
        assertEquals(0.75, unknown.distribution().get("deleted-class"), 1e-9);
    }

    @Test
    void noHitsNoVoteAndNoClassifierNoVerdict() {
        NeighbourVote none = NeighbourVote.of(List.of(), "a");
        assertTrue(none.distribution().isEmpty());
        assertNull(none.top());
        assertNull(none.agrees());
        NeighbourVote backbone = NeighbourVote.of(List.of(hit(1, "a", 1f)), null);
        assertEquals("a", backbone.top());
        assertNull(backbone.agrees());
    }
}
