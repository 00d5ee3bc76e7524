package org.medsearch.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.testutil.CliRun;
import org.medsearch.testutil.TestImages;
import org.medsearch.util.Hashing;
import org.medsearch.util.Json;

/**
 * {@code --runtime} on the command line: training leaves the fp32 graph in the bundle; index, search
 * and evaluate give the same answers on ONNX Runtime (the default) as on PyTorch
 * ({@code --runtime torch}), and an index built with one is searched with the other; a runtime that
 * does not exist, or the int8 one before {@code medsearch quantize}, is a one-line user error.
 */
class OnnxCliTest {

    @TempDir
    static Path work;

    static Path data;
    static Path model;
    static Path onnxIndex;
    static Path torchIndex;

    /** A tiny model (3 classes x 10 images of 32x32, one epoch) and an index of it on each runtime. */
    @BeforeAll
    static void trainAndIndex() throws Exception {
        data = TestImages.writeDataset(work.resolve("data"), 3, 10, 32, 23);
        model = work.resolve("model");
        onnxIndex = work.resolve("index-onnx");
        torchIndex = work.resolve("index-torch");
        CliRun train = CliRun.run(
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
                "8",
                "-q");
        assertEquals(0, train.code(), train.toString());
        CliRun onnx = CliRun.run(
                "index", "--model", model.toString(), "--data", data.toString(), "--index", onnxIndex.toString(), "-q");
        assertEquals(0, onnx.code(), onnx.toString());
        CliRun torch = CliRun.run(
                "index",
                "--model",
                model.toString(),
                "--data",
                data.toString(),
                "--index",
                torchIndex.toString(),
                "--runtime",
                "torch",
                "-q");
        assertEquals(0, torch.code(), torch.toString());
        String counts = "30 added, 0 updated, 0 unchanged, 0 skipped; 30 images in the index";
        assertTrue(onnx.out().contains(counts), onnx.out());
        assertTrue(torch.out().contains(counts), torch.out());
    }

    @Test
    void trainingLeavesTheGraphInTheBundle() throws Exception {
        Path graph = model.resolve("model.onnx");
        assertTrue(Files.isRegularFile(graph));
        JsonNode m = Json.MAPPER.readTree(model.resolve("manifest.json").toFile());
        assertEquals(Hashing.sha256Hex(graph), m.at("/graphs/onnx/sha256").asText(), m.toString());
        assertEquals(
                m.path("weightsSha256").asText(),
                m.at("/graphs/onnx/weightsSha256").asText());
    }

    @Test
    void searchGivesTheSameHitsOnEitherRuntimeAndEitherIndex() {
        String query = data.resolve("disc/img_004.png").toString();
        List<String> reference = hits(search(onnxIndex, null, query));
        assertEquals(5, reference.size() - 1, "the prediction and 5 hits: " + reference);
        assertTrue(reference.get(1).endsWith("img_004.png"), "the query itself comes first: " + reference);
        assertEquals(reference, hits(search(onnxIndex, "onnx", query)), "onnx is the default");
        assertEquals(reference, hits(search(onnxIndex, "torch", query)), "torch on the ONNX index");
        assertEquals(reference, hits(search(torchIndex, "torch", query)), "torch on the torch index");
        assertEquals(reference, hits(search(torchIndex, null, query)), "onnx on the torch index");
    }

    @Test
    void evaluateGivesTheSameFiguresOnEitherRuntime() throws Exception {
        JsonNode onnx = evaluate(onnxIndex, null, work.resolve("report-onnx"));
        JsonNode torch = evaluate(torchIndex, "torch", work.resolve("report-torch"));
        assertTrue(onnx.at("/data/testImages").asInt() > 0, onnx.toString());
        assertEquals(
                onnx.at("/data/testImages").asInt(),
                torch.at("/data/testImages").asInt());
        assertEquals(
                onnx.at("/classification/accuracy").asDouble(),
                torch.at("/classification/accuracy").asDouble(),
                onnx.at("/classification").toString());
        assertEquals(
                onnx.at("/classification/confusion").toString(),
                torch.at("/classification/confusion").toString());
        for (String scope : List.of("/retrieval/all-test~1all", "/retrieval/all-test~1predicted")) {
            assertEquals(
                    onnx.at(scope + "/queries").asInt(),
                    torch.at(scope + "/queries").asInt(),
                    scope);
            assertEquals(
                    onnx.at(scope + "/meanAveragePrecision").asDouble(),
                    torch.at(scope + "/meanAveragePrecision").asDouble(),
                    1e-9,
                    scope);
        }
    }

    @Test
    void anUnknownRuntimeIsAOneLineUserError() {
        String q = data.resolve("stripes/img_000.png").toString();
        String expected = "medsearch: --runtime: unknown runtime 'nonsense': expected onnx, onnx-int8 or torch";
        CliRun.run(
                        "index",
                        "--model",
                        model.toString(),
                        "--data",
                        data.toString(),
                        "--index",
                        work.resolve("never").toString(),
                        "--runtime",
                        "nonsense")
                .assertUserError(expected);
        assertFalse(Files.exists(work.resolve("never")), "nothing is created for a bad option");
        CliRun.run("search", "--model", model.toString(), "--index", onnxIndex.toString(), "--runtime", "nonsense", q)
                .assertUserError(expected);
        CliRun.run(
                        "evaluate",
                        "--model",
                        model.toString(),
                        "--index",
                        onnxIndex.toString(),
                        "--data",
                        data.toString(),
                        "--runtime",
                        "nonsense")
                .assertUserError(expected);
        CliRun.run(
                        "serve",
                        "--model",
                        model.toString(),
                        "--index",
                        onnxIndex.toString(),
                        "--port",
                        "0",
                        "--runtime",
                        "nonsense")
                .assertUserError(expected);
    }

    @Test
    void int8BeforeQuantizeIsAOneLineHint() {
        String q = data.resolve("stripes/img_000.png").toString();
        String hint = "make one with 'medsearch quantize --model " + model + "'";
        CliRun.run("search", "--model", model.toString(), "--index", onnxIndex.toString(), "--runtime", "onnx-int8", q)
                .assertUserError(hint);
        CliRun.run(
                        "index",
                        "--model",
                        model.toString(),
                        "--data",
                        data.toString(),
                        "--index",
                        work.resolve("never-int8").toString(),
                        "--runtime",
                        "onnx-int8")
                .assertUserError(hint);
        assertFalse(Files.exists(model.resolve("model-int8.onnx")));
    }

    @Test
    void quantizeMakesTheInt8GraphThatSearchAndEvaluateUse() throws Exception {
        Path copy = work.resolve("model-q");
        try (var files = Files.walk(model)) {
            for (Path f : files.toList()) {
                Files.copy(f, copy.resolve(model.relativize(f).toString()));
            }
        }
        CliRun q = CliRun.run("quantize", "--model", copy.toString(), "--calibration", "12", "-q");
        assertEquals(0, q.code(), q.toString());
        assertTrue(q.out().contains("calibrated on 12 training images"), q.out());
        Path int8 = copy.resolve("model-int8.onnx");
        JsonNode m = Json.MAPPER.readTree(copy.resolve("manifest.json").toFile());
        assertEquals(Hashing.sha256Hex(int8), m.at("/graphs/onnx-int8/sha256").asText(), m.toString());
        assertEquals("int8", m.at("/graphs/onnx-int8/precision").asText());
        assertEquals(12, m.at("/graphs/onnx-int8/calibration/images").asInt());
        assertEquals("train", m.at("/graphs/onnx-int8/calibration/part").asText());
        assertTrue(Files.isRegularFile(copy.resolve("model.onnx")), "the fp32 graph stays");

        String query = data.resolve("disc/img_004.png").toString();
        CliRun s = CliRun.run(
                "search",
                "--model",
                copy.toString(),
                "--index",
                onnxIndex.toString(),
                "--runtime",
                "onnx-int8",
                "--k",
                "5",
                "--exact",
                query);
        assertEquals(0, s.code(), s.toString());
        assertTrue(hits(s).get(1).endsWith("img_004.png"), "the query itself comes first: " + s.out());

        Path report = work.resolve("report-int8");
        CliRun e = CliRun.run(
                "evaluate",
                "--model",
                copy.toString(),
                "--index",
                onnxIndex.toString(),
                "--data",
                data.toString(),
                "--runtime",
                "onnx-int8",
                "--report",
                report.toString(),
                "-q");
        assertEquals(0, e.code(), e.toString());
        assertTrue(e.out().contains("onnx-int8 beside onnx (same queries, same index)"), e.out());
        JsonNode r = Json.MAPPER.readTree(report.resolve("evaluation.json").toFile());
        assertEquals("onnx-int8", r.path("runtime").asText());
        assertEquals("onnx", r.at("/comparison/reference").asText());
        assertEquals(
                r.at("/classification/accuracy").asDouble(),
                r.at("/comparison/accuracy").asDouble(),
                1e-12,
                "the comparison's int8 side is the run itself");
        assertTrue(
                r.at("/comparison/relativeFeatureError").asDouble() < 0.2,
                r.at("/comparison").toString());
        assertTrue(Files.readString(report.resolve("evaluation.html")).contains("onnx-int8 beside onnx"));

        byte[] bytes = Files.readAllBytes(int8);
        bytes[bytes.length / 2] ^= 0x5A;
        Files.write(int8, bytes);
        CliRun.run(
                        "search",
                        "--model",
                        copy.toString(),
                        "--index",
                        onnxIndex.toString(),
                        "--runtime",
                        "onnx-int8",
                        query)
                .assertUserError("make it again with 'medsearch quantize'");
        CliRun.run("quantize", "--model", copy.toString(), "--calibration", "0")
                .assertUserError("--calibration must be between 1 and 100000 images, not 0");
    }

    // ---------------------------------------------------------------------------------------------

    /** {@code search --k 5} of {@code query}; {@code runtime} null: the default. */
    static CliRun search(Path index, String runtime, String query) {
        List<String> args = new java.util.ArrayList<>(
                List.of("search", "--model", model.toString(), "--index", index.toString(), "--k", "5", "--exact"));
        if (runtime != null) {
            args.addAll(List.of("--runtime", runtime));
        }
        args.add(query);
        CliRun r = CliRun.run(args.toArray(String[]::new));
        assertEquals(0, r.code(), r.toString());
        assertEquals("", r.err());
        return r;
    }

    /**
     * The predicted class, then each hit's rank, id, class and path: not the distances, which the two
     * runtimes compute to about 1e-6, nor the timings.
     */
    static List<String> hits(CliRun r) {
        return r.out()
                .lines()
                .filter(l -> l.matches("\\s+\\d+\\s+\\S+\\s+\\d+\\s+.*") || l.contains("predicted:"))
                .map(l -> {
                    if (l.contains("predicted:")) {
                        return l.substring(l.indexOf("predicted:"), l.indexOf(" (p = "));
                    }
                    String[] cols = l.trim().split("\\s+");
                    return cols[0] + " " + cols[2] + " " + cols[3] + " " + cols[4];
                })
                .toList();
    }

    static JsonNode evaluate(Path index, String runtime, Path report) throws Exception {
        List<String> args = new java.util.ArrayList<>(List.of(
                "evaluate",
                "--model",
                model.toString(),
                "--index",
                index.toString(),
                "--data",
                data.toString(),
                "--report",
                report.toString(),
                "-q"));
        if (runtime != null) {
            args.addAll(List.of("--runtime", runtime));
        }
        CliRun r = CliRun.run(args.toArray(String[]::new));
        assertEquals(0, r.code(), r.toString());
        return Json.MAPPER.readTree(report.resolve("evaluation.json").toFile());
    }
}
