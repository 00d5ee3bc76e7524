package org.medsearch.dicomweb;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.dicom.DicomFile;
import org.medsearch.image.ImageReaders;
import org.medsearch.image.ReadLimits;
import org.medsearch.index.IndexedImage;
import org.medsearch.index.VectorStore;
import org.medsearch.service.Stores;
import org.medsearch.testutil.Bundles;
import org.medsearch.testutil.CliRun;
import org.medsearch.testutil.Shared;
import org.medsearch.testutil.TestImages;
import org.medsearch.util.Json;

/**
 * {@code index --from dicomweb://} and {@code search --from ... --instance} against a real Orthanc
 * with authentication ({@link OrthancServer}), end to end through the command line: every instance
 * medsearch can decode is indexed and each one it cannot is named; a re-run retrieves nothing (WADO-RS
 * requests counted in Orthanc's own log); new instances are picked up; neither a patient's name nor
 * id nor any UID reaches the index or the output unless asked for; a search by instance gives the
 * hits of the same file searched from disk; user mistakes are one line and exit status 2. Skips
 * where Orthanc is not installed.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PacsIndexingTest {

    static final String PATIENT_NAME = "Doe^Jane";
    static final String PATIENT_ID = "PAT-SECRET-4711";
    /** A WADO-RS retrieval of one instance, as Orthanc logs it. */
    static final String WADO = "^GET /dicom-web/studies/[^/]+/series/[^/]+/instances/[^/]+$";

    @TempDir
    static Path work;

    static OrthancServer orthanc;
    static Path model;
    static Path auth;
    static Path index;
    /** SOP Instance UID to the file Orthanc stores for it: the oracle's copy on disk. */
    static final Map<String, Path> onDisk = new LinkedHashMap<>();

    static String corruptUid;

    @BeforeAll
    static void startOrthanc() throws Exception {
        assumeTrue(
                OrthancServer.available(),
                "skipped: Orthanc is not installed (apt-get install orthanc orthanc-dicomweb)");
        orthanc = OrthancServer.start(work.resolve("orthanc"));
        model = Bundles.random(work.resolve("model"), List.of("stripes", "columns", "disc"), 64, 5);
        auth = Files.writeString(
                work.resolve("pacs-auth"), "basic " + orthanc.user() + ":" + orthanc.password() + "\n");
        index = work.resolve("index");
        Random rnd = new Random(42);
        for (int i = 0; i < 9; i++) {
            capture(TestImages.pattern(TestImages.PATTERNS[i % 3], 64, rnd), i);
        }
        // an instance without pixel data (a key object or report): listed, never retrieved
        orthanc.createSecondaryCapture(
                null, Map.of("PatientName", PATIENT_NAME, "PatientID", PATIENT_ID, "Modality", "KO"));
        // an instance whose pixels cannot be decoded: Rows says more than Pixel Data holds
        String good = capture(TestImages.pattern("disc", 64, rnd), 99);
        byte[] broken = withRows(Files.readAllBytes(onDisk.remove(good)), 4096);
        // same length (the file's lengths stay right), another root: Orthanc's UIDs run in sequence, so
        // changing the last digit could name another study or series
        corruptUid = "2" + good.substring(1);
        broken = replaceAscii(broken, good, corruptUid);
        Path f = Files.write(work.resolve("broken.dcm"), broken);
        orthanc.upload(f);
        deleteInstance(good);
    }

    @AfterAll
    static void stopOrthanc() {
        if (orthanc != null) {
            orthanc.close();
        }
    }

    @Test
    @Order(1)
    void indexesEveryDecodableInstanceNamesTheRestAndStoresNoIdentifier() throws Exception {
        CliRun r = index(index);
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().contains("10 image instances"), r.out());
        assertTrue(r.out().contains("9 images added, 1 skipped, 1 not images"), r.out());
        assertTrue(r.out().contains("  skipped OT instance #"), "the undecodable instance is named: " + r.out());
        try (VectorStore idx = Stores.open(index, false)) {
            List<IndexedImage> all = images(idx);
            assertEquals(9, all.size());
            for (IndexedImage img : all) {
                assertTrue(img.path().startsWith(orthanc.location() + "/instances/"), img.path());
                assertNotNull(img.patientKey(), "the patient is stored as a salted key");
            }
            assertEquals(
                    1, all.stream().map(IndexedImage::patientKey).distinct().count(), "one patient, one key");
            assertNoIdentifier(all, r, onDisk.keySet());
        }
    }

    @Test
    @Order(2)
    void aReRunRetrievesNothing() throws Exception {
        long before = orthanc.countRequests(WADO);
        assertTrue(before >= 10, "the first run retrieved each image instance once: " + before);
        CliRun r = index(index);
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().contains("0 retrieved"), r.out());
        assertTrue(r.out().contains("10 already indexed or known bad"), r.out());
        assertEquals(before, orthanc.countRequests(WADO), "no WADO-RS retrieval");
    }

    @Test
    @Order(3)
    void newInstancesArePickedUp() throws Exception {
        long before = orthanc.countRequests(WADO);
        Random rnd = new Random(7);
        capture(TestImages.pattern("stripes", 64, rnd), 200);
        capture(TestImages.pattern("columns", 64, rnd), 201);
        CliRun r = index(index);
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().contains("2 images added"), r.out());
        assertEquals(before + 2, orthanc.countRequests(WADO));
        try (VectorStore idx = Stores.open(index, false)) {
            assertEquals(11, idx.size());
        }
    }

    @Test
    @Order(4)
    void searchingByInstanceGivesTheHitsOfTheSameFileOnDisk() throws Exception {
        for (String uid : List.copyOf(onDisk.keySet()).subList(0, 3)) {
            CliRun fromPacs = cli(
                    "search",
                    index.toString(),
                    "--k",
                    "5",
                    "--scope",
                    "all",
                    "--json",
                    "--from",
                    orthanc.location(),
                    "--pacs-auth",
                    auth.toString(),
                    "--instance",
                    uid);
            CliRun fromDisk = cli(
                    "search",
                    index.toString(),
                    "--k",
                    "5",
                    "--scope",
                    "all",
                    "--json",
                    onDisk.get(uid).toString());
            assertEquals(0, fromPacs.code(), fromPacs.toString());
            assertEquals(0, fromDisk.code(), fromDisk.toString());
            JsonNode a = Json.MAPPER.readTree(fromPacs.out());
            JsonNode b = Json.MAPPER.readTree(fromDisk.out());
            assertEquals(5, a.get("results").size());
            assertEquals(b.get("results"), a.get("results"), "same hits, same distances");
            assertEquals(b.get("predicted"), a.get("predicted"));
            // the query itself is indexed: it is its own nearest neighbour
            assertEquals(0.0, a.get("results").get(0).get("distance").asDouble(), 1e-9);
        }
        CliRun missing = cli(
                "search",
                index.toString(),
                "--from",
                orthanc.location(),
                "--pacs-auth",
                auth.toString(),
                "--instance",
                "1.2.3.4.5.6.7.8.9");
        missing.assertUserError("has no instance 1.2.3.4.5.6.7.8.9");
    }

    @Test
    @Order(5)
    void linkBackStoresTheUidsOnlyWhenAskedFor() throws Exception {
        Path linked = work.resolve("linked");
        CliRun r = cli(
                "index",
                linked.toString(),
                "--from",
                orthanc.location(),
                "--pacs-auth",
                auth.toString(),
                "--link-back",
                "-q");
        assertEquals(0, r.code(), r.toString());
        try (VectorStore idx = Stores.open(linked, false)) {
            Map<String, IndexedImage> byInstance = new HashMap<>();
            for (IndexedImage img : images(idx)) {
                byInstance.put(img.metadata().get("instance_uid"), img);
            }
            assertEquals(onDisk.keySet(), byInstance.keySet(), "each image carries its own SOP Instance UID");
            for (Map.Entry<String, Path> e : onDisk.entrySet()) {
                DicomFile d = DicomFile.parse(Files.readAllBytes(e.getValue()), ReadLimits.DEFAULT);
                Map<String, String> meta = byInstance.get(e.getKey()).metadata();
                assertEquals(d.identifiers().studyInstanceUid(), meta.get("study_uid"));
                assertEquals(d.identifiers().seriesInstanceUid(), meta.get("series_uid"));
            }
        }
    }

    @Test
    @Order(6)
    void userMistakesAreOneLineWithStatusTwo() throws Exception {
        Path wrong = Files.writeString(work.resolve("wrong-auth"), "basic " + orthanc.user() + ":not-the-password");
        cli("index", index.toString(), "--from", orthanc.location(), "--pacs-auth", wrong.toString())
                .assertUserError("refused the credentials (HTTP 401)");
        cli("index", index.toString(), "--from", orthanc.location()).assertUserError("asks for credentials (HTTP 401)");
        cli("index", index.toString(), "--from", "dicomweb://user:pw@127.0.0.1:1/dicom-web")
                .assertUserError("must not carry credentials");
        cli(
                        "index",
                        index.toString(),
                        "--from",
                        orthanc.location(),
                        "--pacs-auth",
                        auth.toString(),
                        "--study-date",
                        "2024-01-01")
                .assertUserError("a study date is YYYYMMDD");
        cli(
                        "index",
                        index.toString(),
                        "--from",
                        orthanc.location(),
                        "--pacs-auth",
                        auth.toString(),
                        "--pacs-trust",
                        auth.toString())
                .assertUserError("--pacs-trust is for dicomwebs://");
        // a web server that is not a PACS
        HttpServer web = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        web.createContext("/", ex -> {
            byte[] page = "<html><body>Intranet</body></html>".getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().add("Content-Type", "text/html");
            ex.sendResponseHeaders(200, page.length);
            ex.getResponseBody().write(page);
            ex.close();
        });
        web.start();
        try {
            cli(
                            "index",
                            index.toString(),
                            "--from",
                            "dicomweb://127.0.0.1:" + web.getAddress().getPort() + "/dicom-web")
                    .assertUserError("does not answer as a DICOMweb service");
        } finally {
            web.stop(0);
        }
    }

    @Test
    @Order(7)
    void aStoppedPacsIsOneLineAndTheIndexIsUntouched() throws Exception {
        int before;
        try (VectorStore idx = Stores.open(index, false)) {
            before = idx.size();
        }
        orthanc.stop();
        try {
            CliRun r = cli(
                    "index",
                    index.toString(),
                    "--from",
                    orthanc.location(),
                    "--pacs-auth",
                    auth.toString(),
                    "--pacs-timeout",
                    "2",
                    "--pacs-retries",
                    "1");
            r.assertUserError(
                    "cannot reach the PACS at " + orthanc.location() + ": connection refused (after 2 attempts)");
        } finally {
            orthanc.restart();
        }
        try (VectorStore idx = Stores.open(index, false)) {
            assertEquals(before, idx.size());
        }
    }

    @Test
    @Order(8)
    void theSharedSamplesEveryDecodableOneIndexedAVolumeAsItsSlices() throws Exception {
        Path samples = Shared.require("samples/dicom");
        List<Path> files;
        try (Stream<Path> s = Files.walk(samples)) {
            files = s.filter(p -> p.toString().endsWith(".dcm")).sorted().toList();
        }
        String volumeSeries = DicomFile.parse(
                        Files.readAllBytes(samples.resolve("transfer-syntaxes/volume/brain_001.dcm")),
                        ReadLimits.DEFAULT)
                .identifiers()
                .seriesInstanceUid();
        Map<String, Path> bySop = new LinkedHashMap<>();
        List<String> secrets = new ArrayList<>(List.of(PATIENT_NAME, PATIENT_ID));
        for (Path f : files) {
            DicomFile d = DicomFile.parse(Files.readAllBytes(f), ReadLimits.DEFAULT);
            bySop.putIfAbsent(d.identifiers().sopInstanceUid(), f);
            String pid = d.identifiers().patientId();
            if (pid != null && pid.strip().length() >= 3) {
                secrets.add(pid.strip());
            }
            orthanc.upload(f);
        }
        Path shared = work.resolve("shared-index");
        CliRun r = cli("index", shared.toString(), "--from", orthanc.location(), "--pacs-auth", auth.toString(), "-q");
        assertEquals(0, r.code(), r.toString());
        org.medsearch.dataset.PatientKeys keys =
                org.medsearch.dataset.PatientKeys.loadOrCreate(org.medsearch.dataset.PatientKeys.saltFile(shared));
        ImageReaders readers = ImageReaders.standard();
        try (VectorStore idx = Stores.open(shared, false)) {
            List<IndexedImage> all = images(idx);
            assertEquals(
                    5,
                    all.stream().filter(i -> i.path().contains("/series/")).count(),
                    "the 20-slice brain MR series is one volume, given as its 5 middle slices: " + r.out());
            int checked = 0;
            for (Map.Entry<String, Path> e : bySop.entrySet()) {
                DicomFile d = DicomFile.parse(Files.readAllBytes(e.getValue()), ReadLimits.DEFAULT);
                if (volumeSeries.equals(d.identifiers().seriesInstanceUid())) {
                    continue; // part of the volume
                }
                boolean decodes;
                try {
                    readers.read(e.getValue());
                    decodes = true;
                } catch (IOException ex) {
                    decodes = false;
                }
                String path = orthanc.location() + "/instances/" + keys.key("sop:" + e.getKey());
                boolean indexed = all.stream().anyMatch(i -> i.path().equals(path));
                assertEquals(decodes, indexed, e.getValue() + " decodes iff indexed: " + r.out());
                checked++;
            }
            assertTrue(checked >= 10, "most samples are single images: " + checked);
            for (IndexedImage img : all) {
                assertNoneStored(img, secrets);
            }
            for (String n : secrets) {
                assertFalse(r.out().contains(n) || r.err().contains(n), "no patient id in the output: " + n);
            }
        }
        // a QIDO filter: only the CT series
        Path ct = work.resolve("ct-index");
        CliRun c = cli(
                "index",
                ct.toString(),
                "--from",
                orthanc.location(),
                "--pacs-auth",
                auth.toString(),
                "--modality",
                "CT",
                "-q");
        assertEquals(0, c.code(), c.toString());
        try (VectorStore idx = Stores.open(ct, false)) {
            List<IndexedImage> all = images(idx);
            assertFalse(all.isEmpty());
            assertTrue(all.stream().allMatch(i -> "CT".equals(i.modality())), "only CT: " + all);
        }
    }

    @Test
    @Order(9)
    void overHttpsWithTheGivenTrustStoreAndRefusedWithoutIt() throws Exception {
        try (OrthancServer tls = OrthancServer.start(
                work.resolve("orthanc-tls"), OrthancServer.Options.defaults().withTls(true))) {
            tls.createSecondaryCapture(
                    TestImages.png(TestImages.pattern("disc", 64, new Random(5))), Map.of("PatientID", PATIENT_ID));
            assertTrue(tls.location().startsWith("dicomwebs://"), tls.location());
            Path tlsAuth = Files.writeString(work.resolve("tls-auth"), "basic " + tls.user() + ":" + tls.password());
            Path tlsIndex = work.resolve("tls-index");
            // the JDK's trust store does not know the archive's self-signed certificate
            cli("index", tlsIndex, "--from", tls.location(), "--pacs-auth", tlsAuth.toString())
                    .assertUserError("its certificate is not trusted");
            CliRun r = cli(
                    "index",
                    tlsIndex,
                    "--from",
                    tls.location(),
                    "--pacs-auth",
                    tlsAuth.toString(),
                    "--pacs-trust",
                    tls.certificatePem().toString());
            assertEquals(0, r.code(), r.toString());
            assertTrue(r.out().contains("1 images added"), r.out());
        }
    }

    // ---- helpers ----

    /** {@code command --model MODEL --index idx rest...} in this JVM. */
    static CliRun cli(String command, Object idx, String... rest) {
        List<String> args = new ArrayList<>(List.of(command, "--model", model.toString(), "--index", idx.toString()));
        args.addAll(List.of(rest));
        return CliRun.run(args.toArray(String[]::new));
    }

    static CliRun index(Path idx) {
        return cli("index", idx.toString(), "--from", orthanc.location(), "--pacs-auth", auth.toString());
    }

    /** Creates a Secondary Capture of {@code img} with a patient's name and id; returns its SOP Instance UID. */
    static String capture(java.awt.image.BufferedImage img, int n) throws IOException {
        String id = orthanc.createSecondaryCapture(
                TestImages.png(img),
                Map.of("PatientName", PATIENT_NAME, "PatientID", PATIENT_ID, "InstanceNumber", String.valueOf(n)));
        String uid = orthanc.instanceTags(id).get("SOPInstanceUID");
        onDisk.put(uid, Files.write(work.resolve("sop-" + n + ".dcm"), orthanc.instanceFile(id)));
        return uid;
    }

    static void deleteInstance(String sopUid) throws Exception {
        java.net.http.HttpClient c = java.net.http.HttpClient.newHttpClient();
        String body = "{\"Level\":\"Instance\",\"Query\":{\"SOPInstanceUID\":\"" + sopUid + "\"}}";
        var find = c.send(
                java.net.http.HttpRequest.newBuilder(orthanc.restBase().resolve("tools/find"))
                        .header("Authorization", orthanc.authorization())
                        .POST(java.net.http.HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        for (JsonNode id : Json.MAPPER.readTree(find.body())) {
            c.send(
                    java.net.http.HttpRequest.newBuilder(orthanc.restBase().resolve("instances/" + id.asText()))
                            .header("Authorization", orthanc.authorization())
                            .DELETE()
                            .build(),
                    java.net.http.HttpResponse.BodyHandlers.discarding());
        }
    }

    /**
     * No stored text of {@code img} is a secret, or (for secrets long enough not to occur by chance
     * in a hex key) contains one.
     */
    static void assertNoneStored(IndexedImage img, List<String> secrets) {
        List<String> stored = new ArrayList<>(java.util.Arrays.asList(
                img.path(),
                img.label(),
                img.predicted(),
                img.contentHash(),
                img.split(),
                img.modality(),
                img.patientKey(),
                img.studyKey()));
        if (img.metadata() != null) {
            stored.addAll(img.metadata().values());
        }
        for (String v : stored) {
            if (v == null) {
                continue;
            }
            for (String secret : secrets) {
                assertFalse(
                        v.equals(secret) || (secret.length() >= 8 && v.contains(secret)),
                        "stored: " + secret + " in " + v);
            }
        }
    }

    static List<IndexedImage> images(VectorStore idx) throws IOException {
        List<IndexedImage> out = new ArrayList<>();
        long next = idx.stats().nextId();
        for (long id = 0; id < next; id++) {
            idx.get(id).ifPresent(out::add);
        }
        return out;
    }

    /** Neither the patient's name or id, nor any UID of the instances, in the index or the output. */
    static void assertNoIdentifier(List<IndexedImage> all, CliRun r, java.util.Set<String> sopUids) throws IOException {
        List<String> secrets = new ArrayList<>(List.of(PATIENT_NAME, PATIENT_ID, "Doe", corruptUid));
        for (String uid : sopUids) {
            secrets.add(uid);
            DicomFile d = DicomFile.parse(Files.readAllBytes(onDisk.get(uid)), ReadLimits.DEFAULT);
            secrets.add(d.identifiers().studyInstanceUid());
            secrets.add(d.identifiers().seriesInstanceUid());
        }
        for (IndexedImage img : all) {
            assertNoneStored(img, secrets);
        }
        for (String s : secrets) {
            assertFalse(r.out().contains(s) || r.err().contains(s), "not in the output: " + s);
        }
        try (Stream<Path> files = Files.list(index)) {
            for (Path f : files.filter(p -> p.getFileName().toString().startsWith("dicomweb-ledger"))
                    .toList()) {
                String ledger = Files.readString(f);
                for (String s : secrets) {
                    assertFalse(ledger.contains(s), "not in the ledger: " + s);
                }
            }
        }
    }

    /** Sets the Rows value (0028,0010, explicit VR little endian) of a Part 10 file. */
    static byte[] withRows(byte[] dicom, int rows) {
        byte[] tag = {0x28, 0x00, 0x10, 0x00, 'U', 'S', 0x02, 0x00};
        int at = org.medsearch.dicomweb.MultipartRelated.indexOf(dicom, tag, 132);
        assertTrue(at > 0, "Rows found");
        byte[] out = dicom.clone();
        out[at + 8] = (byte) rows;
        out[at + 9] = (byte) (rows >> 8);
        return out;
    }

    static byte[] replaceAscii(byte[] bytes, String from, String to) {
        assertEquals(from.length(), to.length());
        byte[] f = from.getBytes(StandardCharsets.US_ASCII);
        byte[] t = to.getBytes(StandardCharsets.US_ASCII);
        byte[] out = bytes.clone();
        int at = 0;
        int n = 0;
        while ((at = org.medsearch.dicomweb.MultipartRelated.indexOf(out, f, at)) >= 0) {
            System.arraycopy(t, 0, out, at, t.length);
            at += t.length;
            n++;
        }
        assertTrue(n > 0);
        return out;
    }
}
