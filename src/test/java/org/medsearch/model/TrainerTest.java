package org.medsearch.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.dataset.Dataset;
import org.medsearch.dataset.DatasetScanner;
import org.medsearch.dataset.Sample;
import org.medsearch.dataset.Split;
import org.medsearch.dataset.SplitRatios;
import org.medsearch.image.ImageReaders;
import org.medsearch.testutil.TestImages;
import org.medsearch.util.MedsearchException;
import org.medsearch.util.Progress;

/** Training on images the test writes itself (3 visual patterns, 64x64). */
class TrainerTest {

    @TempDir
    static Path data;

    static Dataset ds;
    static Split split;

    @BeforeAll
    static void writeData() throws Exception {
        TestImages.writeDataset(data, 3, 60, 64, 42);
        ds = new DatasetScanner(ImageReaders.standard()).scan(data);
        split = Split.stratified(ds, SplitRatios.DEFAULT, 1);
    }

    static TrainingRecipe recipe(int epochs, long seed) {
        return new TrainingRecipe(64, epochs, 0.001, 3, 0.1, 16, 0.9, 0.0, seed);
    }

    static Trainer trainer(List<String> log) {
        return new Trainer(ImageReaders.standard(), Progress.NONE, log::add).optWorkers(1);
    }

    @Test
    void learnsAndWritesABundleWithProvenance(@TempDir Path out) throws Exception {
        List<String> log = new ArrayList<>();
        ModelManifest m = trainer(log).train(ds, split, recipe(4, 1), null, "scratch", out, false);
        assertEquals(4, m.provenance().epochs().size());
        double bestVal =
                m.provenance().epochs().get(m.provenance().bestEpoch() - 1).valAccuracy();
        assertTrue(bestVal >= 0.9, "validation accuracy " + bestVal + "; log " + log);
        assertEquals(ds.classes(), m.classes());
        assertEquals(ds.contentHash(), m.provenance().data().sha256());
        assertEquals(split.hash(), m.provenance().split().sha256());
        assertEquals(recipe(4, 1), m.provenance().recipe());
        assertTrue(m.provenance().versions().containsKey("pytorch"));
        assertTrue(m.provenance().trainingSeconds() > 0);
        assertFalse(Files.exists(out.resolve(Trainer.CHECKPOINT_DIR)), "checkpoints are removed after success");
        // the paper's recipe keeps the best-accuracy epoch, then calibrates the scopes with it
        ModelManifest.RetrievalCalibration r = m.retrieval();
        assertEquals(split.counts().get(Split.Part.VAL), r.queries());
        assertTrue(
                r.autoThreshold() >= 0 && r.autoThreshold() <= org.medsearch.eval.ScopeCalibration.NEVER,
                "threshold " + r.autoThreshold());
        assertTrue(r.mapAuto() >= Math.max(r.mapAll(), r.mapPredicted()) - 1e-12, r.toString());
        assertTrue(m.provenance().epochs().stream().allMatch(e -> e.valMap() == null));

        // the bundle is a torchvision state dict that loads back, and its manifest guards it
        Map<String, Tensor> sd = SafeTensors.read(out.resolve(ModelBundle.WEIGHTS));
        assertEquals(122, sd.size());
        assertArrayEquals(new long[] {3, 512}, sd.get("fc.weight").shape());
        try (ModelBundle b = ModelBundle.load(out)) {
            assertEquals(m.fingerprint(), b.fingerprint());
            assertEquals(64, b.preprocessing().imageSize());
        }
        MedsearchException again = assertThrows(
                MedsearchException.class,
                () -> trainer(log).train(ds, split, recipe(4, 1), null, "scratch", out, false));
        assertTrue(again.getMessage().contains("already holds a model"), again.getMessage());

        byte[] w = Files.readAllBytes(out.resolve(ModelBundle.WEIGHTS));
        w[w.length - 1] ^= 1;
        Files.write(out.resolve(ModelBundle.WEIGHTS), w);
        MedsearchException tampered = assertThrows(MedsearchException.class, () -> ModelBundle.load(out));
        assertTrue(tampered.getMessage().contains("does not match its manifest"), tampered.getMessage());
    }

    @Test
    void sameSeedSameFirstEpochLoss(@TempDir Path a, @TempDir Path b, @TempDir Path c) throws Exception {
        double la = trainer(new ArrayList<>())
                .train(ds, split, recipe(1, 7), null, "scratch", a, false)
                .provenance()
                .epochs()
                .get(0)
                .trainLoss();
        double lb = trainer(new ArrayList<>())
                .train(ds, split, recipe(1, 7), null, "scratch", b, false)
                .provenance()
                .epochs()
                .get(0)
                .trainLoss();
        double lc = trainer(new ArrayList<>())
                .train(ds, split, recipe(1, 8), null, "scratch", c, false)
                .provenance()
                .epochs()
                .get(0)
                .trainLoss();
        assertEquals(la, lb, 1e-6, "same seed, same first-epoch loss");
        assertNotEquals(la, lc, "another seed gives another run");
    }

    @Test
    void resumeContinuesAnInterruptedRun(@TempDir Path whole, @TempDir Path interrupted) throws Exception {
        ModelManifest full = trainer(new ArrayList<>()).train(ds, split, recipe(2, 3), null, "scratch", whole, false);

        Trainer crashing = new Trainer(ImageReaders.standard(), Progress.NONE, line -> {
                    if (line.startsWith("epoch 1/2")) {
                        throw new IllegalStateException("simulated crash after epoch 1");
                    }
                })
                .optWorkers(1);
        assertThrows(
                IllegalStateException.class,
                () -> crashing.train(ds, split, recipe(2, 3), null, "scratch", interrupted, false));
        assertTrue(Files.exists(interrupted.resolve(Trainer.CHECKPOINT_DIR).resolve("state.json")));
        MedsearchException noFlag = assertThrows(
                MedsearchException.class,
                () -> trainer(new ArrayList<>()).train(ds, split, recipe(2, 3), null, "scratch", interrupted, false));
        assertTrue(noFlag.getMessage().contains("add --resume"), noFlag.getMessage());
        MedsearchException otherRecipe = assertThrows(
                MedsearchException.class,
                () -> trainer(new ArrayList<>()).train(ds, split, recipe(3, 3), null, "scratch", interrupted, true));
        assertTrue(otherRecipe.getMessage().contains("interrupted run's settings"), otherRecipe.getMessage());

        List<String> log = new ArrayList<>();
        ModelManifest resumed = trainer(log).train(ds, split, recipe(2, 3), null, "scratch", interrupted, true);
        assertTrue(log.get(0).startsWith("Resuming after epoch 1"), log.toString());
        assertEquals(2, resumed.provenance().epochs().size());
        for (int e = 0; e < 2; e++) {
            assertEquals(
                    full.provenance().epochs().get(e).trainLoss(),
                    resumed.provenance().epochs().get(e).trainLoss(),
                    1e-4,
                    "epoch " + (e + 1));
        }
    }

    @Test
    void initFromAStateDictResizesTheHead(@TempDir Path out) throws Exception {
        Map<String, Tensor> thousand;
        try (var m = Engines.newManager();
                ResNet18 net = ResNet18.create(m, 1000, 5)) {
            thousand = net.stateDict();
        }
        ModelManifest mf = trainer(new ArrayList<>()).train(ds, split, recipe(1, 1), thousand, "test-init", out, false);
        assertEquals("test-init", mf.provenance().init());
        Map<String, Tensor> sd = SafeTensors.read(out.resolve(ModelBundle.WEIGHTS));
        assertArrayEquals(new long[] {3, 512}, sd.get("fc.weight").shape());
    }

    @Test
    void strongRecipeKeepsTheBestValidationMapAndStopsWhenItStalls(@TempDir Path out) throws Exception {
        List<String> log = new ArrayList<>();
        TrainingRecipe strong = TrainingRecipe.strong().toBuilder()
                .optImageSize(64)
                .optEpochs(6)
                .optBatchSize(16)
                .optEarlyStopPatience(2)
                .optMetricLossWeight(0.5)
                .build();
        ModelManifest m = trainer(log).train(ds, split, strong, null, "scratch", out, false);
        List<ModelManifest.EpochMetrics> epochs = m.provenance().epochs();
        assertEquals(strong, m.provenance().recipe(), "every choice is in the manifest");
        // the kept epoch is the first with the highest validation mAP@10
        double best = epochs.stream()
                .mapToDouble(ModelManifest.EpochMetrics::valMap)
                .max()
                .orElseThrow();
        int first = 0;
        while (epochs.get(first).valMap() < best) {
            first++;
        }
        assertEquals(first + 1, m.provenance().bestEpoch(), log.toString());
        // stopped early only after `patience` epochs without a better one
        if (epochs.size() < strong.epochs()) {
            assertEquals(m.provenance().bestEpoch() + strong.earlyStopPatience(), epochs.size(), log.toString());
            assertTrue(log.stream().anyMatch(l -> l.startsWith("stopping early")), log.toString());
        }
        assertEquals(best, m.retrieval().mapAll(), 1e-12, "calibrated with the kept weights");
        assertTrue(best >= 0.8, "three visual patterns are easy to retrieve: " + log);
    }

    @Test
    void classWeightsBalanceTheClasses() {
        List<Sample> train = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            train.add(new Sample("a" + i, Path.of("a" + i), i < 20 ? "a" : "b", null, null, "h" + i));
        }
        float[] w = Trainer.classWeights(train, List.of("a", "b"), true);
        // 20 and 10 images: weights 30/(2*20) and 30/(2*10), so each class weighs 15 in all
        assertEquals(0.75f, w[0], 1e-6);
        assertEquals(1.5f, w[1], 1e-6);
        assertArrayEquals(new float[] {1, 1}, Trainer.classWeights(train, List.of("a", "b"), false));
    }
}
