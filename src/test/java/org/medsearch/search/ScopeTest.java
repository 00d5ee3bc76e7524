package org.medsearch.search;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link Scope}: its text form both ways, and the classes each scope picks from probabilities. */
class ScopeTest {

    @Test
    void parsesEveryFormAndWritesItBack() {
        assertEquals(Scope.PREDICTED, Scope.parse("predicted"));
        assertEquals(Scope.ALL, Scope.parse(" ALL "));
        assertEquals(Scope.AUTO, Scope.parse("Auto"));
        assertEquals(Scope.top(3), Scope.parse("top:3"));
        assertEquals(Scope.top(12), Scope.parse("TOP:12"));
        for (String s : List.of("predicted", "all", "auto", "top:1", "top:2", "top:250")) {
            assertEquals(s, Scope.parse(s).toString());
            assertEquals(Scope.parse(s), Scope.parse(Scope.parse(s).toString()));
        }
    }

    @Test
    void refusesAnythingElseNamingTheForms() {
        for (String bad : List.of(
                "",
                "foo",
                "top",
                "top:",
                "top:0",
                "top:-1",
                "top:+2",
                "top: 2",
                "top:2.5",
                "top:99999999999",
                "top:x",
                "predicted,all")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Scope.parse(bad), bad);
            assertTrue(e.getMessage().contains("top:N"), e.getMessage());
        }
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Scope.parse("foo"))
                .getMessage()
                .contains(Scope.FORMS));
        assertThrows(IllegalArgumentException.class, () -> Scope.parse(null));
        assertThrows(IllegalArgumentException.class, () -> Scope.top(0));
        assertThrows(IllegalArgumentException.class, () -> new Scope(Scope.Kind.ALL, 2));
    }

    @Test
    void picksClassesFromProbabilities() {
        List<String> classes = List.of("a", "b", "c", "d");
        float[] p = {0.1f, 0.4f, 0.2f, 0.3f};
        assertEquals(List.of("b"), Scope.PREDICTED.classes(p, classes, Double.NaN));
        assertEquals(List.of("b", "d"), Scope.top(2).classes(p, classes, Double.NaN));
        assertEquals(List.of("b", "d", "c"), Scope.top(3).classes(p, classes, Double.NaN));
        assertNull(Scope.top(4).classes(p, classes, Double.NaN), "every class: no restriction");
        assertNull(Scope.ALL.classes(p, classes, Double.NaN));
        assertEquals(List.of("b"), Scope.AUTO.classes(p, classes, 0.4), "at the threshold: confident");
        assertNull(Scope.AUTO.classes(p, classes, 0.41), "below: every class");
        // ties go to the earlier class, as Embedding.predictedClass breaks them
        assertEquals(
                List.of("a", "c"), Scope.top(2).classes(new float[] {0.4f, 0.2f, 0.4f}, List.of("a", "b", "c"), 0));
    }

    @Test
    void onlyAllWorksWithoutAClassifier() {
        assertFalse(Scope.ALL.needsClassifier());
        assertTrue(Scope.AUTO.needsClassifier()
                && Scope.PREDICTED.needsClassifier()
                && Scope.top(2).needsClassifier());
        assertNull(Scope.ALL.classes(new float[0], List.of(), Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> Scope.top(2).classes(new float[0], List.of(), 0));
    }
}
