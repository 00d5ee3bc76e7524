package org.medsearch.dicomweb;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.medsearch.util.MedsearchException;

/**
 * {@link DicomWebLocation}: the accepted forms and their normalisation (default ports, trailing
 * slashes, case, IPv6), the refusals with their one-line messages (credentials, query, fragment,
 * other schemes, garbage), and the round trip through {@code toString()}, {@code baseUri()} and
 * {@code resolve()}.
 */
class DicomWebLocationTest {

    @Test
    void parsesPlainAndTlsFormsWithTheirDefaultPorts() throws Exception {
        DicomWebLocation plain = DicomWebLocation.parse("dicomweb://pacs.example.org/dicom-web");
        assertEquals(new DicomWebLocation(false, "pacs.example.org", 80, "/dicom-web"), plain);
        DicomWebLocation tls = DicomWebLocation.parse("dicomwebs://pacs.example.org/dicom-web");
        assertEquals(new DicomWebLocation(true, "pacs.example.org", 443, "/dicom-web"), tls);
        DicomWebLocation port = DicomWebLocation.parse("dicomwebs://10.0.0.7:8443/wado/rs");
        assertEquals(new DicomWebLocation(true, "10.0.0.7", 8443, "/wado/rs"), port);
        assertEquals(
                URI.create("https://10.0.0.7:8443/wado/rs/studies/1.2.3/series"), port.resolve("studies/1.2.3/series"));
        assertEquals(URI.create("http://pacs.example.org:80/dicom-web"), plain.baseUri());
    }

    @Test
    void normalisesCaseTrailingSlashesAndWhiteSpace() throws Exception {
        DicomWebLocation l = DicomWebLocation.parse("  DICOMWEBS://PACS.Example.ORG:8042/Dicom-Web///  ");
        assertTrue(l.tls());
        assertEquals("pacs.example.org", l.host());
        assertEquals(8042, l.port());
        assertEquals("/Dicom-Web", l.path(), "the path keeps its case: servers may be case-sensitive");
        assertEquals("dicomwebs://pacs.example.org:8042/Dicom-Web", l.toString());

        DicomWebLocation root = DicomWebLocation.parse("dicomweb://pacs:8042/");
        assertEquals("", root.path());
        assertEquals(URI.create("http://pacs:8042/studies"), root.resolve("studies"));
        DicomWebLocation noPath = DicomWebLocation.parse("dicomweb://pacs");
        assertEquals(new DicomWebLocation(false, "pacs", 80, ""), noPath);
        assertEquals("dicomweb://pacs:80", noPath.toString());
    }

    @Test
    void acceptsAnIpv6Literal() throws Exception {
        DicomWebLocation l = DicomWebLocation.parse("dicomweb://[::1]:8042/dicom-web");
        assertEquals(8042, l.port());
        assertEquals("dicomweb://[::1]:8042/dicom-web", l.toString());
        URI base = l.baseUri();
        assertEquals("http", base.getScheme());
        assertEquals("[::1]", base.getHost());
        assertEquals(8042, base.getPort());
        assertEquals("/dicom-web/studies", l.resolve("studies").getPath());
        assertEquals(l, DicomWebLocation.parse(l.toString()));
        DicomWebLocation defaultPort = DicomWebLocation.parse("dicomwebs://[2001:DB8::17]/rs");
        assertEquals(443, defaultPort.port());
        assertEquals("https://[2001:db8::17]:443/rs", defaultPort.baseUri().toString());
    }

    @Test
    void roundTripsThroughItsTextForm() throws Exception {
        for (String s : List.of(
                "dicomweb://127.0.0.1:8042/dicom-web",
                "dicomwebs://pacs.example.org:443/dicom-web",
                "dicomweb://pacs:80",
                "dicomweb://pacs:1/a/b/c",
                "dicomweb://pacs:8042/dicom%20web",
                "dicomwebs://[fe80::1]:2762/x")) {
            DicomWebLocation l = DicomWebLocation.parse(s);
            assertEquals(s, l.toString());
            assertEquals(l, DicomWebLocation.parse(l.toString()));
            URI base = l.baseUri();
            assertEquals(l.tls() ? "https" : "http", base.getScheme());
            assertEquals(l.port(), base.getPort());
            assertEquals(l.path(), base.getRawPath());
            assertEquals(
                    s.substring(s.indexOf("://")),
                    base.toString().substring(base.toString().indexOf("://")));
            assertEquals(base + "/instances", l.resolve("instances").toString());
        }
    }

    @Test
    void looksLikeIsAboutTheSchemeOnly() {
        assertTrue(DicomWebLocation.looksLike("dicomweb://"));
        assertTrue(DicomWebLocation.looksLike(" DicomWebS://x"));
        assertFalse(DicomWebLocation.looksLike("http://pacs/dicom-web"));
        assertFalse(DicomWebLocation.looksLike("/data/images"));
        assertFalse(DicomWebLocation.looksLike("dicomweb:/pacs"));
    }

    @Test
    void refusesCredentialsWithoutEchoingThem() {
        for (String s : List.of(
                "dicomweb://admin:s3cret@pacs:8042/dicom-web",
                "dicomwebs://admin@pacs/dicom-web",
                "DICOMWEB://admin:s3cret@127.0.0.1:8042")) {
            MedsearchException e = assertThrows(MedsearchException.class, () -> DicomWebLocation.parse(s), s);
            assertTrue(e.getMessage().contains("must not carry credentials"), e.getMessage());
            assertFalse(e.getMessage().contains("s3cret"), e.getMessage());
            assertFalse(e.getMessage().contains("admin"), e.getMessage());
            assertOneLine(e);
        }
    }

    @Test
    void refusesQueriesFragmentsAndGarbageNamingTheForm() {
        for (String s : List.of(
                "dicomweb://pacs:8042/dicom-web?user=admin",
                "dicomweb://pacs:8042/dicom-web?",
                "dicomweb://pacs:8042/dicom-web#studies",
                "dicomweb://",
                "dicomweb:///dicom-web",
                "dicomweb://pacs:port/dicom-web",
                "dicomweb://pa cs/dicom-web",
                "dicomweb://pacs/dicom web",
                "dicomweb://[::1/dicom-web",
                "dicomweb://pacs\n/dicom-web")) {
            MedsearchException e = assertThrows(MedsearchException.class, () -> DicomWebLocation.parse(s), s);
            assertTrue(e.getMessage().contains("is not a valid DICOMweb location"), e.getMessage());
            assertTrue(e.getMessage().endsWith("expected " + DicomWebLocation.FORM), e.getMessage());
            assertOneLine(e);
        }
    }

    @Test
    void refusesOtherSchemesNamingTheForm() {
        for (String s : List.of(
                "http://pacs:8042/dicom-web",
                "https://pacs/dicom-web",
                "dicom://pacs:104",
                "dicomweb:/pacs/dicom-web",
                "pacs:8042/dicom-web",
                "",
                "   ")) {
            MedsearchException e = assertThrows(MedsearchException.class, () -> DicomWebLocation.parse(s), s);
            assertEquals(
                    "'" + s.strip() + "' is not a DICOMweb location: expected " + DicomWebLocation.FORM,
                    e.getMessage());
        }
        MedsearchException nul = assertThrows(MedsearchException.class, () -> DicomWebLocation.parse(null));
        assertTrue(nul.getMessage().contains(DicomWebLocation.FORM), nul.getMessage());
    }

    @Test
    void shortensALongRefusedValue() {
        String s = "http://" + "a".repeat(500);
        MedsearchException e = assertThrows(MedsearchException.class, () -> DicomWebLocation.parse(s));
        assertTrue(e.getMessage().length() < 250, e.getMessage());
        assertTrue(e.getMessage().contains("..."), e.getMessage());
    }

    private static void assertOneLine(Exception e) {
        assertFalse(e.getMessage().contains("\n") || e.getMessage().contains("\r"), e.getMessage());
    }
}
