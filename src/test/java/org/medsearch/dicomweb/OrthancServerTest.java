package org.medsearch.dicomweb;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.testutil.Shared;
import org.medsearch.util.Json;

/** The Orthanc harness against the real server: storage, DICOMweb, authentication, request counting, restart. */
class OrthancServerTest {

    static final String WADO_INSTANCE = "GET /dicom-web/studies/[^/]+/series/[^/]+/instances/[^/]+$";
    static final String ANY_DICOM = "multipart/related; type=\"application/dicom\"; transfer-syntax=*";

    @TempDir
    Path dir;

    @BeforeEach
    void needsOrthanc() {
        assumeTrue(OrthancServer.available(), "Orthanc is not installed (apt-get install orthanc orthanc-dicomweb)");
    }

    @Test
    void storesQueriesRetrievesAndCounts() throws Exception {
        Path ct = Shared.require("samples/dicom/CT_small.dcm");
        try (OrthancServer orthanc = OrthancServer.start(dir)) {
            assertTrue(orthanc.password().matches("[0-9a-f]{16}"), orthanc.password());
            assertEquals("dicomweb://127.0.0.1:" + orthanc.port() + "/dicom-web", orthanc.location());

            String id = orthanc.upload(ct);
            assertEquals(id, orthanc.upload(ct), "a second upload is the same instance");
            assertArrayEquals(Files.readAllBytes(ct), orthanc.instanceFile(id), "Orthanc keeps the file as sent");
            Map<String, String> tags = orthanc.instanceTags(id);
            String sop = tags.get("SOPInstanceUID");
            assertTrue(sop != null && !sop.isEmpty(), "SOPInstanceUID in " + tags);

            HttpClient http = client(orthanc);
            HttpResponse<byte[]> found = http.send(
                    get(orthanc, "dicom-web/instances")
                            .header("Authorization", orthanc.authorization())
                            .build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            assertEquals(200, found.statusCode(), text(found));
            assertTrue(sopInstanceUids(found).contains(sop), "QIDO-RS lists " + sop + ": " + text(found));

            HttpResponse<byte[]> anonymous =
                    http.send(get(orthanc, "dicom-web/instances").build(), HttpResponse.BodyHandlers.ofByteArray());
            assertEquals(401, anonymous.statusCode(), "QIDO-RS without credentials: " + text(anonymous));

            assertEquals(0, orthanc.countRequests(WADO_INSTANCE), "no retrieval yet");
            String path = "dicom-web/studies/" + tags.get("StudyInstanceUID") + "/series/"
                    + tags.get("SeriesInstanceUID") + "/instances/" + sop;
            HttpResponse<byte[]> wado = http.send(
                    get(orthanc, path)
                            .header("Authorization", orthanc.authorization())
                            .header("Accept", ANY_DICOM)
                            .build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            assertEquals(200, wado.statusCode(), text(wado));
            String type = wado.headers().firstValue("Content-Type").orElse("");
            assertTrue(type.startsWith("multipart/related"), "WADO-RS answers multipart: " + type);
            assertTrue(text(wado).contains("DICM"), "the part holds a DICOM file");
            assertEquals(1, orthanc.countRequests(WADO_INSTANCE), "one WADO-RS retrieval in " + orthanc.log());
            assertEquals(1, orthanc.countRequests("^GET /dicom-web/instances$"), "one authenticated QIDO-RS");
        }
    }

    @Test
    void secondaryCapturesSurviveARestart() throws Exception {
        try (OrthancServer orthanc = OrthancServer.start(dir)) {
            String study = "1.2.826.0.1.3680043.10.1234.1";
            Map<String, String> tags = Map.of(
                    "PatientID",
                    "SC-1",
                    "PatientName",
                    "Capture^Secondary",
                    "StudyInstanceUID",
                    study,
                    "SeriesInstanceUID",
                    study + ".1");
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                ids.add(orthanc.createSecondaryCapture(png(i), tags));
            }
            Map<String, String> first = orthanc.instanceTags(ids.get(0));
            assertEquals("1.2.840.10008.5.1.4.1.1.7", first.get("SOPClassUID"), first.toString());
            assertEquals(study, first.get("StudyInstanceUID"), first.toString());
            List<String> sops = sorted(List.of(
                    first.get("SOPInstanceUID"),
                    orthanc.instanceTags(ids.get(1)).get("SOPInstanceUID")));
            assertEquals(sops, sorted(studyInstances(orthanc, study)), "both captures in the given study");

            int port = orthanc.port();
            orthanc.restart();
            assertTrue(orthanc.running());
            assertEquals(port, orthanc.port(), "restart keeps the port");
            assertEquals(sops, sorted(studyInstances(orthanc, study)), "both captures survive the restart");

            orthanc.stop();
            assertFalse(orthanc.running());
            assertEquals(
                    2,
                    orthanc.countRequests("^GET /dicom-web/studies/[^/]+/instances$"),
                    "the log spans the restart and can be read after the stop");
        }
    }

    @Test
    void speaksTlsWithItsOwnCertificate() throws Exception {
        try (OrthancServer orthanc = OrthancServer.start(
                dir, OrthancServer.Options.defaults().withUser("alice").withTls(true))) {
            assertEquals("dicomwebs://127.0.0.1:" + orthanc.port() + "/dicom-web", orthanc.location());
            String pem = Files.readString(orthanc.certificatePem(), StandardCharsets.US_ASCII);
            assertTrue(pem.startsWith("-----BEGIN CERTIFICATE-----"), pem);
            assertFalse(pem.contains("PRIVATE KEY"), "the client's copy holds no key");

            String id = orthanc.createSecondaryCapture(png(0), Map.of("PatientID", "TLS-1"));
            String sop = orthanc.instanceTags(id).get("SOPInstanceUID");
            HttpResponse<byte[]> found = client(orthanc)
                    .send(
                            get(orthanc, "dicom-web/instances")
                                    .header("Authorization", orthanc.authorization())
                                    .build(),
                            HttpResponse.BodyHandlers.ofByteArray());
            assertEquals(200, found.statusCode(), text(found));
            assertTrue(sopInstanceUids(found).contains(sop), "QIDO-RS over TLS lists " + sop);
            assertTrue(
                    text(found).contains("https://127.0.0.1:" + orthanc.port() + "/dicom-web/studies/"),
                    "the plugin writes https retrieve URLs");
        }
    }

    static HttpClient client(OrthancServer orthanc) {
        HttpClient.Builder b =
                HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5));
        if (orthanc.tls()) {
            b.sslContext(orthanc.sslContext());
        }
        return b.build();
    }

    static HttpRequest.Builder get(OrthancServer orthanc, String relative) {
        URI uri = orthanc.restBase().resolve(relative);
        return HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30)).GET();
    }

    static List<String> studyInstances(OrthancServer orthanc, String studyUid) throws Exception {
        HttpResponse<byte[]> r = client(orthanc)
                .send(
                        get(orthanc, "dicom-web/studies/" + studyUid + "/instances")
                                .header("Authorization", orthanc.authorization())
                                .build(),
                        HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, r.statusCode(), text(r));
        return sopInstanceUids(r);
    }

    /** The SOP Instance UIDs (0008,0018) of a QIDO-RS answer. */
    static List<String> sopInstanceUids(HttpResponse<byte[]> qido) throws IOException {
        JsonNode answer = Json.MAPPER.readTree(qido.body());
        assertTrue(answer.isArray(), "QIDO-RS answers a JSON array: " + text(qido));
        List<String> uids = new ArrayList<>();
        answer.forEach(n -> uids.add(n.path("00080018").path("Value").path(0).asText()));
        return uids;
    }

    /** A small grey ramp, different for each {@code seed}. */
    static byte[] png(int seed) throws IOException {
        BufferedImage img = new BufferedImage(16, 16, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < 16; y++) {
            for (int x = 0; x < 16; x++) {
                img.getRaster().setSample(x, y, 0, (x * 16 + y + seed * 7) & 0xff);
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "png", out);
        return out.toByteArray();
    }

    static List<String> sorted(List<String> list) {
        return list.stream().sorted().toList();
    }

    static String text(HttpResponse<byte[]> r) {
        return new String(r.body(), StandardCharsets.ISO_8859_1);
    }
}
