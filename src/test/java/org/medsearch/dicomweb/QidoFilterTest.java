package org.medsearch.dicomweb;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.medsearch.util.MedsearchException;

/**
 * {@link QidoFilter}: the study-date forms it accepts and refuses before any request, the code
 * strings it accepts for modality and body part, and the query it gives: keys in a stable order,
 * values encoded so that a server decodes exactly them, and nothing for {@link QidoFilter#ALL}.
 */
class QidoFilterTest {

    @Test
    void acceptsTheFourDateForms() throws Exception {
        for (String d : List.of("20240101", "20240101-", "-20241231", "20240101-20241231", " 19991231- ")) {
            QidoFilter f = QidoFilter.of(null, d, null);
            assertEquals(d.strip(), f.studyDate());
            assertEquals(Map.of("StudyDate", d.strip()), decode(f.query()));
        }
    }

    @Test
    void refusesEveryOtherDateForm() {
        for (String d : List.of(
                "2024",
                "2024-01-01",
                "2024/01/01",
                "202401011",
                "2024010",
                "-",
                "--",
                "20240101--",
                "--20240101",
                "20240101-2024123",
                "20240101-20241231-",
                "20240101 - 20241231",
                "2024010a",
                "yesterday",
                "\uFF12\uFF10\uFF12\uFF14\uFF10\uFF11\uFF10\uFF11", // full-width digits
                "\u0662\u0660\u0662\u0664\u0660\u0661\u0660\u0661", // Arabic-Indic digits
                "20240101&Modality=MR")) {
            MedsearchException e = assertThrows(MedsearchException.class, () -> QidoFilter.of(null, d, null), d);
            assertTrue(e.getMessage().contains("YYYYMMDD-YYYYMMDD"), e.getMessage());
        }
        String longValue = "2".repeat(200);
        MedsearchException e = assertThrows(MedsearchException.class, () -> QidoFilter.of(null, longValue, null));
        assertTrue(e.getMessage().length() < 150, e.getMessage());
    }

    @Test
    void codeStringsAreUpperCasedAndChecked() throws Exception {
        QidoFilter f = QidoFilter.of(" ct ", null, "head_neck");
        assertEquals("CT", f.modality());
        assertEquals("HEAD_NECK", f.bodyPart());
        assertEquals(
                "0123456789ABCDEF",
                QidoFilter.of("0123456789abcdef", null, null).modality());
        for (String bad : List.of(
                "C-T", "CT,MR", "CT\\MR", "CT*", "C?", "CT&x=1", "0123456789ABCDEFG", "ÉCHO", "CT\tMR", "MR%20")) {
            MedsearchException m = assertThrows(MedsearchException.class, () -> QidoFilter.of(bad, null, null), bad);
            assertTrue(m.getMessage().contains("modality"), m.getMessage());
            MedsearchException b = assertThrows(MedsearchException.class, () -> QidoFilter.of(null, null, bad), bad);
            assertTrue(b.getMessage().contains("body part"), b.getMessage());
        }
    }

    @Test
    void blankValuesMatchEverything() throws Exception {
        QidoFilter f = QidoFilter.of("", "  ", null);
        assertEquals(QidoFilter.ALL, f);
        assertNull(f.modality());
        assertNull(f.studyDate());
        assertNull(f.bodyPart());
        assertEquals("", QidoFilter.ALL.query());
        assertTrue(QidoFilter.ALL.keys().isEmpty());
        assertEquals("all series", QidoFilter.ALL.toString());
    }

    @Test
    void queryKeysComeInAStableOrderWhateverIsSet() throws Exception {
        assertEquals(
                List.of("Modality", "StudyDate", "BodyPartExamined"),
                names(QidoFilter.of("MR", "20240101-", "CHEST").query()));
        assertEquals(
                List.of("Modality", "BodyPartExamined"),
                names(QidoFilter.of("MR", null, "CHEST").query()));
        assertEquals(
                List.of("StudyDate", "BodyPartExamined"),
                names(QidoFilter.of(null, "-20240101", "KNEE").query()));
        assertEquals(
                List.of("BodyPartExamined"),
                names(QidoFilter.of(null, null, "KNEE").query()));
        QidoFilter f = QidoFilter.of("CT", "20240101-20241231", "HEAD");
        assertEquals(List.copyOf(f.keys().keySet()), names(f.query()));
        assertEquals(f.keys(), decode(f.query()));
        assertEquals(f.query(), f.toString());
    }

    @Test
    void valuesAreEncodedSoThatAServerDecodesExactlyThem() throws Exception {
        QidoFilter spaced = QidoFilter.of("OT", null, "LOWER LIMB");
        assertEquals(Map.of("Modality", "OT", "BodyPartExamined", "LOWER LIMB"), decode(spaced.query()));
        assertFalse(spaced.query().contains(" "), spaced.query());
        // the record constructor checks nothing: its query still cannot carry a second key
        QidoFilter raw = new QidoFilter("CT&BodyPartExamined=HEAD", "2024#x", "a=b?c/d%e+f");
        Map<String, String> keys = decode(raw.query());
        assertEquals(raw.keys(), keys);
        assertEquals(3, raw.query().split("&", -1).length, raw.query());
        assertTrue(raw.query().matches("[A-Za-z0-9=&%+._*-]*"), raw.query());
    }

    /** The query decoded as a server decodes it, failing on a repeated key. */
    private static Map<String, String> decode(String query) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String pair : query.split("&", -1)) {
            int eq = pair.indexOf('=');
            assertTrue(eq > 0, query);
            String k = URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8);
            assertNull(out.put(k, URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8)), query);
        }
        return out;
    }

    private static List<String> names(String query) {
        return new ArrayList<>(decode(query).keySet());
    }
}
