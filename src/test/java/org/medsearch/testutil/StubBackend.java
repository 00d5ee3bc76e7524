package org.medsearch.testutil;

import java.util.ArrayList;
import java.util.List;
import org.medsearch.image.Preprocessing;
import org.medsearch.model.Embedding;
import org.medsearch.model.EmbeddingBackend;
import org.medsearch.model.ModelManifest;

/**
 * An {@link EmbeddingBackend} without a network, for tests of what surrounds the model: its manifest
 * is built in memory (classes, an optional {@code auto} threshold), and an image's "embedding" is
 * the mean of each quarter of its pre-processed input (4 floats), with probabilities that favour
 * the class whose index matches the image's brightness rank. Deterministic.
 *
 * <pre>{@code
 * try (EmbeddingBackend b = StubBackend.of(List.of("a", "b"), 0.7)) { ... }
 * }</pre>
 */
public final class StubBackend implements EmbeddingBackend {

    /** The vector length. */
    public static final int DIM = 4;

    private final ModelManifest manifest;
    private final Preprocessing prep = Preprocessing.imagenet(32);

    private StubBackend(ModelManifest manifest) {
        this.manifest = manifest;
    }

    /**
     * A backend with these classes (empty: a bare backbone) and, unless NaN, this {@code auto}
     * threshold in its manifest; its fingerprint is {@code "stub-" + classes}.
     */
    public static StubBackend of(List<String> classes, double autoThreshold) {
        ModelManifest m = new ModelManifest(
                ModelManifest.FORMAT,
                ModelManifest.ARCHITECTURE,
                classes,
                ModelManifest.PreprocessingSpec.of(Preprocessing.imagenet(32), null),
                "weights.safetensors",
                "0",
                "stub-" + String.join("-", classes),
                null,
                null,
                null);
        if (!Double.isNaN(autoThreshold)) {
            m = m.withRetrieval(new ModelManifest.RetrievalCalibration(10, 30, autoThreshold, 0.8, 0.7, 0.85));
        }
        return new StubBackend(m);
    }

    @Override
    public String name() {
        return "stub";
    }

    @Override
    public ModelManifest manifest() {
        return manifest;
    }

    @Override
    public Preprocessing preprocessing() {
        return prep;
    }

    @Override
    public List<Embedding> embed(float[] nhwc, int n) {
        EmbeddingBackend.checkBatch(prep, nhwc, n);
        int len = prep.inputLength();
        List<Embedding> out = new ArrayList<>(n);
        int c = manifest.classes().size();
        for (int i = 0; i < n; i++) {
            float[] v = new float[DIM];
            int quarter = len / DIM;
            for (int j = 0; j < len; j++) {
                v[Math.min(DIM - 1, j / quarter)] += nhwc[i * len + j] / quarter;
            }
            float[] p = new float[c];
            if (c > 0) {
                double mean = (v[0] + v[1] + v[2] + v[3]) / DIM;
                double sum = 0;
                for (int k = 0; k < c; k++) {
                    p[k] = (float) Math.exp(-Math.abs(mean - k));
                    sum += p[k];
                }
                for (int k = 0; k < c; k++) {
                    p[k] /= (float) sum;
                }
            }
            out.add(new Embedding(v, p));
        }
        return out;
    }

    @Override
    public void close() {}
}
