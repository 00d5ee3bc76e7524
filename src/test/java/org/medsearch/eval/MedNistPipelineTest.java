package org.medsearch.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.dataset.Dataset;
import org.medsearch.dataset.DatasetScanner;
import org.medsearch.dataset.Split;
import org.medsearch.dataset.SplitRatios;
import org.medsearch.image.ImageReaders;
import org.medsearch.index.IndexInfo;
import org.medsearch.index.LuceneIndex;
import org.medsearch.model.Embedder;
import org.medsearch.model.ModelBundle;
import org.medsearch.model.ResNet18;
import org.medsearch.model.Trainer;
import org.medsearch.model.TrainingRecipe;
import org.medsearch.service.EvaluationJob;
import org.medsearch.service.IndexingJob;
import org.medsearch.service.SearchService;
import org.medsearch.testutil.Shared;
import org.medsearch.util.Progress;

/**
 * The whole pipeline on a small sample of real MedNIST images (150 per class): train 2 epochs at
 * 64x64, index the training split, evaluate on the test split. The full-size figures (all 58,954
 * images) are measured by the commands in the README, not here.
 */
class MedNistPipelineTest {

    @Test
    void learnsMedNistAndRetrievesItsClasses(@TempDir Path work) throws Exception {
        Path mednist = Shared.require("data/mednist");
        Dataset ds = new DatasetScanner(ImageReaders.standard())
                .optLimitPerClass(150, 1)
                .scan(mednist);
        assertEquals(900, ds.size());
        Split split = Split.stratified(ds, SplitRatios.DEFAULT, 1);
        TrainingRecipe recipe = new TrainingRecipe(64, 2, 0.001, 3, 0.1, 32, 0.9, 0, 1);
        new Trainer(ImageReaders.standard(), Progress.NONE, l -> {})
                .train(ds, split, recipe, null, "scratch", work.resolve("model"), false);
        try (ModelBundle bundle = ModelBundle.load(work.resolve("model"));
                LuceneIndex index = LuceneIndex.create(
                        work.resolve("index"),
                        new IndexInfo(
                                LuceneIndex.FORMAT,
                                bundle.fingerprint(),
                                bundle.classes(),
                                ResNet18.FEATURE_DIM,
                                "test"))) {
            Embedder embedder = new Embedder(bundle);
            new IndexingJob(embedder, ImageReaders.standard(), Progress.NONE, l -> {})
                    .index(ds, index, IndexingJob.Options.defaults().withSplit(split, EnumSet.of(Split.Part.TRAIN)));
            assertEquals(split.counts().get(Split.Part.TRAIN), index.size());
            assertEquals(java.util.Map.of("train", index.size()), index.countsPerSplit());
            EvaluationReport r = new EvaluationJob(
                            new SearchService(embedder, index), ImageReaders.standard(), Progress.NONE)
                    .run(ds, split, EvaluationJob.Options.defaults());
            assertTrue(
                    r.classification().accuracy() >= 0.95,
                    "accuracy " + r.classification().accuracy());
            for (String key : List.of("paper/predicted", "paper/all")) {
                EvaluationReport.Protocol p = r.retrieval().get(key);
                assertEquals(30, p.queries());
                assertTrue(p.meanAveragePrecision() >= 0.9, key + " mAP@10 " + p.meanAveragePrecision());
            }
            assertEquals("The index holds no test image", r.index().note());
        }
    }
}
