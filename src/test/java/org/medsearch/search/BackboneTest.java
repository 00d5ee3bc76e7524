package org.medsearch.search;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.cli.Main;
import org.medsearch.dataset.Dataset;
import org.medsearch.dataset.DatasetScanner;
import org.medsearch.dataset.Split;
import org.medsearch.dataset.SplitRatios;
import org.medsearch.eval.EvaluationReport;
import org.medsearch.image.ImageReaders;
import org.medsearch.index.IndexInfo;
import org.medsearch.index.LuceneIndex;
import org.medsearch.index.VectorFormat;
import org.medsearch.model.Embedder;
import org.medsearch.model.ModelBundle;
import org.medsearch.model.ResNet18;
import org.medsearch.service.EvaluationJob;
import org.medsearch.service.IndexingJob;
import org.medsearch.service.SearchService;
import org.medsearch.testutil.Shared;
import org.medsearch.testutil.TestImages;
import org.medsearch.util.MedsearchException;
import org.medsearch.util.Progress;

/**
 * The zero-label baseline: a bare backbone indexes and searches without a classifier. The
 * conformance fixture's weights stand in for the ImageNet ones, which cannot be had offline.
 */
class BackboneTest {

    @Test
    void bareBackboneIndexesSearchesAllAndRefusesThePredictedScope(@TempDir Path work) throws Exception {
        Path weights = Shared.require("conformance/resnet18/resnet18.pth");
        Path data = TestImages.writeDataset(work.resolve("data"), 3, 20, 64, 4);
        Dataset ds = new DatasetScanner(ImageReaders.standard()).scan(data);
        try (ModelBundle bundle = ModelBundle.imagenetBackbone(weights, 64)) {
            assertFalse(bundle.hasClassifier());
            IndexInfo info = new IndexInfo(
                    LuceneIndex.FORMAT,
                    bundle.fingerprint(),
                    bundle.classes(),
                    ResNet18.FEATURE_DIM,
                    "test",
                    VectorFormat.FLOAT32,
                    64);
            try (LuceneIndex index = LuceneIndex.create(work.resolve("index"), info)) {
                Embedder embedder = new Embedder(bundle);
                new IndexingJob(embedder, ImageReaders.standard(), Progress.NONE, l -> {})
                        .index(ds, index, IndexingJob.Options.defaults());
                assertEquals(60, index.size());
                SearchService r = new SearchService(embedder, index);
                var query = ImageReaders.standard().read(data.resolve("disc/img_003.png"));
                SearchResult all = r.search(query, SearchRequest.of(5, Scope.ALL));
                assertEquals(5, all.hits().size());
                assertEquals(null, all.predictedClass());
                assertTrue(all.hits().get(0).image().path().endsWith("img_003.png"));
                MedsearchException e = assertThrows(
                        MedsearchException.class, () -> r.search(query, SearchRequest.of(5, Scope.PREDICTED)));
                assertTrue(e.getMessage().contains("predicted-class scope is unavailable: use the scope 'all'"));

                Split split = Split.stratified(ds, SplitRatios.DEFAULT, 1);
                EvaluationReport rep = new EvaluationJob(r, ImageReaders.standard(), Progress.NONE)
                        .run(ds, split, EvaluationJob.Options.defaults());
                assertTrue(Double.isNaN(rep.classification().accuracy()));
                assertEquals(
                        java.util.Set.of("paper/all", "all-test/all"),
                        rep.retrieval().keySet());
            }
        }
    }

    @Test
    void imagenetModelWithABadCachedFileIsRefusedByTheCli(@TempDir Path cache) throws Exception {
        Files.createDirectories(cache.resolve("weights"));
        Files.writeString(cache.resolve("weights/resnet18-f37072fd.pth"), "not the weights");
        String old = System.getProperty("medsearch.cache");
        System.setProperty("medsearch.cache", cache.toString());
        try {
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            int code = Main.run(
                    new PrintWriter(out),
                    new PrintWriter(err),
                    "index",
                    "--model",
                    "imagenet",
                    "--data",
                    cache.toString(),
                    "--index",
                    cache.resolve("idx").toString(),
                    "-q");
            assertEquals(2, code, err.toString());
            assertTrue(
                    err.toString().contains("ImageNet weights unavailable")
                            && err.toString().contains("exists but its SHA-256 is"),
                    err.toString());
        } finally {
            if (old == null) {
                System.clearProperty("medsearch.cache");
            } else {
                System.setProperty("medsearch.cache", old);
            }
        }
    }
}
