package org.medsearch.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.testutil.CliRun;
import org.medsearch.testutil.TestImages;
import org.medsearch.util.Json;

/** The command line end to end, in process, on images the test writes itself. */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class CliTest {

    @TempDir
    static Path work;

    static Path data;
    static Path model;
    static Path index;

    static CliRun run(String... args) {
        return CliRun.run(args);
    }

    static void assertUserError(CliRun r, String expected) {
        r.assertUserError(expected);
    }

    @BeforeAll
    static void setUp() throws Exception {
        data = TestImages.writeDataset(work.resolve("data"), 3, 50, 64, 11);
        model = work.resolve("model");
        index = work.resolve("index");
    }

    @Test
    @Order(1)
    void train() {
        CliRun r = run(
                "train",
                "--data",
                data.toString(),
                "--out",
                model.toString(),
                "--image-size",
                "64",
                "--epochs",
                "2",
                "--batch",
                "16",
                "--quiet");
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().contains("Data: 150 usable images in 3 classes"), r.out());
        assertTrue(r.out().contains("Model written to " + model), r.out());
        assertTrue(Files.exists(model.resolve("manifest.json")));
        assertTrue(Files.exists(model.resolve("split.csv")));
    }

    @Test
    @Order(2)
    void indexThenReindexIsIncremental() {
        CliRun r =
                run("index", "--model", model.toString(), "--data", data.toString(), "--index", index.toString(), "-q");
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().contains("150 added, 0 updated, 0 unchanged"), r.out());
        CliRun again =
                run("index", "--model", model.toString(), "--data", data.toString(), "--index", index.toString(), "-q");
        assertEquals(0, again.code(), again.toString());
        assertTrue(again.out().contains("0 added, 0 updated, 150 unchanged"), again.out());
    }

    @Test
    @Order(3)
    void searchPrintsTopKAndWritesASheet() throws Exception {
        Path query = data.resolve("disc/img_007.png");
        Path sheet = work.resolve("sheet.png");
        CliRun r = run(
                "search",
                "--model",
                model.toString(),
                "--index",
                index.toString(),
                "--k",
                "5",
                "--sheet",
                sheet.toString(),
                query.toString());
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().contains("predicted: disc (p = "), r.out());
        assertTrue(r.out().contains("     5  "), r.out());
        assertFalse(r.out().contains("     6  "), r.out());
        // the query itself is indexed: it comes first, at distance 0 up to float rounding (the index embedded
        // it in a batch of 64, the query alone, and oneDNN picks other kernels for other batch sizes)
        String first = r.out()
                .lines()
                .filter(l -> l.matches("\\s+1\\s+.*"))
                .findFirst()
                .orElseThrow();
        String[] cols = first.trim().split("\\s+");
        assertTrue(Double.parseDouble(cols[1]) < 1e-6, first);
        assertEquals("disc", cols[3]);
        assertTrue(cols[4].endsWith("img_007.png"), first);
        assertNotNull(ImageIO.read(sheet.toFile()));
    }

    @Test
    @Order(4)
    void evaluateWritesReports() throws Exception {
        Path report = work.resolve("report");
        CliRun r = run(
                "evaluate",
                "--model",
                model.toString(),
                "--index",
                index.toString(),
                "--data",
                data.toString(),
                "--report",
                report.toString(),
                "-q");
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().contains("Accuracy: "), r.out());
        JsonNode j = Json.MAPPER.readTree(report.resolve("evaluation.json").toFile());
        assertEquals("medsearch-evaluation/1", j.get("format").asText());
        assertTrue(
                j.at("/classification/accuracy").asDouble() >= 0.8,
                j.at("/classification").toString());
        assertEquals(15, j.at("/retrieval/paper~1predicted/queries").asInt());
        assertEquals(5 * 3, j.at("/retrieval/paper~1all/queryIds").size());
        assertTrue(j.at("/retrieval/all-test~1predicted/meanAveragePrecision").asDouble() > 0.5);
        assertEquals(
                j.at("/data/testImages").asInt(),
                j.at("/retrieval/all-test~1all/queries").asInt());
        String html = Files.readString(report.resolve("evaluation.html"));
        assertTrue(html.contains("Ayyachamy et al. 2019") && html.contains("data:image/png;base64,"), "html report");
        for (String png : new String[] {"confusion-matrix.png", "per-class.png", "precision-at-k.png"}) {
            assertNotNull(ImageIO.read(report.resolve(png).toFile()), png);
        }
    }

    @Test
    @Order(5)
    void userMistakesGiveOneLineAndExitTwo() throws Exception {
        Path q = data.resolve("disc/img_001.png");
        assertUserError(
                run(
                        "search",
                        "--model",
                        work.resolve("no-model").toString(),
                        "--index",
                        index.toString(),
                        q.toString()),
                "medsearch: model not found: ");
        assertUserError(
                run(
                        "search",
                        "--model",
                        model.toString(),
                        "--index",
                        work.resolve("no-index").toString(),
                        q.toString()),
                "medsearch: index not found: ");
        Path text = Files.writeString(work.resolve("query.png"), "I am not an image");
        CliRun notImage = run("search", "--model", model.toString(), "--index", index.toString(), text.toString());
        assertEquals(2, notImage.code());
        assertTrue(
                notImage.err().contains("query.png: not an image medsearch can read (looks like text)"),
                notImage.err());
        assertUserError(
                run(
                        "train",
                        "--data",
                        work.resolve("nothing-here").toString(),
                        "--out",
                        work.resolve("m2").toString()),
                "medsearch: data set not found");
        assertUserError(
                run("search", "--model", model.toString(), "--index", index.toString(), "--k", "0", q.toString()),
                "k must be between 1 and 1000");
        assertUserError(
                run("search", "--model", model.toString(), "--index", index.toString(), "--fetch", "0", q.toString()),
                "--fetch must be between 1 and 10000, not 0");
        Path bad = work.resolve("bad-data");
        TestImages.writeDataset(bad, 2, 3, 32, 1);
        Files.createDirectories(bad.resolve("broken"));
        Files.write(bad.resolve("broken/a.png"), new byte[0]);
        assertUserError(
                run(
                        "train",
                        "--data",
                        bad.toString(),
                        "--out",
                        work.resolve("m3").toString()),
                "class 'broken' has no usable image");
        CliRun unknown = run("search", "--nope");
        assertEquals(2, unknown.code());
    }

    @Test
    @Order(6)
    void indexRefusesVectorsOfAnotherModel() throws Exception {
        Path other = work.resolve("other-model");
        assertEquals(
                0,
                run(
                                "train",
                                "--data",
                                data.toString(),
                                "--out",
                                other.toString(),
                                "--image-size",
                                "32",
                                "--epochs",
                                "1",
                                "--batch",
                                "16",
                                "--seed",
                                "2",
                                "-q")
                        .code());
        assertUserError(
                run("index", "--model", other.toString(), "--data", data.toString(), "--index", index.toString(), "-q"),
                "holds vectors of another model");
        assertUserError(
                run(
                        "search",
                        "--model",
                        other.toString(),
                        "--index",
                        index.toString(),
                        data.resolve("disc/img_001.png").toString()),
                "was built with model");
    }

    @Test
    @Order(7)
    void helpOnEveryCommand() {
        for (String c : new String[] {"train", "index", "search", "evaluate", "demo", "bench"}) {
            CliRun r = run(c, "--help");
            assertEquals(0, r.code(), c);
            assertTrue(r.out().contains("Usage: medsearch " + c), r.out());
        }
    }

    @Test
    @Order(8)
    void statsAndCheck() {
        CliRun stats = run("index", "--index", index.toString(), "--stats");
        assertEquals(0, stats.code(), stats.toString());
        assertTrue(stats.out().contains("images            150"), stats.out());
        assertTrue(stats.out().contains("vector format     hnsw-float32 (M=16, beam=100)"), stats.out());
        assertTrue(stats.out().contains("HNSW graph") && stats.out().contains("vectors (float32)"), stats.out());
        assertTrue(stats.out().matches("(?s).*  disc\\s+50\\n.*"), stats.out());
        CliRun check = run("index", "--index", index.toString(), "--check");
        assertEquals(0, check.code(), check.toString());
        assertTrue(check.out().contains("is consistent: 150 images"), check.out());
    }

    @Test
    @Order(9)
    void reindexingFollowsChangesAndPrunes() throws Exception {
        Path copy = work.resolve("data-copy");
        org.apache.commons.io.FileUtils.copyDirectory(data.toFile(), copy.toFile());
        Path idx = work.resolve("index-incremental");
        assertEquals(
                0,
                run("index", "--model", model.toString(), "--data", copy.toString(), "--index", idx.toString(), "-q")
                        .code());
        java.util.Random r = new java.util.Random(99);
        Files.write(copy.resolve("disc/img_000.png"), TestImages.png(TestImages.pattern("disc", 64, r)));
        Files.write(copy.resolve("disc/new.png"), TestImages.png(TestImages.pattern("disc", 64, r)));
        Files.delete(copy.resolve("stripes/img_003.png"));
        CliRun again = run(
                "index",
                "--model",
                model.toString(),
                "--data",
                copy.toString(),
                "--index",
                idx.toString(),
                "--prune",
                "-q");
        assertEquals(0, again.code(), again.toString());
        assertTrue(again.out().contains("1 added, 1 updated, 148 unchanged, 1 removed"), again.out());
        assertTrue(again.out().contains("150 images in the index"), again.out());

        CliRun del = run(
                "delete",
                "--index",
                idx.toString(),
                "--path",
                copy.resolve("disc/new.png").toString(),
                "0");
        assertEquals(0, del.code(), del.toString());
        assertTrue(del.out().contains("Removed 2 images; 148 remain"), del.out());
        CliRun missing = run("delete", "--index", idx.toString(), "999999");
        assertEquals(2, missing.code());
        assertTrue(missing.out().contains("no image with id 999999"), missing.out());
        assertEquals(0, run("index", "--index", idx.toString(), "--check").code());
    }

    @Test
    @Order(10)
    void metadataFiltersAndPatientPrivacy() throws Exception {
        StringBuilder csv = new StringBuilder("path,label,patient_id,modality\n");
        for (String cls : new String[] {"disc", "stripes", "columns"}) {
            for (int i = 0; i < 50; i++) {
                csv.append(String.format(
                        "data/%s/img_%03d.png,%s,PAT-SECRET-%d,%s%n", cls, i, cls, i % 5, i % 2 == 0 ? "CT" : "MR"));
            }
        }
        Path manifest = Files.writeString(work.resolve("manifest.csv"), csv);
        Path idx = work.resolve("index-meta");
        CliRun built = run(
                "index", "--model", model.toString(), "--data", manifest.toString(), "--index", idx.toString(), "-q");
        assertEquals(0, built.code(), built.toString());
        Path q = data.resolve("disc/img_010.png");

        CliRun ct = run(
                "search",
                "--model",
                model.toString(),
                "--index",
                idx.toString(),
                "--k",
                "20",
                "--scope",
                "all",
                "--filter",
                "modality=CT",
                q.toString());
        assertEquals(0, ct.code(), ct.toString());
        // even image numbers are CT
        assertTrue(
                resultPaths(ct).stream()
                        .allMatch(p -> Integer.parseInt(p.replaceAll(".*img_(\\d+).png", "$1")) % 2 == 0),
                ct.out());
        CliRun one = run(
                "search",
                "--model",
                model.toString(),
                "--index",
                idx.toString(),
                "--k",
                "50",
                "--scope",
                "all",
                "--filter",
                "patient=PAT-SECRET-3",
                q.toString());
        List<String> ofThree = resultPaths(one);
        assertEquals(30, ofThree.size(), one.out());
        assertTrue(ofThree.stream().allMatch(p -> Integer.parseInt(p.replaceAll(".*img_(\\d+).png", "$1")) % 5 == 3));
        CliRun without = run(
                "search",
                "--model",
                model.toString(),
                "--index",
                idx.toString(),
                "--k",
                "200",
                "--scope",
                "all",
                "--exclude-patient",
                "PAT-SECRET-3",
                q.toString());
        assertEquals(120, resultPaths(without).size(), without.out());

        // the raw identifiers are nowhere in the index's files
        try (var files = Files.walk(idx)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                String content = new String(Files.readAllBytes(f), java.nio.charset.StandardCharsets.ISO_8859_1);
                assertFalse(content.contains("PAT-SECRET"), "raw patient id in " + f);
            }
        }
    }

    static List<String> resultPaths(CliRun r) {
        return r.out()
                .lines()
                .filter(l -> l.matches("\\s+\\d+\\s+\\S+\\s+\\d+\\s+\\S+\\s+/.*"))
                .map(l -> l.trim().split("\\s+")[4])
                .toList();
    }
}
