package org.medsearch.testutil;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.medsearch.image.Preprocessing;
import org.medsearch.model.ModelBundle;
import org.medsearch.model.ModelManifest;
import org.medsearch.model.ResNet18;
import org.medsearch.model.SafeTensors;
import org.medsearch.model.Tensor;
import org.medsearch.util.Hashing;
import org.medsearch.util.Json;

/**
 * Model bundles the tests write by hand, without training and without PyTorch: a seeded random
 * ResNet-18 state dict (torchvision's layout, with BatchNorm statistics that are not the identity, so
 * that folding them into the convolutions matters) and its manifest. No {@code split.csv}, no ONNX
 * graph: what the code under test adds is all that is in the bundle besides.
 *
 * <pre>{@code
 * Path model = Bundles.random(tmp.resolve("model"), List.of("a", "b", "c"), 32, 7);
 * }</pre>
 */
public final class Bundles {
    private Bundles() {}

    /** Writes a bundle of random weights for {@code classes} at {@code imageSize} into {@code dir}. */
    public static Path random(Path dir, List<String> classes, int imageSize, long seed) throws IOException {
        Files.createDirectories(dir);
        Path weights = dir.resolve(ModelBundle.WEIGHTS);
        SafeTensors.write(weights, stateDict(classes.size(), seed), Map.of());
        String sha = Hashing.sha256Hex(weights);
        Preprocessing prep = Preprocessing.imagenet(imageSize);
        Json.write(
                dir.resolve(ModelBundle.MANIFEST),
                new ModelManifest(
                        ModelManifest.FORMAT,
                        ModelManifest.ARCHITECTURE,
                        classes,
                        ModelManifest.PreprocessingSpec.of(prep, null),
                        ModelBundle.WEIGHTS,
                        sha,
                        ModelBundle.fingerprint(sha, prep, classes),
                        null,
                        null,
                        null));
        return dir;
    }

    /**
     * Replaces the bundle's weights by other random ones and records them in its manifest (hash and
     * fingerprint), leaving everything else, its graphs included, as it was.
     */
    public static void replaceWeights(Path dir, long seed) throws IOException {
        ModelManifest m = Json.read(dir.resolve(ModelBundle.MANIFEST), ModelManifest.class);
        Path weights = dir.resolve(m.weightsFile());
        SafeTensors.write(weights, stateDict(m.classes().size(), seed), Map.of());
        String sha = Hashing.sha256Hex(weights);
        Json.write(
                dir.resolve(ModelBundle.MANIFEST),
                new ModelManifest(
                        m.format(),
                        m.architecture(),
                        m.classes(),
                        m.preprocessing(),
                        m.weightsFile(),
                        sha,
                        ModelBundle.fingerprint(sha, m.preprocessing().toPreprocessing(), m.classes()),
                        m.provenance(),
                        m.retrieval(),
                        m.graphs()));
    }

    /**
     * A torchvision ResNet-18 state dict: convolutions and the head as torchvision initialises them
     * (He-normal, fan-out; uniform), BatchNorm scales in [0.5, 1], shifts and running means around 0,
     * running variances in [0.5, 2]. The features stay of order 1.
     */
    public static Map<String, Tensor> stateDict(int classes, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Map<String, Tensor> sd = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> e : ResNet18.layout(classes).entrySet()) {
            String name = e.getKey();
            long[] shape = e.getValue();
            if (name.endsWith("num_batches_tracked")) {
                sd.put(name, Tensor.ofLong(0));
                continue;
            }
            float[] v = new float[Math.toIntExact(Tensor.elementCount(shape))];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) value(name, shape, rnd);
            }
            sd.put(name, Tensor.ofFloats(shape, v));
        }
        return sd;
    }

    private static double value(String name, long[] shape, SplittableRandom rnd) {
        if (name.startsWith("fc.")) {
            return (rnd.nextDouble() * 2 - 1) / Math.sqrt(ResNet18.FEATURE_DIM);
        }
        if (shape.length == 4) {
            return gaussian(rnd) * Math.sqrt(2.0 / (shape[0] * shape[2] * shape[3]));
        }
        if (name.endsWith("running_var")) {
            return 0.5 + 1.5 * rnd.nextDouble();
        }
        if (name.endsWith(".weight")) {
            return 0.5 + 0.5 * rnd.nextDouble();
        }
        return 0.1 * gaussian(rnd); // bias, running_mean
    }

    private static double gaussian(SplittableRandom rnd) {
        // Box-Muller: SplittableRandom has no nextGaussian on Java 17
        double u = 1 - rnd.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd.nextDouble());
    }
}
