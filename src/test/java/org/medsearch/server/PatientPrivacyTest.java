package org.medsearch.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.cli.Main;
import org.medsearch.dicom.DicomFile;
import org.medsearch.dicom.InspectEntry;
import org.medsearch.image.ReadLimits;
import org.medsearch.index.LuceneIndex;
import org.medsearch.model.Embedder;
import org.medsearch.model.ModelBundle;
import org.medsearch.service.SearchService;
import org.medsearch.testutil.Shared;

/**
 * No identifying value of any sample DICOM file reaches an index, a model, a report, a log line or
 * an API response: the whole pipeline runs on the samples, then every output is searched for the
 * values themselves (read with the DICOM parser's own inspection, identifying tags only).
 */
class PatientPrivacyTest {

    @Test
    void identifyingValuesNeverLeaveTheProcess(@TempDir Path work) throws Exception {
        Path samples = Shared.require("samples/dicom");
        List<Path> dicoms;
        try (Stream<Path> s = Files.walk(samples)) {
            dicoms = s.filter(p -> p.toString().endsWith(".dcm")).sorted().toList();
        }
        Set<String> secrets = new TreeSet<>();
        for (Path f : dicoms) {
            for (InspectEntry e :
                    DicomFile.parse(Files.readAllBytes(f), ReadLimits.DEFAULT).inspect(true)) {
                if (e.identifying()
                        && e.value() != null
                        && distinctive(e.value().strip())) {
                    secrets.add(e.value().strip());
                }
            }
        }
        assertTrue(secrets.size() > 20, "the samples carry identifying values: " + secrets.size());

        // two classes of real DICOM files, the series folder among them
        Path data = work.resolve("data");
        for (Path f : dicoms) {
            String cls = f.toString().contains("transfer-syntaxes") ? "mr-series" : "various";
            Path to = data.resolve(cls).resolve(samples.relativize(f).toString().replace('/', '_'));
            Files.createDirectories(to.getParent());
            Files.copy(f, to);
        }
        Path model = work.resolve("model");
        Path index = work.resolve("index");
        Path report = work.resolve("report");
        StringBuilder logs = new StringBuilder();
        run(
                logs,
                "train",
                "--data",
                data.toString(),
                "--out",
                model.toString(),
                "--image-size",
                "32",
                "--epochs",
                "1",
                "--batch",
                "4",
                "--window",
                "brain");
        run(logs, "index", "--model", model.toString(), "--data", data.toString(), "--index", index.toString());
        run(logs, "index", "--index", index.toString(), "--stats");
        run(
                logs,
                "evaluate",
                "--model",
                model.toString(),
                "--index",
                index.toString(),
                "--data",
                data.toString(),
                "--report",
                report.toString());
        Path query = data.resolve("various").resolve("CT_small.dcm");
        run(
                logs,
                "search",
                "--model",
                model.toString(),
                "--index",
                index.toString(),
                "--scope",
                "all",
                "--k",
                "20",
                "--sheet",
                work.resolve("sheet.png").toString(),
                query.toString());
        run(logs, "inspect", query.toString());

        List<String> responses = new ArrayList<>();
        try (LuceneIndex idx = LuceneIndex.open(index, false);
                ModelBundle bundle = ModelBundle.load(model)) {
            assertEquals("brain", bundle.manifest().preprocessing().dicomWindow());
            var server = SearchServer.start(
                    ServerConfig.defaults().withPort(0), new SearchService(new Embedder(bundle), idx));
            try {
                Http http = new Http(server.port());
                for (Path f : List.of(query, data.resolve("various").resolve("MR_small.dcm"))) {
                    var r = http.search(Files.readAllBytes(f), "k", "20", "scope", "all");
                    assertEquals(200, r.statusCode(), Http.text(r));
                    responses.add(Http.text(r));
                    var hits = Http.json(r).get("results");
                    for (var h : hits) {
                        responses.add(
                                Http.text(http.get("/api/images/" + h.get("id").asLong() + "/thumbnail")));
                    }
                }
                for (String path : List.of("/api/stats", "/api/classes", "/api/health")) {
                    responses.add(Http.text(http.get(path)));
                }
            } finally {
                server.stop();
            }
        }

        List<String> leaks = new ArrayList<>();
        for (String secret : secrets) {
            if (logs.indexOf(secret) >= 0) {
                leaks.add("log: " + secret);
            }
            for (String r : responses) {
                if (r.contains(secret)) {
                    leaks.add("API response: " + secret);
                }
            }
        }
        for (Path dir : List.of(model, index, report)) {
            try (Stream<Path> s = Files.walk(dir)) {
                for (Path f : s.filter(Files::isRegularFile).toList()) {
                    String content = new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1);
                    for (String secret : secrets) {
                        if (content.contains(secret)) {
                            leaks.add(work.relativize(f) + ": " + secret);
                        }
                    }
                }
            }
        }
        assertTrue(leaks.isEmpty(), "identifying values found: " + leaks);
        assertTrue(
                logs.toString().lines().anyMatch(l -> l.contains("PatientName") && l.endsWith("<hidden>")),
                "inspect hides identifying values unless asked");
    }

    /**
     * Short or generic values ("M", "0.000000", "000000000") would match any output by chance; names,
     * ids, dates, times and UIDs are distinctive: six characters or more, with a letter, or with at
     * least three different digits.
     */
    static boolean distinctive(String v) {
        if (v.length() < 6 || v.startsWith("<")) {
            return false;
        }
        if (v.chars().anyMatch(Character::isLetter)) {
            return true;
        }
        return v.chars().filter(Character::isDigit).distinct().count() >= 3;
    }

    private static void run(StringBuilder logs, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(out), new PrintWriter(err), args);
        logs.append(out).append(err);
        assertEquals(0, code, String.join(" ", args) + "\n" + out + err);
    }
}
