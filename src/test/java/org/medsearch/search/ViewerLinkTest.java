package org.medsearch.search;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.medsearch.index.IndexedImage;
import org.medsearch.util.MedsearchException;

/**
 * {@link ViewerLink}: the templates it accepts (absolute http(s), at least one known placeholder,
 * no unknown one) and refuses, and the links it builds: every placeholder filled with its UID,
 * URL-encoded, and no link at all when the image lacks a UID the template uses.
 */
class ViewerLinkTest {

    static final String STUDY = "1.2.826.0.1.3680043.8.498.1";
    static final String SERIES = "1.2.826.0.1.3680043.8.498.2";
    static final String INSTANCE = "1.2.826.0.1.3680043.8.498.3";

    @Test
    void acceptsViewerTemplates() throws Exception {
        for (String t : List.of(
                "https://ohif.example.org/viewer?StudyInstanceUIDs={study}",
                "https://pacs.example.org/ui/app/#/filtered-studies?StudyInstanceUID={study}",
                "http://127.0.0.1:3000/viewer/{study}/{series}/{instance}",
                "https://v.example.org/?s={series}&i={instance}")) {
            assertEquals(t, ViewerLink.parse(t).toString());
        }
        assertEquals(
                "https://v/{study}", ViewerLink.parse("  https://v/{study}\n").toString());
    }

    @Test
    void refusesWhatIsNotAnHttpUrl() {
        for (String t : List.of(
                "ftp://pacs/{study}",
                "javascript:alert({study})",
                "file:///viewer/{study}",
                "//ohif/viewer?StudyInstanceUIDs={study}",
                "/viewer?StudyInstanceUIDs={study}",
                "https://ohif/viewer?a={study} b",
                "https://ohif/" + "x".repeat(2000) + "{study}",
                "")) {
            MedsearchException e = assertThrows(MedsearchException.class, () -> ViewerLink.parse(t), t);
            assertTrue(e.getMessage().contains("http(s) URL"), e.getMessage());
            assertTrue(e.getMessage().length() < 250, e.getMessage());
        }
        assertThrows(MedsearchException.class, () -> ViewerLink.parse(null));
    }

    @Test
    void refusesUnknownPlaceholdersNamingThem() {
        for (String p : List.of("patient", "Study", "STUDY", "study_uid", "", "accession")) {
            String t = "https://ohif/viewer?s={study}&x={" + p + "}";
            MedsearchException e = assertThrows(MedsearchException.class, () -> ViewerLink.parse(t), t);
            assertTrue(e.getMessage().contains("not {" + p + "}"), e.getMessage());
        }
    }

    @Test
    void refusesATemplateWithoutAPlaceholder() {
        for (String t :
                List.of("https://ohif/viewer", "https://ohif/viewer?s={study", "https://ohif/viewer?s=study}")) {
            MedsearchException e = assertThrows(MedsearchException.class, () -> ViewerLink.parse(t), t);
            assertTrue(e.getMessage().contains("must use"), e.getMessage());
        }
    }

    @Test
    void fillsEveryPlaceholderWithItsUid() throws Exception {
        ViewerLink v = ViewerLink.parse("https://v.example.org/viewer/{study}/{series}/{instance}?again={study}");
        String link = v.forImage(image(Map.of("study_uid", STUDY, "series_uid", SERIES, "instance_uid", INSTANCE)));
        assertEquals("https://v.example.org/viewer/" + STUDY + "/" + SERIES + "/" + INSTANCE + "?again=" + STUDY, link);
        assertEquals("https", URI.create(link).getScheme());
    }

    @Test
    void urlEncodesTheValues() throws Exception {
        ViewerLink v = ViewerLink.parse("https://v/?s={study}&i={instance}");
        String odd = "1.2 3&i=4#x/ü$1\\";
        String link = v.forImage(image(Map.of("study_uid", odd, "instance_uid", "5.6")));
        assertTrue(link.startsWith("https://v/?s="), link);
        URI u = URI.create(link);
        assertNull(u.getRawFragment(), link);
        String[] pairs = u.getRawQuery().split("&");
        assertEquals(2, pairs.length, link);
        assertEquals("s=" + odd, URLDecoder.decode(pairs[0], StandardCharsets.UTF_8));
        assertEquals("i=5.6", pairs[1]);
        assertFalse(link.contains("{") || link.contains("}"), link);
    }

    @Test
    void noLinkWhenAUsedUidIsMissing() throws Exception {
        ViewerLink series = ViewerLink.parse("https://v/{study}/{series}");
        assertNull(series.forImage(image(Map.of("study_uid", STUDY))));
        assertNull(series.forImage(image(Map.of("series_uid", SERIES))));
        assertNull(series.forImage(image(Map.of("study_uid", STUDY, "series_uid", "  "))));
        assertNull(series.forImage(image(Map.of("study_uid", "", "series_uid", SERIES))));
        assertNull(series.forImage(image(Map.of())));
        assertNull(series.forImage(image(null)));
        assertNull(series.forImage(image(Map.of("study", STUDY, "series", SERIES))), "placeholder names are not keys");
        // the instance UID is not used: a slice of a volume still links to its series
        Map<String, String> meta = new HashMap<>(Map.of("study_uid", STUDY, "series_uid", SERIES, "format", "dicom"));
        assertEquals("https://v/" + STUDY + "/" + SERIES, series.forImage(image(meta)));
    }

    private static IndexedImage image(Map<String, String> metadata) {
        return new IndexedImage(
                7L,
                "dicomweb://pacs:8042/dicom-web/x",
                "ct",
                "ct",
                0.9f,
                "0".repeat(64),
                new float[512],
                null,
                "CT",
                null,
                null,
                metadata);
    }
}
