package org.medsearch.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.dataset.Split;
import org.medsearch.dataset.SplitRatios;
import org.medsearch.eval.CrossValidationReport;
import org.medsearch.model.ModelBundle;
import org.medsearch.model.ModelManifest;
import org.medsearch.testutil.CliRun;
import org.medsearch.testutil.TestImages;
import org.medsearch.util.Json;

/** {@code medsearch cv} end to end on images the test writes: 3 folds, one epoch each. */
class CvCommandTest {

    @Test
    void crossValidatesWritesOneReportAndContinuesWhereItStopped(@TempDir Path work) throws Exception {
        Path data = TestImages.writeDataset(work.resolve("data"), 3, 24, 64, 5);
        Path out = work.resolve("cv");
        String[] args = {
            "cv",
            "--data",
            data.toString(),
            "--out",
            out.toString(),
            "--folds",
            "3",
            "--image-size",
            "32",
            "--epochs",
            "1",
            "--batch",
            "8",
            "-q"
        };
        CliRun r = CliRun.run(args);
        assertEquals(0, r.code(), r.toString());
        CrossValidationReport rep = Json.read(out.resolve("cv.json"), CrossValidationReport.class);
        assertEquals(3, rep.folds());
        assertEquals(3, rep.perFold().size());
        assertTrue(Files.isRegularFile(out.resolve("cv.html")));

        // every image is tested in exactly one fold, and the test images were never trained on or indexed
        Set<String> tested = new HashSet<>();
        for (int f = 1; f <= 3; f++) {
            Path model = out.resolve("fold-" + f).resolve("model");
            ModelManifest m = ModelBundle.readManifest(model);
            Split s = Split.read(model.resolve(ModelBundle.SPLIT), 1, SplitRatios.DEFAULT);
            s.entries().values().stream()
                    .filter(e -> e.part() == Split.Part.TEST)
                    .forEach(e -> assertTrue(tested.add(e.relativePath()), "tested twice: " + e));
            CrossValidationReport.Fold fold = rep.perFold().get(f - 1);
            assertEquals(s.counts().get(Split.Part.TEST), fold.counts().get("test"));
            assertEquals(m.retrieval().autoThreshold(), fold.autoThreshold());
            assertTrue(Files.isRegularFile(
                    out.resolve("fold-" + f).resolve("evaluation").resolve("evaluation.json")));
            assertTrue(fold.metrics().containsKey("accuracy"), fold.metrics().toString());
            assertTrue(
                    fold.metrics().containsKey("mAP@10 all-test/all"),
                    fold.metrics().toString());
        }
        assertEquals(72, tested.size());

        // the summary is the mean and sample sd of the folds' figures
        List<Double> acc =
                rep.perFold().stream().map(f -> f.metrics().get("accuracy")).toList();
        double mean = acc.stream().mapToDouble(Double::doubleValue).average().orElseThrow();
        double var = acc.stream().mapToDouble(a -> (a - mean) * (a - mean)).sum() / 2;
        assertEquals(mean, rep.summary().get("accuracy").mean(), 1e-12);
        assertEquals(Math.sqrt(var), rep.summary().get("accuracy").sd(), 1e-12);
        assertTrue(r.out().contains("accuracy"), r.out());
        String html = Files.readString(out.resolve("cv.html"));
        assertTrue(html.contains(rep.summary().get("accuracy").format()), "the HTML shows mean +/- sd");

        // started again, it reads the finished folds back instead of training them again
        CliRun again = CliRun.run(args);
        assertEquals(0, again.code(), again.toString());
        assertTrue(again.out().contains("Fold 3: done before"), again.out());
        assertEquals(
                rep.summary().get("accuracy"),
                Json.read(out.resolve("cv.json"), CrossValidationReport.class)
                        .summary()
                        .get("accuracy"));

        // other settings in the same folder are refused, not mixed in
        String[] other = args.clone();
        other[other.length - 2] = "4"; // --batch 4
        CliRun mixed = CliRun.run(other);
        mixed.assertUserError("holds a fold of another run");
    }

    @Test
    void badFoldCountIsAUserError(@TempDir Path work) {
        CliRun r = CliRun.run(
                "cv", "--data", work.toString(), "--out", work.resolve("o").toString(), "--folds", "1");
        r.assertUserError("--folds must be between 2 and 100, got 1");
    }
}
