package org.medsearch.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.dataset.Dataset;
import org.medsearch.dataset.DatasetScanner;
import org.medsearch.dataset.Sample;
import org.medsearch.dataset.ScanReport;
import org.medsearch.dataset.Split;
import org.medsearch.dataset.SplitRatios;
import org.medsearch.eval.EvaluationReport;
import org.medsearch.eval.ReportWriter;
import org.medsearch.image.ImageReaders;
import org.medsearch.index.IndexInfo;
import org.medsearch.index.LuceneIndex;
import org.medsearch.testutil.StubBackend;
import org.medsearch.testutil.TestImages;
import org.medsearch.util.Progress;

/**
 * A data quirk (issue 12, item 6): the same bytes filed under two labels. The scan names both files;
 * the evaluation leaves them out of its queries and says how many; and it reports every scope the
 * model serves and the neighbour vote's accuracy.
 */
class LabelConflictTest {

    static final String COPY = "columns/copy_of_stripes_001.png";

    /** 3 classes x 4 images, all in the test part, plus a byte-identical copy of a stripes image under columns. */
    static Dataset data(Path dir) throws Exception {
        Path root = TestImages.writeDataset(dir.resolve("data"), 3, 4, 32, 5);
        Files.copy(root.resolve("stripes/img_001.png"), root.resolve(COPY));
        return new DatasetScanner(ImageReaders.standard()).scan(root);
    }

    static Split allTest(Dataset ds, Path dir) throws Exception {
        List<String> rows = new ArrayList<>(List.of("path,label,split,group,sha256"));
        int g = 0;
        for (Sample s : ds.samples()) {
            rows.add(s.relativePath() + "," + s.label() + ",test," + g++ + "," + s.contentHash());
        }
        return Split.read(Files.write(dir.resolve("split.csv"), rows), 1, SplitRatios.DEFAULT);
    }

    @Test
    void theScanNamesBothFilesOfAConflict(@TempDir Path dir) throws Exception {
        ScanReport r = data(dir).report();
        assertEquals(1, r.labelConflicts().size());
        ScanReport.LabelConflict c = r.labelConflicts().get(0);
        assertEquals(List.of(COPY, "stripes/img_001.png"), c.relativePaths());
        assertEquals(List.of("columns", "stripes"), c.labels());
        String summary = r.summary(10);
        assertTrue(summary.contains(COPY) && summary.contains("stripes/img_001.png"), summary);
        assertTrue(summary.contains("conflicting labels"), summary);
        assertEquals(13, r.usable(), "conflicting images stay usable");
    }

    @Test
    void aDataSetWithoutConflictsSaysNothingOfThem(@TempDir Path dir) throws Exception {
        Path root = TestImages.writeDataset(dir.resolve("data"), 2, 3, 32, 5);
        ScanReport r = new DatasetScanner(ImageReaders.standard()).scan(root).report();
        assertTrue(r.labelConflicts().isEmpty());
        assertEquals("", r.conflictSummary(10));
        assertFalse(r.summary(10).contains("conflicting"));
    }

    @Test
    void theEvaluationLeavesConflictsOutAndReportsEveryScopeAndTheVote(@TempDir Path dir) throws Exception {
        Dataset ds = data(dir);
        Split split = allTest(ds, dir);
        List<String> classes = List.of("stripes", "columns", "disc");
        try (StubBackend plain = StubBackend.of(classes, Double.NaN);
                StubBackend calibrated = StubBackend.of(classes, 0.5);
                LuceneIndex index = LuceneIndex.create(
                        dir.resolve("index"),
                        new IndexInfo(LuceneIndex.FORMAT, plain.fingerprint(), classes, StubBackend.DIM, "test"))) {
            new IndexingJob(plain, plain.readers(), Progress.NONE, line -> {})
                    .index(ds, index, IndexingJob.Options.defaults());
            EvaluationJob.Options opts = new EvaluationJob.Options(3, 5, 2, 1, 1);

            EvaluationReport r = new EvaluationJob(new SearchService(plain, index), plain.readers(), Progress.NONE)
                    .run(ds, split, opts);
            assertEquals(2, r.data().labelConflictsLeftOut());
            assertEquals(1, r.data().labelConflicts());
            assertEquals(11, r.data().testImages(), "13 test images less the two copies");
            for (EvaluationReport.Protocol p : r.retrieval().values()) {
                if (p.queryIds() != null) {
                    assertFalse(
                            p.queryIds().contains(COPY) || p.queryIds().contains("stripes/img_001.png"), p.toString());
                }
                assertTrue(p.queries() <= 11);
            }
            assertEquals(
                    List.of(
                            "paper/predicted",
                            "paper/all",
                            "paper/top:2",
                            "all-test/predicted",
                            "all-test/all",
                            "all-test/top:2"),
                    List.copyOf(r.retrieval().keySet()),
                    "no auto without a threshold; top:2 with three classes");
            double vote = r.classification().voteAccuracy();
            assertTrue(vote >= 0 && vote <= 1, "vote accuracy " + vote);
            assertEquals(3, r.classification().voteK());

            EvaluationReport withAuto = new EvaluationJob(
                            new SearchService(calibrated, index), calibrated.readers(), Progress.NONE)
                    .run(ds, split, opts);
            assertTrue(withAuto.retrieval().keySet().containsAll(Set.of("paper/auto", "all-test/auto")));
            assertEquals("auto", withAuto.retrieval().get("all-test/auto").scope());

            Path html = ReportWriter.write(withAuto, dir.resolve("report"));
            String page = Files.readString(html);
            assertTrue(page.contains("neighbour vote accuracy"), "the HTML shows the vote");
            assertTrue(page.contains("2 left out"), "the HTML says how many were left out");
            String json = Files.readString(dir.resolve("report/evaluation.json"));
            assertTrue(json.contains("\"voteAccuracy\"") && json.contains("\"labelConflictsLeftOut\" : 2"), json);
        }
    }

    /** BUSI's README names one pair: benign (433) and malignant (145) have identical pixels. */
    @Test
    void theScanOfBusiNamesItsConflictingPair() throws Exception {
        Path busi = org.medsearch.testutil.Shared.require("data/busi");
        Dataset ds =
                new DatasetScanner(ImageReaders.standard()).optDecode(false).scan(busi);
        assertEquals(780, ds.size());
        List<ScanReport.LabelConflict> conflicts = ds.report().labelConflicts();
        assertEquals(1, conflicts.size(), conflicts.toString());
        assertEquals(
                List.of("benign/benign (433).png", "malignant/malignant (145).png"),
                conflicts.get(0).relativePaths().stream().sorted().toList());
        assertTrue(
                ds.report().summary(10).contains("benign/benign (433).png"),
                ds.report().summary(10));
    }
}
