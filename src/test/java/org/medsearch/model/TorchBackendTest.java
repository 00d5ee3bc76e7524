package org.medsearch.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.medsearch.image.Preprocessing;
import org.medsearch.testutil.Npy;
import org.medsearch.testutil.Shared;
import org.medsearch.util.Hashing;
import org.medsearch.util.Json;

/**
 * {@link TorchBackend} keeps the {@link EmbeddingBackend} contract on the shared conformance fixture
 * (torchvision's ImageNet ResNet-18 as a 1000-class bundle): torchvision's features and logits
 * through the interface, batch independence, probabilities that sum to 1, and the argument checks.
 */
class TorchBackendTest {

    static final double CONFORMANCE = 1e-4;
    static final double DETERMINISM = 1e-5;

    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(ints = {64, 224})
    void keepsTheContractOnTheConformanceFixture(int size) throws Exception {
        Path fixture = Shared.require("conformance/resnet18");
        Npy input = Npy.read(fixture.resolve("input_" + size + ".npy"));
        float[] features =
                Npy.read(fixture.resolve("features_" + size + ".npy")).data();
        float[] logits = Npy.read(fixture.resolve("logits_" + size + ".npy")).data();
        int n = (int) input.shape()[0];
        float[] nhwc = toNhwc(input);
        try (EmbeddingBackend backend = TorchBackend.load(bundle(fixture.resolve("resnet18.safetensors"), size))) {
            assertEquals("torch", backend.name());
            assertEquals(1000, backend.classes().size());
            assertEquals(size, backend.preprocessing().imageSize());
            assertEquals(backend.manifest().fingerprint(), backend.fingerprint());

            List<Embedding> batch = backend.embed(nhwc, n);
            assertEquals(n, batch.size());
            float[] feats = new float[n * ResNet18.FEATURE_DIM];
            for (int i = 0; i < n; i++) {
                Embedding e = batch.get(i);
                assertEquals(ResNet18.FEATURE_DIM, e.vector().length);
                System.arraycopy(e.vector(), 0, feats, i * ResNet18.FEATURE_DIM, ResNet18.FEATURE_DIM);
                assertEquals(1000, e.probabilities().length);
                double sum = 0;
                for (float p : e.probabilities()) {
                    sum += p;
                }
                assertEquals(1.0, sum, DETERMINISM, "probabilities of image " + i);
                float[] expected = new float[1000];
                System.arraycopy(logits, i * 1000, expected, 0, 1000);
                assertClose(centred(expected), centred(logProbabilities(e)), CONFORMANCE, "logits of image " + i);
            }
            assertClose(features, feats, CONFORMANCE, "features_" + size);

            // a batch of n is n batches of 1, and a second call repeats the first
            int len = backend.preprocessing().inputLength();
            for (int i = 0; i < n; i++) {
                float[] one = new float[len];
                System.arraycopy(nhwc, i * len, one, 0, len);
                Embedding alone = backend.embed(one, 1).get(0);
                assertClose(batch.get(i).vector(), alone.vector(), DETERMINISM, "features of image " + i + " alone");
                assertClose(
                        batch.get(i).probabilities(),
                        alone.probabilities(),
                        DETERMINISM,
                        "probabilities of image " + i + " alone");
            }
            List<Embedding> again = backend.embed(nhwc, n);
            for (int i = 0; i < n; i++) {
                assertClose(batch.get(i).vector(), again.get(i).vector(), DETERMINISM, "features, second call");
            }

            assertEquals(List.of(), backend.embed(new float[0], 0));
            assertThrows(IllegalArgumentException.class, () -> backend.embed(new float[len + 1], 1));
            assertThrows(IllegalArgumentException.class, () -> backend.embed(new float[0], -1));
        }
    }

    /** A 1000-class bundle of torchvision's weights, its classes named "c0" .. "c999". */
    private Path bundle(Path weights, int size) throws Exception {
        Path dir = tmp.resolve("rn18-" + size);
        Files.createDirectories(dir);
        Files.copy(weights, dir.resolve(ModelBundle.WEIGHTS));
        String sha = Hashing.sha256Hex(dir.resolve(ModelBundle.WEIGHTS));
        List<String> classes = new ArrayList<>();
        for (int c = 0; c < 1000; c++) {
            classes.add("c" + c);
        }
        Preprocessing prep = Preprocessing.imagenet(size);
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

    /** The fixture's (N, C, H, W) input as the backend takes it: (N, H, W, C). */
    private static float[] toNhwc(Npy nchw) {
        int n = (int) nchw.shape()[0];
        int c = (int) nchw.shape()[1];
        int hw = (int) (nchw.shape()[2] * nchw.shape()[3]);
        float[] out = new float[nchw.data().length];
        for (int i = 0; i < n; i++) {
            for (int ch = 0; ch < c; ch++) {
                for (int p = 0; p < hw; p++) {
                    out[(i * hw + p) * c + ch] = nchw.data()[(i * c + ch) * hw + p];
                }
            }
        }
        return out;
    }

    /**
     * The logits up to a constant: log p_i = l_i - logsumexp(l). Every probability of this fixture is
     * a normal float, so its logarithm keeps the logit to about 1e-6.
     */
    private static float[] logProbabilities(Embedding e) {
        float[] p = e.probabilities();
        float[] out = new float[p.length];
        for (int i = 0; i < p.length; i++) {
            assertTrue(p[i] >= Float.MIN_NORMAL, "probability " + i + " underflows: " + p[i]);
            out[i] = (float) Math.log(p[i]);
        }
        return out;
    }

    /** The values minus their mean, so that logits and log-probabilities compare. */
    private static float[] centred(float[] v) {
        double mean = 0;
        for (float x : v) {
            mean += x;
        }
        mean /= v.length;
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = (float) (v[i] - mean);
        }
        return out;
    }

    private static void assertClose(float[] expected, float[] actual, double tolerance, String what) {
        assertEquals(expected.length, actual.length, what + " length");
        double worst = 0;
        for (int i = 0; i < expected.length; i++) {
            worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
        }
        assertTrue(worst <= tolerance, what + ": max abs difference " + worst + " > " + tolerance);
    }
}
