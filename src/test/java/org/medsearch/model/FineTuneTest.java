package org.medsearch.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.medsearch.dataset.Dataset;
import org.medsearch.dataset.DatasetScanner;
import org.medsearch.dataset.Split;
import org.medsearch.dataset.SplitRatios;
import org.medsearch.image.ImageReaders;
import org.medsearch.testutil.TestImages;
import org.medsearch.util.Progress;

/** Fine-tuning strategies: frozen modules stay bit-identical, BatchNorm statistics included. */
class FineTuneTest {

    @TempDir
    static Path data;

    static Dataset ds;
    static Split split;
    static Map<String, Tensor> init;

    @BeforeAll
    static void setUp() throws Exception {
        TestImages.writeDataset(data, 3, 30, 64, 8);
        ds = new DatasetScanner(ImageReaders.standard()).scan(data);
        split = Split.stratified(ds, SplitRatios.DEFAULT, 1);
        try (var m = Engines.newManager();
                ResNet18 net = ResNet18.create(m, 3, 123)) {
            init = net.stateDict();
        }
    }

    static Map<String, Tensor> train(FineTune ft, double backboneFactor, Path out) throws Exception {
        TrainingRecipe r = new TrainingRecipe(64, 1, 0.01, 3, 0.1, 16, 0.9, 1e-4, 1, ft, backboneFactor, 0);
        ModelManifest m = new Trainer(ImageReaders.standard(), Progress.NONE, l -> {})
                .optWorkers(1)
                .train(ds, split, r, init, "test-init", out, false);
        assertEquals(ft, m.provenance().recipe().fineTune());
        return SafeTensors.read(out.resolve(ModelBundle.WEIGHTS));
    }

    static boolean same(Tensor a, Tensor b) {
        return a.dtype().equals(b.dtype()) && a.data().equals(b.data());
    }

    @Test
    void lastBlockFreezesEverythingBelowLayer4(@TempDir Path out) throws Exception {
        Map<String, Tensor> after = train(FineTune.LAST_BLOCK, 1, out);
        List<String> changed = new ArrayList<>();
        for (String name : init.keySet()) {
            boolean frozen = FineTune.LAST_BLOCK.frozen().contains(ResNet18.module(name));
            if (frozen) {
                assertTrue(same(init.get(name), after.get(name)), name + " must be bit-identical");
            } else if (!same(init.get(name), after.get(name))) {
                changed.add(name);
            }
        }
        assertTrue(changed.contains("layer4.1.conv2.weight") && changed.contains("fc.weight"), changed.toString());
        assertTrue(changed.contains("layer4.0.bn1.running_mean"), "layer4's BatchNorm statistics train");
    }

    @Test
    void headOnlyIsALinearProbe(@TempDir Path out) throws Exception {
        Map<String, Tensor> after = train(FineTune.HEAD, 1, out);
        for (String name : init.keySet()) {
            if (name.startsWith("fc.")) {
                assertNotEquals(init.get(name).data(), after.get(name).data(), name);
            } else {
                assertTrue(same(init.get(name), after.get(name)), name + " must be bit-identical");
            }
        }
    }

    @Test
    void discriminativeRatesMoveTheBackboneLess(@TempDir Path a, @TempDir Path b) throws Exception {
        Map<String, Tensor> fast = train(FineTune.FULL, 1, a);
        Map<String, Tensor> slow = train(FineTune.FULL, 0.01, b);
        double dFast = delta(init.get("layer2.0.conv1.weight"), fast.get("layer2.0.conv1.weight"));
        double dSlow = delta(init.get("layer2.0.conv1.weight"), slow.get("layer2.0.conv1.weight"));
        assertTrue(dSlow < dFast / 5, "backbone moved " + dSlow + " with factor 0.01 vs " + dFast);
    }

    static double delta(Tensor x, Tensor y) {
        float[] a = x.toFloatArray();
        float[] b = y.toFloatArray();
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += Math.abs(a[i] - b[i]);
        }
        return s;
    }

    @Test
    void warmupRampsTheLearningRate() {
        TrainingRecipe r = new TrainingRecipe(64, 6, 0.01, 3, 0.1, 16, 0.9, 0, 1, FineTune.FULL, 1, 2);
        assertEquals(0.01 * 0.25, r.learningRateAt(0, 0.5), 1e-12);
        assertEquals(0.01 * 0.75, r.learningRateAt(1, 0.5), 1e-12);
        assertEquals(0.01, r.learningRateAt(2, 0.5), 1e-12);
        assertEquals(0.001, r.learningRateAt(3, 0), 1e-12);
        assertEquals(FineTune.LAST_BLOCK, FineTune.parse("last-block"));
    }
}
